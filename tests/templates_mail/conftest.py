import pytest

from templates_mail.rendering import clear_cache


@pytest.fixture(autouse=True)
def fresh_render_cache():
    """Compiled campaigns are cached per process; each test starts from nothing."""
    clear_cache()
    yield
    clear_cache()

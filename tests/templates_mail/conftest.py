import pytest

from templates_mail.rendering import clear_cache


@pytest.fixture(autouse=True)
def fresh_render_cache(settings):
    """Compiled campaigns are cached per process and shared through Redis; each test starts from
    nothing, and only the test of the shared cache uses it."""
    settings.RENDER_CACHE_SECONDS = 0
    clear_cache()
    yield
    clear_cache()

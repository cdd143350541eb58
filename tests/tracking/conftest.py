import pytest

from config.redis import request_client
from tracking import buffer, services


@pytest.fixture(autouse=True)
def _fresh_tracking_state():
    """Each test starts with an empty event buffer, no drain failures and no cached links (ids repeat across
    rolled-back tests on SQLite)."""
    services.clear_link_cache()
    request_client().delete(buffer.STREAM, buffer.DRAIN_STATUS)
    yield
    services.clear_link_cache()

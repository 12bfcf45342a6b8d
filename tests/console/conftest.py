import httpx
import pytest

from app.settings import Settings
from tests.conftest import Serve


@pytest.fixture
async def api(serve: Serve, fast: Settings) -> httpx.AsyncClient:
    """The API with workers on the fast schedule, and an inbound handler that always raises
    (``explode``), so dead letters of both kinds happen within a test."""
    handlers = {"explode": "tests.inbound.handlers:explode"}
    client: httpx.AsyncClient = await serve(fast.model_copy(update={"inbound_handlers": handlers}))
    return client

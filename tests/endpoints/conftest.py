"""The API as production runs it, with no network allow-listed, for the SSRF rules."""

import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest

from app.endpoints.ssrf import IPAddress, resolve
from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process

#: A name that resolves to a private address. No public DNS is reachable here, so this one name
#: is answered by a fixed table; every other name goes to the system resolver.
INTERNAL_NAME = "billing.internal.example"


async def _resolver(host: str) -> list[IPAddress]:
    if host == INTERNAL_NAME:
        return [ipaddress.ip_address("10.1.2.3")]
    return await resolve(host)


@pytest.fixture
async def strict_client(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no network allow-listed, on an external database: the production default
    (on the embedded one, with the API on loopback, loopback targets are allowed for `hookline
    listen`: tests/developer/test_local_listen.py)."""
    update = {"allowed_target_networks": [], "database_url": database_url}
    strict = settings.model_copy(update=update)
    app = create_app(strict, database_url=database_url, resolver=_resolver)
    async with serve_in_process(app) as client:
        yield client

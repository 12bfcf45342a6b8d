"""Hookline served over real HTTP on loopback, with its workers, for the developer commands;
a tenant's API key; and the commands run as a developer runs them."""

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from app.main import create_app
from app.settings import Settings
from hookline.client import AsyncHookline
from tests.client.conftest import tenant_key
from tests.loopback import serve_on_loopback


@dataclass(frozen=True)
class Live:
    url: str
    api_key: str
    client: AsyncHookline

    @property
    def env(self) -> dict[str, str]:
        return {"HOOKLINE_URL": self.url, "HOOKLINE_API_KEY": self.api_key}


@pytest.fixture
async def live(fast: Settings, database_url: str) -> AsyncIterator[Live]:
    """The server as a laptop runs it: loopback targets allowed by ``local_listen`` alone."""
    settings = fast.model_copy(update={"allowed_target_networks": [], "local_listen": True})
    app = create_app(settings, database_url=database_url, run_workers=True)
    async with serve_on_loopback(app) as url, httpx.AsyncClient(base_url=url) as admin:
        key = await tenant_key(admin)
        async with AsyncHookline(url, api_key=key) as client:
            yield Live(url, key, client)


async def hookline(*args: str, env: Mapping[str, str], stdin: bytes | None = None) -> Result:
    """``hookline ARGS`` in a thread (the server it talks to runs in this event loop), with
    only ``env``'s HOOKLINE_ variables and no profile file."""
    clean = {name: None for name in os.environ if name.startswith("HOOKLINE_")}
    environment = {**clean, "HOOKLINE_CONFIG": "/nonexistent/hookline.toml", **env}
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, cli, list(args), env=environment, input=stdin, catch_exceptions=False
    )

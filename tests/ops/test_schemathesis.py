"""Schemathesis against the running API: no 5xx, and every response as the OpenAPI says.

The app runs in this process (uvicorn on a loopback port, on the test's own database); the
``schemathesis`` CLI, bounded by a fixed seed and a few examples per operation, fuzzes every
operation with a tenant's API key, and the admin routes with the admin token. Any failed check
(a 500, an undocumented status, a body or content type that contradicts the schema, a wrong
``Allow`` header) fails the test with schemathesis's report.
"""

import asyncio
import shutil
import sys
from pathlib import Path

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.factories import make_tenant
from tests.loopback import serve_on_loopback

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "allow_header_conformance",
)
PHASES = "examples,coverage,fuzzing,stateful"
MAX_EXAMPLES = 10
SEED = 20240501


def _config(tenant_key: str) -> str:
    return f"""
seed = {SEED}
workers = 1
headers = {{ Authorization = "{tenant_key}" }}

[generation]
deterministic = true
max-examples = {MAX_EXAMPLES}

[[operations]]
include-tag = "admin"
headers = {{ Authorization = "Bearer {ADMIN_TOKEN}" }}
"""


async def test_the_api_keeps_its_openapi_promises(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    async with serve_on_loopback(create_app(settings, database_url=database_url)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            tenant = await make_tenant(client)
        config = tmp_path / "schemathesis.toml"
        config.write_text(_config(tenant["Authorization"]))
        cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
        assert cli is not None, "schemathesis is in the dev extra"
        run = await asyncio.create_subprocess_exec(
            cli,
            "--config-file",
            str(config),
            "run",
            f"{base_url}/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            PHASES,
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        output, _ = await run.communicate()

    assert run.returncode == 0, output.decode()

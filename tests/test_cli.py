"""The command line as an operator meets it: real processes, real ports, the embedded database."""

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.main import _shut_down_if_crashed, create_app, exit_status
from app.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(extra)
    return env


async def _hookline(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@asynccontextmanager
async def _killed_at_exit(process: asyncio.subprocess.Process) -> AsyncIterator[None]:
    """Whatever happens in the block, the process does not outlive the test."""
    try:
        yield
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _terminate(process: asyncio.subprocess.Process) -> bytes:
    """SIGTERM, then the process's stderr once it has exited (within a minute)."""
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    return stderr


async def _wait_for_health(url: str, process: asyncio.subprocess.Process) -> httpx.Response:
    async with httpx.AsyncClient() as client, asyncio.timeout(90):
        while True:
            assert process.returncode is None, "hookline serve exited before answering"
            try:
                return await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.1)


async def test_serve_starts_on_an_empty_data_folder_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "data"
    process = await _hookline(
        "serve", env=_environment(HOOKLINE_DATA_DIR=str(data_dir), HOOKLINE_PORT=str(port))
    )
    async with _killed_at_exit(process):
        health = await _wait_for_health(f"http://127.0.0.1:{port}/healthz", process)
        admin_token = (data_dir / "admin_token").read_text().strip()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ready = await client.get("/readyz")
            signed_in = await client.post("/console/login", data={"admin_token": admin_token})
            console = await client.get("/console")
        stderr = await _terminate(process)

    assert health.status_code == 200
    assert ready.status_code == 200
    # What a newcomer reads on the terminal is enough to reach the console and sign in.
    assert f"console at http://127.0.0.1:{port}/console" in stderr.decode()
    assert admin_token in stderr.decode()
    assert signed_in.status_code == 303
    assert console.status_code == 200
    assert process.returncode == 0, stderr.decode()
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()  # the server was stopped


@pytest.mark.parametrize(
    ("command", "url", "message"),
    [
        ("migrate", "postgresql://postgres@127.0.0.1:1/hookline", "cannot reach the database"),
        ("worker", "postgresql://postgres@127.0.0.1:1/hookline", "cannot reach the database"),
        ("api", "mysql://root@127.0.0.1/hookline", "HOOKLINE_DATABASE_URL"),
    ],
)
async def test_a_bad_database_is_one_clear_line(command: str, url: str, message: str) -> None:
    process = await _hookline(command, env=_environment(HOOKLINE_DATABASE_URL=url))
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()

    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1
    assert lines[0].startswith("hookline: ")
    assert message in lines[0]


async def test_a_crashed_worker_runtime_stops_serve_with_a_failing_status(
    settings: Settings, server_url: str
) -> None:
    """`serve` must not exit 0 when it stops because its workers died: restart policies such as
    `on-failure` would leave the process down."""
    app = create_app(settings, database_url=server_url)

    async def crash() -> None:
        raise RuntimeError("a component failed")

    crashed = asyncio.create_task(crash())
    await asyncio.gather(crashed, return_exceptions=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    try:
        assert exit_status(app) == 0
        _shut_down_if_crashed(app, crashed)
        async with asyncio.timeout(10):
            await stopping.wait()  # the process asked itself to stop, as uvicorn then does
    finally:
        loop.remove_signal_handler(signal.SIGTERM)

    assert exit_status(app) == 1


async def test_a_non_positive_duration_is_one_clear_line(tmp_path: Path) -> None:
    environment = _environment(HOOKLINE_METRICS_SAMPLE_SECONDS="0", HOOKLINE_DATA_DIR=str(tmp_path))
    process = await _hookline("migrate", env=environment)
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()

    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert lines == [
        "hookline: invalid configuration: HOOKLINE_METRICS_SAMPLE_SECONDS: "
        "Value error, must be a positive number of seconds"
    ]


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid``."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(child) for child in (task / "children").read_text().split()}
    return children


def _is_api_process(pid: int) -> bool:
    """uvicorn starts its processes with multiprocessing's spawn (beside them runs its resource
    tracker, which serves nothing)."""
    return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_api_with_two_processes_publishes_and_stops_cleanly(database_url: str) -> None:
    """`hookline api --workers 2`: the command resolves the database and the secrets, its
    processes get them, serve the port, and all stop on SIGTERM."""
    port = _free_port()
    env = _environment(
        HOOKLINE_DATABASE_URL=database_url,
        HOOKLINE_PORT=str(port),
        HOOKLINE_ADMIN_TOKEN="cli-admin-token",
        HOOKLINE_SECRET_KEY="cli-secret-key",
    )
    process = await _hookline("api", "--workers", "2", env=env)
    async with _killed_at_exit(process):
        base = f"http://127.0.0.1:{port}"
        health = await _wait_for_health(f"{base}/healthz", process)
        async with httpx.AsyncClient(base_url=base) as client:
            admin = {"Authorization": "Bearer cli-admin-token"}
            tenant = (await client.post("/v1/tenants", json={"name": "t"}, headers=admin)).json()
            key = (
                await client.post("/v1/api-keys", json={"tenant_id": tenant["id"]}, headers=admin)
            ).json()["key"]
            published = await client.post(
                "/v1/events",
                json={"type": "order.created", "data": {}},
                headers={"Authorization": f"Bearer {key}"},
            )
        children = _children(process.pid)
        api_processes = [child for child in children if _is_api_process(child)]
        stderr = await _terminate(process)

    assert health.status_code == 200
    assert published.status_code == 201
    assert len(api_processes) == 2
    assert process.returncode == 0, stderr.decode()
    assert not any(_is_running(child) for child in api_processes)  # joined before the exit

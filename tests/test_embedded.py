"""The embedded PostgreSQL: one server per data folder, reused across starts and processes."""

import asyncio
import sys
from pathlib import Path

import asyncpg

from app.db import asyncpg_dsn
from app.embedded import start_embedded


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


async def test_a_second_process_attaches_instead_of_starting_another(tmp_path: Path) -> None:
    url = start_embedded(tmp_path)
    pid = _postmaster_pid(tmp_path)

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from pathlib import Path; from app.embedded import start_embedded; "
        "print(start_embedded(Path(sys.argv[1])))",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        stdout, _ = await child.communicate()

    assert child.returncode == 0
    assert stdout.decode().strip() == url
    assert _postmaster_pid(tmp_path) == pid  # same server, not a second one
    connection = await asyncpg.connect(asyncpg_dsn(url))  # and the child left it running
    try:
        assert await connection.fetchval("SELECT current_database()") == "hookline"
    finally:
        await connection.close()

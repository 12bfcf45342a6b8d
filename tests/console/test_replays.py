"""The console's list of every tenant's replays, for operators only."""

import httpx

from tests.factories import make_tenant
from tests.replays.helpers import start_replay
from tests.web.helpers import sign_in_console


async def test_operators_see_every_tenants_replays_newest_first(client: httpx.AsyncClient) -> None:
    acme, globex = await make_tenant(client, "acme"), await make_tenant(client, "globex")
    await start_replay(client, acme)
    await start_replay(client, globex)

    assert (await client.get("/console/replays")).status_code in (303, 401)
    await sign_in_console(client)
    listed = await client.get("/console/replays")
    assert listed.status_code == 200
    assert listed.text.index("globex") < listed.text.index("acme")
    assert "badge-pending" in listed.text

    older = await client.get("/console/replays", params={"limit": 1})
    assert "globex" in older.text
    assert "acme" not in older.text
    assert 'href="?cursor=' in older.text

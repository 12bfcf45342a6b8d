"""A live endpoint directory sees every change after one refresh: creations, updates, pauses,
secret rotations, deletions (also through the tenant), and changes committed late."""

import re
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.delivery import health
from app.delivery.directory import EndpointConfig, EndpointDirectory, SealedSecret
from app.delivery.fanout import fan_out
from app.delivery.queue import DELIVERIES
from app.events.outbox import EVENTS
from app.queue.handoff import Handoff
from tests.delivery.endpoint_configs import endpoint_config
from tests.factories import make_endpoint, make_tenant, publish

KEY = "test-secret-key"


class CountingBox(SecretBox):
    """The real cipher, counting how often it decrypts."""

    opened = 0

    def open(self, sealed: bytes, *, bound_to: bytes) -> str:
        self.opened += 1
        return super().open(sealed, bound_to=bound_to)


@pytest.fixture
async def directory(engine: AsyncEngine) -> EndpointDirectory:
    """A directory already loaded; it refreshes only when a test says so."""
    directory = EndpointDirectory(engine, CountingBox(KEY), refresh=timedelta(hours=1))
    await directory.refresh()
    return directory


def _get(directory: EndpointDirectory, endpoint: dict[str, str]) -> EndpointConfig | None:
    return directory.get(uuid.UUID(endpoint["id"]))


def _found(directory: EndpointDirectory, endpoint: dict[str, str]) -> EndpointConfig:
    config = _get(directory, endpoint)
    assert config is not None
    return config


async def test_creations_updates_pauses_and_deletions_show_after_one_refresh(
    client: httpx.AsyncClient, directory: EndpointDirectory
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, event_types=["order.*"])
    assert _get(directory, endpoint) is None
    await directory.refresh()
    created = _found(directory, endpoint)
    assert created.status == "active"
    assert created.event_types == ("order.*",)

    path = f"/v1/endpoints/{endpoint['id']}"
    await client.patch(path, json={"url": "http://127.0.0.1:9/moved"}, headers=tenant)
    await directory.refresh()
    moved = _found(directory, endpoint)
    assert moved.url == "http://127.0.0.1:9/moved"

    await client.patch(path, json={"status": "paused", "event_types": ["a.b"]}, headers=tenant)
    await directory.refresh()
    paused = _found(directory, endpoint)
    assert paused.status == "paused"
    assert [c.id for c in directory.subscribers(created.tenant_id, "a.b")] == [created.id]
    assert directory.subscribers(created.tenant_id, "order.paid") == []

    assert (await client.delete(path, headers=tenant)).status_code == 204
    await directory.refresh()
    assert _get(directory, endpoint) is None
    assert directory.subscribers(created.tenant_id, "a.b") == []


@pytest.mark.parametrize(
    ("change", "url_after"),
    [
        ("UPDATE endpoints SET url = 'http://127.0.0.1:9/late' WHERE id = :id", "/late"),
        ("DELETE FROM endpoints WHERE id = :id", None),
    ],
)
async def test_a_change_committed_late_is_not_missed(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    directory: EndpointDirectory,
    change: str,
    url_after: str | None,
) -> None:
    tenant = await make_tenant(client)
    slow = await make_endpoint(client, tenant)
    fast = await make_endpoint(client, tenant)
    await directory.refresh()

    # The slow transaction changes its endpoint first, the fast one commits first; a refresh
    # runs between the two commits and sees only the fast one.
    async with engine.connect() as conn:
        late = await conn.begin()
        await conn.execute(text(change), {"id": slow["id"]})
        await client.patch(
            f"/v1/endpoints/{fast['id']}", json={"url": "http://127.0.0.1:9/fast"}, headers=tenant
        )
        await directory.refresh()
        assert _found(directory, fast).url.endswith("/fast")
        assert _found(directory, slow).url == slow["url"]
        await late.commit()

    await directory.refresh()
    caught = _get(directory, slow)
    assert (caught and caught.url.removeprefix("http://127.0.0.1:9")) == url_after


async def test_a_rotated_secret_shows_after_one_refresh(
    client: httpx.AsyncClient, directory: EndpointDirectory
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    await directory.refresh()
    before = _found(directory, endpoint)
    [original] = before.secrets

    rotated = await client.post(f"/v1/endpoints/{endpoint['id']}/secret/rotate", headers=tenant)
    await directory.refresh()

    after = _found(directory, endpoint)
    assert after.secrets == (rotated.json()["key"], original)


async def test_endpoints_deleted_with_their_tenant_go_after_one_refresh(
    client: httpx.AsyncClient, engine: AsyncEngine, directory: EndpointDirectory
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    await directory.refresh()
    config = _found(directory, endpoint)

    async with engine.begin() as conn:  # the foreign key cascades to the endpoints
        await conn.execute(text("DELETE FROM tenants WHERE id = :id"), {"id": config.tenant_id})
    await directory.refresh()

    assert _get(directory, endpoint) is None


async def test_secrets_are_decrypted_on_first_use_once_per_version(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, headers={"Authorization": "Bearer t"})
    other = await make_endpoint(client, tenant)
    box = CountingBox(KEY)
    directory = EndpointDirectory(engine, box, refresh=timedelta(hours=1))

    await directory.refresh()
    assert box.opened == 0
    config = _found(directory, endpoint)
    assert config.headers == {"Authorization": "Bearer t"}
    assert len(config.secrets) == len(config.secrets) == 1
    assert box.opened == 2  # the header and the secret, once each

    await client.patch(f"/v1/endpoints/{other['id']}", json={"ordered": True}, headers=tenant)
    await directory.refresh()
    await directory.reload()
    assert _get(directory, endpoint) is config  # unchanged: its decrypted version is kept
    assert box.opened == 2


async def test_health_bookkeeping_does_not_count_as_a_change(
    client: httpx.AsyncClient, engine: AsyncEngine, directory: EndpointDirectory
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    await directory.refresh()
    endpoint_id = uuid.UUID(endpoint["id"])
    before = _get(directory, endpoint)

    marks = health.SuccessMarks()
    async with engine.begin() as conn:
        await health.record_results(conn, marks, succeeded=[], failed=[endpoint_id])
        await health.record_results(conn, marks, succeeded=[endpoint_id], failed=[])
    await directory.refresh()

    assert _get(directory, endpoint) is before


async def test_key_sets_follow_changes_without_being_rebuilt(
    client: httpx.AsyncClient, directory: EndpointDirectory
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    await directory.refresh()

    def held_back(config: EndpointConfig) -> bool:
        return config.status != "active"

    keys = directory.keys_where(held_back)
    assert keys == set()
    await client.patch(f"/v1/endpoints/{endpoint['id']}", json={"status": "paused"}, headers=tenant)
    await directory.refresh()
    assert directory.keys_where(held_back) is keys
    assert keys == {endpoint["id"]}

    await directory.reload()
    keys = directory.keys_where(held_back)
    assert keys == {endpoint["id"]}
    await client.patch(f"/v1/endpoints/{endpoint['id']}", json={"status": "active"}, headers=tenant)
    await directory.refresh()
    assert directory.keys_where(held_back) is keys
    assert keys == set()


async def test_fan_out_reaches_an_endpoint_created_after_the_directory_loaded(
    client: httpx.AsyncClient, engine: AsyncEngine, directory: EndpointDirectory
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    event = await publish(client, tenant)

    async with engine.begin() as conn:
        [job] = await EVENTS.claim(conn, worker=uuid.uuid4(), limit=1, lease=timedelta(60))
    async with engine.begin() as conn:
        await fan_out(conn, directory, [job.row], handoff=Handoff(DELIVERIES))
        rows = (await conn.execute(text("SELECT event_id, endpoint_id FROM deliveries"))).all()

    assert [(str(e), str(p)) for e, p in rows] == [(event["id"], endpoint["id"])]


@pytest.mark.parametrize("count", [4, 5])
async def test_a_full_load_in_chunks_loads_every_endpoint(
    client: httpx.AsyncClient, engine: AsyncEngine, count: int
) -> None:
    tenant = await make_tenant(client)
    endpoints = [await make_endpoint(client, tenant) for _ in range(count)]
    directory = EndpointDirectory(engine, SecretBox(KEY), refresh=timedelta(hours=1), chunk=2)

    await directory.refresh()

    assert {str(c.id) for c in directory.configs()} == {e["id"] for e in endpoints}


async def test_every_endpoint_column_workers_read_moves_config_xid(engine: AsyncEngine) -> None:
    """A column the directory reads but the trigger does not watch would change without workers
    noticing: they would keep sending with the old value until restarted."""
    from app.delivery import directory as module

    read = set(re.findall(r"\be\.(\w+)", module._ENDPOINTS)) - {"id", "config_xid"}
    async with engine.connect() as conn:
        watched = set(
            await conn.scalars(
                text(
                    """
                    SELECT a.attname FROM pg_trigger AS t
                    JOIN pg_attribute AS a
                      ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr::int2[])
                    WHERE t.tgname = 'endpoints_config_changed'
                    """
                )
            )
        )

    assert read - watched == set()


def test_a_rotated_out_secret_stops_signing_at_its_expiry_while_the_version_is_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between rotations the secrets are one kept tuple; during one, the clock decides."""
    box = CountingBox(KEY)

    def config(*expiries: float | None) -> EndpointConfig:
        sealed = []
        for n, expires_at in enumerate(expiries):
            secret_id = uuid.uuid4()
            ciphertext = box.seal(f"whsec_{n}", bound_to=secret_id.bytes)
            sealed.append(SealedSecret(id=secret_id, ciphertext=ciphertext, expires_at=expires_at))
        return endpoint_config(box, sealed_secrets=tuple(sealed))

    lasting = config(None)
    assert lasting.secrets == ("whsec_0",)
    assert lasting.secrets is lasting.secrets

    now = time.time()
    rotating = config(None, now + 60)  # the previous secret signs for another minute
    assert rotating.secrets == ("whsec_0", "whsec_1")
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert rotating.secrets == ("whsec_0",)

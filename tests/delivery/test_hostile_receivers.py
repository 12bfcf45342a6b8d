"""Receivers that answer with bytes no well-behaved server would send.

Whatever a receiver does, its delivery reaches a final state with every attempt recorded in a
form PostgreSQL stores, and another endpoint's deliveries keep arriving meanwhile: one hostile
receiver must not stall a worker or slip past the attempt history.
"""

import gzip
from typing import Any

import httpx

from app.queue.text import ERROR_BYTES
from app.settings import Settings
from tests.delivery.helpers import attempts_of, wait_for_status
from tests.delivery.receiver import Behaviour, Raw, Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish

#: Deliveries published to the healthy endpoint while the hostile one misbehaves.
HEALTHY = 5
OK = Reply()


def _head(status_line: bytes, *headers: bytes) -> bytes:
    """A raw response head; the connection closes after it, so nothing is reused."""
    return b"\r\n".join((status_line, *headers, b"Connection: close", b"", b""))


def _assert_storable(attempt: dict[str, Any], body_limit: int) -> None:
    for field in ("response_body", "error"):
        value = attempt[field] or ""
        assert "\x00" not in value
        value.encode()  # no lone surrogate: PostgreSQL took it, and it must read back as UTF-8
    assert len((attempt["response_body"] or "").encode()) <= body_limit
    assert len((attempt["error"] or "").encode()) <= ERROR_BYTES


async def _publish_healthy(
    api: httpx.AsyncClient, tenant: dict[str, str], receiver: Receiver
) -> None:
    """Publish to the healthy endpoint and wait for every delivery to arrive."""
    arrived = len(receiver.at("/healthy"))
    for n in range(HEALTHY):
        await publish(api, tenant, "healthy", n=n)
    await receiver.wait_for(arrived + HEALTHY, "/healthy")


async def _beside_a_healthy_endpoint(
    api: httpx.AsyncClient,
    settings: Settings,
    receiver: Receiver,
    final: str,
    *behaviours: Behaviour,
    then: Behaviour = OK,
) -> list[dict[str, Any]]:
    """One delivery to a receiver behaving so while a healthy endpoint keeps receiving.

    Returns the hostile delivery's attempts (oldest first) once it is ``final``, each checked
    storable and none missing. Healthy deliveries are published while the hostile one is being
    tried and again once it is settled: neither its attempts nor their recording may hold up
    anyone else.
    """
    tenant = await make_tenant(api)
    hostile = receiver.script("/hostile", *behaviours, then=then)
    await make_endpoint(api, tenant, url=hostile, event_types=["hostile"])
    await make_endpoint(api, tenant, url=receiver.script("/healthy"), event_types=["healthy"])

    event = await publish(api, tenant, "hostile")
    await receiver.wait_for(1, "/hostile")
    await _publish_healthy(api, tenant, receiver)
    delivery = await wait_for_status(api, tenant, event["id"], final)
    await _publish_healthy(api, tenant, receiver)

    attempts = await attempts_of(api, tenant, delivery["id"])
    assert [a["attempt"] for a in attempts] == list(range(1, delivery["attempts"] + 1))
    assert len(receiver.at("/hostile")) == delivery["attempts"]
    for attempt in attempts:
        _assert_storable(attempt, settings.response_body_bytes)
    return attempts


async def test_a_nul_in_a_200_body_is_stored_replaced(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    [attempt] = await _beside_a_healthy_endpoint(
        api, fast, receiver, "succeeded", then=Reply(200, body=b"ok\x00")
    )

    assert attempt["status_code"] == 200
    assert attempt["response_body"] == "ok\ufffd"


async def test_a_gzip_bomb_is_kept_compressed_and_cut_at_the_cap(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    bomb = gzip.compress(bytes(10 * 1024 * 1024))  # 10 MiB of NULs, about 10 KiB on the wire
    [attempt] = await _beside_a_healthy_endpoint(
        api,
        fast,
        receiver,
        "succeeded",
        then=Reply(200, headers={"Content-Encoding": "gzip"}, body=bomb),
    )

    body = attempt["response_body"]
    assert body.startswith("\x1f\ufffd\x08")  # the gzip magic as sent: nothing was inflated
    lenient = bomb.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    assert lenient.startswith(body[:-1])  # the bytes as sent, up to the cap (checked above)
    assert receiver.at("/hostile")[0].headers["Accept-Encoding"] == "identity"


async def test_a_20_digit_retry_after_on_503_is_clamped_until_dead(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    attempts = await _beside_a_healthy_endpoint(
        api, fast, receiver, "failed", then=Reply(503, headers={"Retry-After": "9" * 20})
    )

    assert len(attempts) == len(fast.retry_schedule) + 1
    assert {a["status_code"] for a in attempts} == {503}


async def test_a_5000_digit_retry_after_on_429_is_clamped_until_dead(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    attempts = await _beside_a_healthy_endpoint(
        api, fast, receiver, "failed", then=Reply(429, headers={"Retry-After": "9" * 5000})
    )

    assert len(attempts) == len(fast.retry_schedule) + 1
    assert {a["status_code"] for a in attempts} == {429}


async def test_a_retry_after_of_invalid_utf8_is_ignored(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    busy = Raw(_head(b"HTTP/1.1 503 Busy", b"Retry-After: \xff\xb2", b"Content-Length: 0"))
    [first, second] = await _beside_a_healthy_endpoint(api, fast, receiver, "succeeded", busy)

    assert first["status_code"] == 503
    assert second["outcome"] == "succeeded"


async def test_a_body_dripping_past_the_timeout_is_a_timeout(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    drip = Raw(_head(b"HTTP/1.1 200 OK", b"Content-Length: 10000"), b"x" * 10_000, drip=0.05)
    [first, second] = await _beside_a_healthy_endpoint(api, fast, receiver, "succeeded", drip)

    assert first["error_class"] == "timeout"
    assert second["outcome"] == "succeeded"


async def test_a_binary_body_is_stored_as_replaced_text(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    binary = bytes(range(256)) * 64  # every byte value, 16 KiB
    [first, _] = await _beside_a_healthy_endpoint(
        api, fast, receiver, "succeeded", Reply(500, body=binary)
    )

    assert first["error_class"] == "http_status"
    assert first["response_body"].startswith("\ufffd\x01\x02")
    assert "\ufffd" * 128 in first["response_body"]  # 0x80-0xff are not UTF-8 on their own


async def test_a_1_mb_header_is_a_protocol_error(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    huge = Reply(200, headers={"X-Huge": "a" * 1024 * 1024})
    [first, _] = await _beside_a_healthy_endpoint(api, fast, receiver, "succeeded", huge)

    assert first["error_class"] == "protocol"
    assert first["status_code"] is None


async def test_a_long_location_is_cut_in_the_error(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    far = Reply(302, headers={"Location": "http://elsewhere/" + "a" * 8000})
    [first, _] = await _beside_a_healthy_endpoint(api, fast, receiver, "succeeded", far)

    assert first["error_class"] == "redirect"
    assert first["error"].startswith("HTTP 302: redirects are not followed (Location: http://")
    assert len(first["error"].encode()) == ERROR_BYTES


async def test_a_location_of_invalid_utf8_is_stored_replaced(
    api: httpx.AsyncClient, fast: Settings, receiver: Receiver
) -> None:
    odd = Raw(_head(b"HTTP/1.1 302 Found", b"Location: /\xff\xfe", b"Content-Length: 0"))
    [first, _] = await _beside_a_healthy_endpoint(api, fast, receiver, "succeeded", odd)

    assert first["error_class"] == "redirect"
    assert first["error"].endswith("(Location: /\ufffd\ufffd)")

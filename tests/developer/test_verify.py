"""``hookline verify`` on captured requests: valid ones pass, each broken one says why."""

import time

import pytest

from app.delivery.signing import sign
from app.endpoints.ed25519_key import new_private_key, public_key_of
from app.endpoints.signing_secret import new_signing_secret
from tests.developer.conftest import hookline

BODY = b'{"type":"order.created","data":{"id":7}}'


def _captured(
    secrets: list[str],
    *,
    body: bytes = BODY,
    line_end: bytes = b"\r\n",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A request as a receiver got it, signed over :data:`BODY` (``body`` is what arrived)."""
    timestamp = int(time.time())
    fields = {
        "Host": "localhost:3000",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "webhook-id": "msg_2a",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign("msg_2a", timestamp, BODY, secrets),
        **(headers or {}),
    }
    head = [b"POST /webhooks HTTP/1.1"] + [f"{k}: {v}".encode() for k, v in fields.items() if v]
    return line_end.join(head) + line_end * 2 + body


async def test_a_valid_request_passes_with_either_kind_of_key() -> None:
    secret, private = new_signing_secret(), new_private_key()
    request = _captured([secret, private])

    by_secret = await hookline("verify", "--secret", secret, env={}, stdin=request)
    by_public_key = await hookline(
        "verify", "--secret", public_key_of(private), env={}, stdin=request
    )
    pasted = await hookline(  # LF line ends and the newline an editor adds at the end
        "verify", "--secret", secret, env={}, stdin=_captured([secret], line_end=b"\n") + b"\n"
    )

    for result in (by_secret, by_public_key, pasted):
        assert result.exit_code == 0, result.output
        assert result.stdout == f"signature valid: msg_2a ({len(BODY)} bytes)\n"


@pytest.mark.parametrize(
    ("headers", "body", "key", "reason"),
    [
        ({}, BODY.replace(b"7", b"8"), None, "no v1 signature matches"),
        ({"webhook-signature": ""}, BODY, None, "the webhook-signature header is missing"),
        ({"webhook-timestamp": "soon"}, BODY, None, "webhook-timestamp 'soon' is not a number"),
        ({"webhook-timestamp": "1000000000"}, BODY, None, "the signature is stale: signed"),
        ({}, BODY, "sk_test_1", "the secret must start with whsec_ (HMAC) or whpk_"),
        ({}, BODY, new_signing_secret(), "no v1 signature matches: a different secret"),
    ],
)
async def test_each_failure_is_named(
    headers: dict[str, str], body: bytes, key: str | None, reason: str
) -> None:
    secret = new_signing_secret()
    request = _captured([secret], body=body, headers=headers)

    result = await hookline("verify", "--secret", key or secret, env={}, stdin=request)

    assert result.exit_code == 1
    assert result.stderr.startswith("hookline: signature invalid: ")
    assert reason in result.stderr


async def test_input_that_is_not_a_request_is_refused() -> None:
    result = await hookline("verify", "--secret", new_signing_secret(), env={}, stdin=b"hello")
    assert result.exit_code == 2
    assert result.stderr == "hookline: cannot read the request: no blank line ends the headers\n"

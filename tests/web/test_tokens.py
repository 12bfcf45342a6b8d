"""Signed tokens: what they carry cannot be changed, reused for another purpose, or outlive
their time."""

import base64
import json
import time

import pytest

from app.web.tokens import MAX_TOKEN_CHARS, InvalidToken, TokenSigner

SIGNER = TokenSigner("a secret key")


def _edit_claims(token: str, **changes: object) -> str:
    body, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    edited = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).decode()
    return f"{edited.rstrip('=')}.{mac}"


def test_a_token_carries_its_claims_until_it_expires() -> None:
    token = SIGNER.sign("portal", {"t": "tenant-a"}, expires_at=time.time() + 60)
    assert SIGNER.verify("portal", token)["t"] == "tenant-a"


def test_an_edited_claim_does_not_verify() -> None:
    token = SIGNER.sign("portal", {"t": "tenant-a"}, expires_at=time.time() + 60)
    with pytest.raises(InvalidToken) as refused:
        SIGNER.verify("portal", _edit_claims(token, t="tenant-b"))
    assert not refused.value.expired


def test_a_later_expiry_written_into_the_token_does_not_verify() -> None:
    token = SIGNER.sign("portal", {"t": "a"}, expires_at=time.time() - 1)
    with pytest.raises(InvalidToken):
        SIGNER.verify("portal", _edit_claims(token, exp=int(time.time()) + 3600))


def test_an_expired_token_says_so() -> None:
    token = SIGNER.sign("portal", {"t": "a"}, expires_at=time.time() + 60)
    with pytest.raises(InvalidToken) as refused:
        SIGNER.verify("portal", token, now=time.time() + 61)
    assert refused.value.expired


def test_a_token_for_one_purpose_is_refused_for_another() -> None:
    token = SIGNER.sign("console-session", {"sid": "x"}, expires_at=time.time() + 60)
    with pytest.raises(InvalidToken):
        SIGNER.verify("portal-session", token)


def test_another_secret_key_does_not_verify() -> None:
    token = TokenSigner("another key").sign("portal", {"t": "a"}, expires_at=time.time() + 60)
    with pytest.raises(InvalidToken):
        SIGNER.verify("portal", token)


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???", "x" * (MAX_TOKEN_CHARS + 1), "e30.%%%"],
)
def test_garbage_is_refused_not_raised(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        SIGNER.verify("portal", garbage)

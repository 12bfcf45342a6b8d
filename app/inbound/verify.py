"""Signature checks for inbound webhooks, one per provider, all constant-time.

Each returns the provider's message id and event type once the body is proven authentic, or
raises :class:`SignatureError` saying what was wrong (missing header, bad signature, stale or
future timestamp). Every secret of the source is tried, so a rotation never drops messages.
"""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from app.endpoints.signing_secret import secret_bytes
from app.inbound.models import Provider
from app.jsonsafety import text_problem


class SignatureError(Exception):
    """The request is not provably from the source."""


@dataclass(frozen=True)
class Verified:
    message_id: str
    event_type: str


_TYPE_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def verify(
    provider: str,
    config: Mapping[str, Any],
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int,
) -> Verified:
    """``headers`` must have lower-case names."""
    checks = {
        Provider.STANDARD: _standard,
        Provider.GITHUB: _github,
        Provider.STRIPE: _stripe,
        Provider.HMAC_SHA256: _generic,
    }
    verified = checks[Provider(provider)](config, secrets, headers, body, now, tolerance)
    return Verified(verified.message_id, _safe_type(verified.event_type))


def _safe_type(value: str) -> str:
    cleaned = _TYPE_UNSAFE.sub("_", value).strip(".") or "webhook"
    return re.sub(r"\.{2,}", ".", cleaned)[:100]


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureError(f"the {name} header is missing")
    return value


def _check_time(timestamp: str, now: int, tolerance: int) -> None:
    try:
        signed_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError("the signed timestamp is not a number") from exc
    if abs(now - signed_at) > tolerance:
        raise SignatureError(f"the signed timestamp is more than {tolerance} s from now")


def _any_matches(expected: Sequence[bytes], presented: Sequence[bytes]) -> bool:
    """Compare every pair in constant time each (no early exit on the first match)."""
    found = False
    for mine in expected:
        for theirs in presented:
            found |= hmac.compare_digest(mine, theirs)
    return found


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, hashlib.sha256)


def _body_field(body: bytes, name: str) -> str | None:
    """A top-level string of a JSON body, when it is one PostgreSQL can store. orjson stops at
    a bounded depth with an error, where ``json`` would recurse until RecursionError."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = parsed.get(name) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) and text_problem(value) is None else None


def _standard(
    _config: Mapping[str, Any],
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int,
) -> Verified:
    message_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    _check_time(timestamp, now, tolerance)
    signed = f"{message_id}.{timestamp}.".encode() + body
    presented = []
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1":
            try:
                presented.append(base64.b64decode(value, validate=True))
            except binascii.Error:
                continue
    expected = [_mac(secret_bytes(s), signed) for s in secrets]
    if not _any_matches(expected, presented):
        raise SignatureError("no webhook-signature entry matches")
    return Verified(message_id, _body_field(body, "type") or "webhook")


def _github(
    _config: Mapping[str, Any],
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    _now: int,
    _tolerance: int,
) -> Verified:
    signature = _header(headers, "x-hub-signature-256")
    presented = signature.removeprefix("sha256=").encode()
    expected = [_mac(s.encode(), body).hex().encode() for s in secrets]
    if not signature.startswith("sha256=") or not _any_matches(expected, [presented]):
        raise SignatureError("X-Hub-Signature-256 does not match")
    message_id = headers.get("x-github-delivery") or hashlib.sha256(body).hexdigest()
    return Verified(message_id, headers.get("x-github-event") or "webhook")


def _stripe(
    _config: Mapping[str, Any],
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int,
) -> Verified:
    fields = [part.partition("=") for part in _header(headers, "stripe-signature").split(",")]
    timestamps = [value for key, _, value in fields if key.strip() == "t"]
    presented = [value.encode() for key, _, value in fields if key.strip() == "v1"]
    if len(timestamps) != 1 or not presented:
        raise SignatureError("Stripe-Signature needs one t= and at least one v1=")
    _check_time(timestamps[0], now, tolerance)
    signed = timestamps[0].encode() + b"." + body
    expected = [_mac(s.encode(), signed).hex().encode() for s in secrets]
    if not _any_matches(expected, presented):
        raise SignatureError("no Stripe-Signature v1 entry matches")
    message_id = _body_field(body, "id") or hashlib.sha256(body).hexdigest()
    return Verified(message_id, _body_field(body, "type") or "webhook")


def _generic(
    config: Mapping[str, Any],
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    _now: int,
    _tolerance: int,
) -> Verified:
    signature = _header(headers, str(config["header"]).lower())
    presented = signature.removeprefix(config.get("prefix", "")).encode()
    macs = [_mac(s.encode(), body) for s in secrets]
    if config.get("encoding", "hex") == "base64":
        expected = [base64.b64encode(m) for m in macs]
    else:
        expected = [m.hex().encode() for m in macs]
    if not _any_matches(expected, [presented]):
        raise SignatureError(f"{config['header']} does not match")
    id_header = config.get("id_header")
    message_id = (headers.get(id_header.lower()) if id_header else None) or hashlib.sha256(
        body
    ).hexdigest()
    type_header = config.get("type_header")
    event_type = (headers.get(type_header.lower()) if type_header else None) or _body_field(
        body, "type"
    )
    return Verified(message_id, event_type or "webhook")

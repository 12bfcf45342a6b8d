"""The cost of signing one delivery: HMAC-SHA256 (``v1``) vs Ed25519 (``v1a``), same run.

    python -m bench.signing --rounds 5 --number 20000 --body-bytes 1024

Prints microseconds per ``webhook-signature`` header (median of the rounds) made by the worker's
own :func:`app.delivery.signing.sign` over a body of ``--body-bytes``, for an endpoint that signs
with one HMAC secret (the ceiling every other row is compared to), one Ed25519 key, both, and two
Ed25519 keys (a rotation's grace period); Ed25519 with its key loaded on every call, which is
what the worker's per-key cache saves; and, last, the headers of an HMAC endpoint that also sends
a legacy signature (:func:`app.delivery.signing.sign_legacy`), GitHub's form and Stripe's, with
Stripe's two secrets of a rotation.
"""

import argparse
import os
import statistics
import timeit
from collections.abc import Callable, Sequence

from app.delivery.signing import sign, sign_legacy
from app.endpoints.ed25519_key import private_key
from app.endpoints.legacy_signature import DEFAULT_HEADERS, LegacyScheme, LegacySigner
from app.endpoints.signing_secret import SigningAlgorithm, new_key

HMAC, ED25519 = SigningAlgorithm.HMAC, SigningAlgorithm.ED25519


def _signer(body: bytes, secrets: Sequence[str]) -> Callable[[], str]:
    return lambda: sign("msg_2Kx8b3Qd", 1_764_700_000, body, secrets)


def _uncached(body: bytes, secret: str) -> Callable[[], bytes]:
    return lambda: private_key(secret).sign(b"msg_2Kx8b3Qd.1764700000." + body)


def _with_legacy(
    body: bytes, secret: str, scheme: LegacyScheme, keys: Sequence[bytes]
) -> Callable[[], tuple[str, str]]:
    """Both headers of one delivery, as the worker makes them."""
    signer = LegacySigner(
        scheme=scheme, header=DEFAULT_HEADERS[scheme], keys=tuple((k, None) for k in keys)
    )
    return lambda: (
        sign("msg_2Kx8b3Qd", 1_764_700_000, body, [secret]),
        sign_legacy(signer, 1_764_700_000, body),
    )


def _median_us(run: Callable[[], object], rounds: int, number: int) -> float:
    return statistics.median(timeit.repeat(run, number=number, repeat=rounds)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--body-bytes", type=int, default=1024)
    args = parser.parse_args()
    body = os.urandom(args.body_bytes)
    hmac_secret, ed_secret, ed_next = new_key(HMAC), new_key(ED25519), new_key(ED25519)
    cases: dict[str, Callable[[], object]] = {
        "HMAC-SHA256 (v1), one secret": _signer(body, [hmac_secret]),
        "Ed25519 (v1a), one key": _signer(body, [ed_secret]),
        "HMAC + Ed25519": _signer(body, [hmac_secret, ed_secret]),
        "Ed25519, two keys (rotation)": _signer(body, [ed_next, ed_secret]),
        "Ed25519, key loaded per call (no cache)": _uncached(body, ed_secret),
        "HMAC + legacy GitHub (sha256=)": _with_legacy(
            body, hmac_secret, LegacyScheme.GITHUB, [b"It's a Secret to Everybody"]
        ),
        "HMAC + legacy Stripe (t=,v1=)": _with_legacy(
            body, hmac_secret, LegacyScheme.STRIPE, [b"whsec_stripe_1"]
        ),
        "HMAC + legacy Stripe, two secrets (rotation)": _with_legacy(
            body, hmac_secret, LegacyScheme.STRIPE, [b"whsec_stripe_2", b"whsec_stripe_1"]
        ),
    }
    ceiling = None
    print(f"| {args.body_bytes} B body | us per signature header | x HMAC |")
    print("|---|---|---|")
    for name, run in cases.items():
        micros = _median_us(run, args.rounds, args.number)
        ceiling = ceiling or micros
        print(f"| {name} | {micros:.2f} | {micros / ceiling:.1f} |")


if __name__ == "__main__":
    main()

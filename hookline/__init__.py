"""Hookline for applications that publish to it: :mod:`hookline.client`.

The server lives in ``app``; this package imports none of it, so what an application needs to
talk to a running Hookline stays small (httpx, pydantic, and cryptography for Ed25519 checks).
"""

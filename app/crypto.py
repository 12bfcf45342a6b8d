"""Encryption at rest for endpoint secrets: AES-256-GCM under a key derived from SECRET_KEY.

The row id is bound in as associated data, so a ciphertext copied onto another row does not
decrypt. The first byte is a format version, leaving room for key rotation later.
"""

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        derived = hashlib.sha256(b"hookline/secret-box/v1\x00" + secret_key.encode()).digest()
        self._aead = AESGCM(derived)

    def seal(self, plaintext: str, *, bound_to: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), bound_to)

    def open(self, sealed: bytes, *, bound_to: bytes) -> str:
        if sealed[:1] != _VERSION:
            raise ValueError("unknown secret format")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, ciphertext, bound_to).decode()

"""An endpoint's mTLS settings: a client certificate with its key, and a CA bundle to pin.

Checked when saved, so a worker never meets one it cannot load: each PEM parses (with
``cryptography``), the key is not encrypted and belongs to the certificate, and ``ssl`` loads
the lot into a context as the senders will. The private key is sealed like a signing secret,
bound to its endpoint; the certificate and the CA bundle are stored as given, since both are
public (a receiver sees the certificate in every handshake), which lets the API show the
certificate's subject and expiry without opening anything.
"""

import os
import ssl
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

from app.crypto import SecretBox


@dataclass(frozen=True, slots=True)
class ClientTls:
    """An endpoint's TLS options; equal options share one SSL context and one pool."""

    #: PEM: the certificate presented to the receiver (then its intermediates); None: none.
    certificate: str | None = None
    #: PEM: the certificate's private key, decrypted (never in a repr, so never in a log).
    key: str | None = field(default=None, repr=False)
    #: PEM: the only CAs the receiver's certificate may chain to; None: the system's store.
    ca_bundle: str | None = None


def build_context(tls: ClientTls) -> ssl.SSLContext:
    """A verifying client context: the pinned CAs (or the system's), and the client chain."""
    context = ssl.create_default_context(cadata=tls.ca_bundle)
    if tls.certificate is not None and tls.key is not None:
        _load_chain(context, tls.certificate + "\n" + tls.key)
    return context


def _load_chain(context: ssl.SSLContext, pem: str) -> None:
    """``load_cert_chain`` reads only files: give it one that lives in memory (Linux), or else
    a private temporary file removed at once, so the key is not left on disk."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("hookline-client-chain", os.MFD_CLOEXEC)
        try:
            with open(fd, "w", closefd=False) as file:
                file.write(pem)
            context.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as folder:  # mode 0700
        path = os.path.join(folder, "chain.pem")
        with open(path, "w") as file:
            file.write(pem)
        context.load_cert_chain(path)


def _binding(endpoint_id: uuid.UUID) -> bytes:
    return endpoint_id.bytes + b"\x00tls-client-key"


def seal_key(box: SecretBox, endpoint_id: uuid.UUID, key: str) -> bytes:
    return box.seal(key, bound_to=_binding(endpoint_id))


def open_key(box: SecretBox, endpoint_id: uuid.UUID, sealed: bytes) -> str:
    return box.open(sealed, bound_to=_binding(endpoint_id))


def certificates(pem: str, field: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle; raises ValueError naming ``field``."""
    try:
        found = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        found = []
    if not found:
        raise ValueError(f"{field} is not PEM certificates (-----BEGIN CERTIFICATE-----)")
    return found


def check(certificate: str | None, key: str | None, ca_bundle: str | None) -> None:
    """Raises ValueError naming the field at fault."""
    if (certificate is None) != (key is None):
        raise ValueError("client_certificate and client_key go together: give both or neither")
    if ca_bundle is not None:
        certificates(ca_bundle, "ca_bundle")
    if certificate is not None and key is not None:
        leaf = certificates(certificate, "client_certificate")[0]
        try:
            private = load_pem_private_key(key.encode(), password=None)
        except TypeError as exc:
            raise ValueError("client_key must not be encrypted") from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError("client_key is not a PEM private key") from exc
        if _public(private.public_key()) != _public(leaf.public_key()):
            raise ValueError("client_key is not the key of client_certificate")
    if certificate is None and ca_bundle is None:
        return  # nothing of ours to load into the default context
    try:
        build_context(ClientTls(certificate, key, ca_bundle))
    except ssl.SSLError as exc:
        raise ValueError(f"the TLS settings do not load: {exc.reason or exc}") from exc


def _public(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def subject_and_expiry(certificate: str) -> tuple[str, datetime]:
    """The leaf certificate's subject (RFC 4514) and when it expires."""
    leaf = certificates(certificate, "client_certificate")[0]
    return leaf.subject.rfc4514_string(), leaf.not_valid_after_utc

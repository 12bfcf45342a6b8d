"""An endpoint's mTLS and proxy columns as a worker reads them, opened on first use.

Most endpoints have none of them (:meth:`SealedEgress.of_row` is then None, and so is their
egress); the rest have their key and proxy credentials decrypted once per version of the
endpoint, like its signing secrets, not once per delivery.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from app.crypto import SecretBox
from app.delivery.egress import Egress, Proxy
from app.endpoints.client_tls import ClientTls, open_key
from app.endpoints.proxy import with_credentials


@dataclass(frozen=True)
class SealedEgress:
    certificate: str | None
    sealed_key: bytes | None = field(repr=False)
    ca_bundle: str | None
    proxy_url: str | None
    sealed_proxy_credentials: bytes | None = field(repr=False)
    bypass: bool

    @classmethod
    def of_row(cls, row: Any) -> "SealedEgress | None":
        """From a row of the directory's query; None when the endpoint sets none of them."""
        sealed = cls(
            certificate=row.tls_client_certificate,
            sealed_key=row.sealed_tls_client_key,
            ca_bundle=row.tls_ca_bundle,
            proxy_url=row.proxy_url,
            sealed_proxy_credentials=row.sealed_proxy_credentials,
            bypass=row.proxy_bypass,
        )
        if sealed.certificate or sealed.ca_bundle or sealed.proxy_url or sealed.bypass:
            return sealed
        return None

    def open(self, box: SecretBox, endpoint_id: uuid.UUID) -> Egress:
        tls = None
        if self.certificate is not None or self.ca_bundle is not None:
            key = None if self.sealed_key is None else open_key(box, endpoint_id, self.sealed_key)
            tls = ClientTls(self.certificate, key, self.ca_bundle)
        proxy = None
        if self.proxy_url is not None:
            url = with_credentials(box, endpoint_id, self.proxy_url, self.sealed_proxy_credentials)
            proxy = Proxy.of_url(url, trusted=False)  # a tenant's: judged by the SSRF rules
        return Egress(tls=tls, proxy=proxy, direct=self.bypass)

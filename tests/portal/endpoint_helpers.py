"""What the portal's endpoint page tests share: reading an endpoint through the REST API, and a
session's CSRF token when its pages carry no form (a read-only session)."""

from typing import Any

import httpx

from app.portal.browser import COOKIE
from app.portal.sessions import open_session
from app.web.security import csrf_token
from app.web.tokens import TokenSigner

SIGNER = TokenSigner("test-secret-key")  # the `settings` fixture's SECRET_KEY


def session_csrf(client: httpx.AsyncClient) -> str:
    """The valid CSRF token of the client's portal session, as a forger who knew it would send."""
    session = open_session(SIGNER, client.cookies[COOKIE])
    return csrf_token(SIGNER, session.session_id)


async def rest_endpoint(
    client: httpx.AsyncClient, tenant: dict[str, str], endpoint_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/endpoints/{endpoint_id}", headers=tenant)
    assert response.status_code == 200, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


async def rest_secret(client: httpx.AsyncClient, tenant: dict[str, str], endpoint_id: str) -> str:
    response = await client.get(f"/v1/endpoints/{endpoint_id}/secret", headers=tenant)
    assert response.status_code == 200, response.text
    key: str = response.json()["key"]
    return key

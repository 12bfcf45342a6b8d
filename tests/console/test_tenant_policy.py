"""A tenant's delivery-policy defaults on its console page: shown, edited with durations as
people type them, refused beside the field with nothing saved."""

import html
import re

import httpx

from tests.factories import ADMIN
from tests.web.helpers import csrf_of, sign_in_console


async def test_the_operator_edits_a_tenants_defaults(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    created = await client.post("/v1/tenants", json={"name": "acme"}, headers=ADMIN)
    page = f"/console/tenants/{created.json()['id']}"
    form = (await client.get(page)).text
    assert 'name="retry_schedule" value="" placeholder="5s, 5m, 30m, 2h, 5h, 10h, 10h"' in form

    def post(**policy: str) -> dict[str, str]:
        return {"csrf": csrf_of(form), "name": "acme", "portal_frame_ancestors": "", **policy}

    refused = await client.post(page, data=post(retry_schedule="1m", timeout="5m"))
    saved = await client.post(page, data=post(retry_schedule="1m, 1h", disable_after="12h"))

    assert refused.status_code == 422, refused.text
    error = refused.text.split('id="timeout_seconds-error">', 1)[1].split("</p>", 1)[0]
    assert "at most 60 s on this server" in html.unescape(error)
    assert saved.status_code == 303, saved.text
    tenant = (await client.get(f"/v1/tenants/{created.json()['id']}", headers=ADMIN)).json()
    assert tenant["retry_schedule"] == [60, 3600]
    assert tenant["timeout_seconds"] is None
    assert tenant["disable_after_seconds"] == 43200
    shown = html.unescape(re.sub("<[^>]+>", "", (await client.get(page)).text))
    assert "1m, 1h (3 attempts in all; the account's default)" in shown
    assert "15s (the server's default)" in shown

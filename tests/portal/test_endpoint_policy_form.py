"""The "Delivery policy" part of the portal's endpoint form and page: durations as people type
them, the inherited values shown where a field is blank, the API's bounds shown beside the
field with nothing saved."""

import html
import re

import httpx
import pytest

from tests.factories import make_endpoint, make_tenant
from tests.portal.endpoint_helpers import rest_endpoint
from tests.web.helpers import csrf_of, open_portal


async def test_the_policy_is_set_shown_and_cleared_through_the_forms(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    await client.patch("/v1/delivery-policy", json={"timeout_seconds": 30}, headers=acme)
    await open_portal(client, acme)
    new_form = (await client.get("/portal/endpoints/new")).text
    assert 'name="timeout" value="" placeholder="30s"' in new_form  # the account's default
    assert 'placeholder="5s, 5m, 30m, 2h, 5h, 10h, 10h"' in new_form  # the server's

    created = await client.post(
        "/portal/endpoints/new",
        data={
            "csrf": csrf_of(new_form),
            "url": "http://127.0.0.1:9/hooks",
            "event_type": ["*"],
            "retry_schedule": "5s, 5m, 2h",
            "timeout": "",
            "disable_after": "2d",
        },
    )

    assert created.status_code == 303, created.text
    endpoint_id = created.headers["location"].split("/")[-1].split("?")[0]
    endpoint = await rest_endpoint(client, acme, endpoint_id)
    assert endpoint["retry_schedule"] == [5, 300, 7200]
    assert endpoint["timeout_seconds"] is None
    assert endpoint["disable_after_seconds"] == 172800
    page = html.unescape(
        re.sub("<[^>]+>", "", (await client.get(created.headers["location"])).text)
    )
    assert "5s, 5m, 2h (4 attempts in all; this endpoint's own)" in page
    assert "30s (the account's default)" in page

    edit_form = (await client.get(f"/portal/endpoints/{endpoint_id}/edit")).text
    assert 'name="retry_schedule" value="5s, 5m, 2h"' in edit_form
    edited = await client.post(
        f"/portal/endpoints/{endpoint_id}/edit",
        data={
            "csrf": csrf_of(edit_form),
            "url": "http://127.0.0.1:9/hooks",
            "event_type": ["*"],
            "retry_schedule": "none",
            "timeout": "45s",
            "disable_after": "",
        },
    )
    assert edited.status_code == 303, edited.text
    endpoint = await rest_endpoint(client, acme, endpoint_id)
    assert endpoint["retry_schedule"] == []
    assert endpoint["timeout_seconds"] == 45
    assert endpoint["policy"]["source"]["disable_after_seconds"] == "default"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"retry_schedule": "5s, soon"}, "retry_schedule", "'soon' is not a duration"),
        ({"retry_schedule": "500ms"}, "retry_schedule", "valid integer"),
        ({"retry_schedule": "8d"}, "retry_schedule", "less than or equal to 604800"),
        ({"timeout": "2m"}, "timeout_seconds", "at most 60 s on this server"),
        ({"timeout": "1s, 2s"}, "timeout_seconds", "type one duration"),
        ({"disable_after": "10m"}, "disable_after_seconds", "greater than or equal to 3600"),
        ({"disable_after": "\x00"}, "disable_after_seconds", "not a duration"),
        ({"retry_schedule": "9" * 400 + "d"}, "retry_schedule", "longer than any"),
        ({"timeout": "99999999999d"}, "timeout_seconds", "longer than any"),
    ],
)
async def test_a_refused_policy_is_shown_beside_its_field_and_nothing_is_saved(
    client: httpx.AsyncClient, fields: dict[str, str], field: str, message: str
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme, timeout_seconds=9)
    await open_portal(client, acme)
    form = (await client.get("/portal/endpoints/new")).text
    data = {"url": "http://127.0.0.1:9/hooks", "event_type": ["*"], **fields}

    created = await client.post("/portal/endpoints/new", data={"csrf": csrf_of(form), **data})
    edited = await client.post(
        f"/portal/endpoints/{endpoint['id']}/edit", data={"csrf": csrf_of(form), **data}
    )

    for response in (created, edited):
        assert response.status_code == 422, response.text
        error = response.text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
        assert message in html.unescape(error)
    assert [e["id"] for e in (await client.get("/v1/endpoints", headers=acme)).json()["data"]] == [
        endpoint["id"]
    ]
    assert (await rest_endpoint(client, acme, endpoint["id"]))["timeout_seconds"] == 9

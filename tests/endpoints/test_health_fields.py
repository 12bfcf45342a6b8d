"""An endpoint's health as the API reports it: its last success, and since when it has failed."""

import httpx

from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish


async def test_a_new_endpoint_has_no_history(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    assert endpoint["last_success_at"] is None
    assert endpoint["failing_since"] is None


async def test_a_success_and_a_failure_are_reported(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    good = await make_endpoint(api, tenant, url=receiver.script("/good"), event_types=["a"])
    bad = await make_endpoint(
        api, tenant, url=receiver.script("/bad", then=Reply(500)), event_types=["b"]
    )
    await wait_for_status(api, tenant, (await publish(api, tenant, "a"))["id"], "succeeded")
    await wait_for_status(api, tenant, (await publish(api, tenant, "b"))["id"], "failed")

    good_now = (await api.get(f"/v1/endpoints/{good['id']}", headers=tenant)).json()
    bad_now = (await api.get(f"/v1/endpoints/{bad['id']}", headers=tenant)).json()

    assert good_now["last_success_at"] is not None
    assert good_now["failing_since"] is None
    assert bad_now["last_success_at"] is None
    assert bad_now["failing_since"] is not None

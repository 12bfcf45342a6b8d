"""Logs carry what on-call needs and never a secret or a signature."""

import base64
import json
import logging

import httpx
import pytest

from app.logs import JsonFormatter, configure_logging
from tests.conftest import ADMIN_TOKEN
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish

SECRET = "whsec_" + base64.b64encode(b"L" * 32).decode()


async def test_no_secret_or_signature_is_ever_logged(
    api: httpx.AsyncClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_tenant(api)
    api_key = tenant["Authorization"].removeprefix("Bearer ")
    await make_endpoint(api, tenant, url=receiver.script("/logged", Reply(500)), secret=SECRET)

    event = await publish(api, tenant)
    await wait_for_status(api, tenant, event["id"], "succeeded")

    signatures = [r.headers["webhook-signature"] for r in receiver.at("/logged")]
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    for secret in [SECRET, SECRET.removeprefix("whsec_"), api_key, ADMIN_TOKEN, *signatures]:
        assert secret not in logged
    for part in (s.split(",", 1)[1] for s in signatures):
        assert part not in logged
    attempt_lines = [
        json.loads(formatter.format(r)) for r in caplog.records if r.msg == "delivery.attempt"
    ]
    assert len(attempt_lines) == 2
    for line in attempt_lines:
        assert line["event_id"] == event["id"]
        assert {"delivery_id", "endpoint_id", "attempt", "status_code"} <= line.keys()


def test_a_portal_links_token_never_reaches_the_access_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn logs each request's path with its query (``log_config=None`` sends it through
    Hookline's handler); a portal link's token must come out redacted."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(json_lines=True)
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/portal/start?token=eyJ0IjoiYSJ9.c2lnbmF0dXJl&x=1",
            "1.1",
            303,
        )
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == '127.0.0.1:5000 - "GET /portal/start?token=[redacted]&x=1 HTTP/1.1" 303'

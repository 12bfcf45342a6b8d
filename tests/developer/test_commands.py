"""``send``, ``events``, ``deliveries``, ``attempts`` and ``replay`` against a live Hookline,
delivering to a loopback receiver."""

import json
import uuid
from pathlib import Path

from hookline.client import EndpointCreate
from tests.delivery.receiver import Receiver
from tests.developer.conftest import Live, hookline
from tests.waiting import wait_until


async def test_send_then_follow_the_event_to_its_attempts_and_replay_it(
    live: Live, receiver: Receiver, tmp_path: Path
) -> None:
    hooks = receiver.script("/hooks")
    await live.client.endpoints.create(EndpointCreate(url=hooks, event_types=["order.*"]))
    payload = tmp_path / "order.json"
    payload.write_text('{"id": 7}')

    sent = await hookline("send", "order.created", "--data", f"@{payload}", "--json", env=live.env)
    assert sent.exit_code == 0, sent.output
    event = json.loads(sent.stdout)
    assert event["data"] == {"id": 7}
    inline = await hookline("send", "order.paid", "-d", '{"id": 8}', env=live.env)
    assert inline.stdout.startswith("published order.paid ")
    await receiver.wait_for(2, "/hooks")

    listed = await hookline("events", "--json", env=live.env)
    assert [e["type"] for e in json.loads(listed.stdout)] == ["order.paid", "order.created"]
    table = await hookline("events", "--type", "order.created", env=live.env)
    assert event["id"] in table.stdout
    assert "order.paid" not in table.stdout

    async def delivered() -> bool:
        result = await hookline("deliveries", "--event", event["id"], "--json", env=live.env)
        return [d["status"] for d in json.loads(result.stdout)] == ["succeeded"]

    await wait_until(delivered)
    deliveries = await hookline("deliveries", "--event", event["id"], "--json", env=live.env)
    [delivery] = json.loads(deliveries.stdout)
    shown = await hookline("deliveries", "--status", "succeeded", "--limit", "1", env=live.env)
    assert "succeeded" in shown.stdout
    attempts = await hookline("attempts", delivery["id"], "--json", env=live.env)
    assert [(a["attempt"], a["status_code"]) for a in json.loads(attempts.stdout)] == [(1, 200)]
    table = await hookline("attempts", "--endpoint", delivery["endpoint_id"], env=live.env)
    assert delivery["id"] in table.stdout

    replayed = await hookline("replay", delivery["id"], env=live.env)
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.startswith(f"queued {delivery['id']} again")
    await receiver.wait_for(3, "/hooks")


async def test_refusals_say_what_is_wrong(live: Live) -> None:
    not_an_object = await hookline("send", "order.created", "--data", "[1]", env=live.env)
    assert (not_an_object.exit_code, not_an_object.stderr) == (
        2,
        "hookline: --data must be a JSON object\n",
    )

    bad_type = await hookline("send", "not a type!", env=live.env)
    assert bad_type.exit_code == 1
    assert bad_type.stderr.startswith("hookline: 422 ")
    assert "\n  type: " in bad_type.stderr

    missing = await hookline("replay", str(uuid.uuid4()), env=live.env)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("hookline: 404 ")

    stranger = await hookline("events", env={**live.env, "HOOKLINE_API_KEY": "hlk_unknown"})
    assert stranger.exit_code == 1
    assert stranger.stderr.startswith("hookline: 401 ")

    keyless = await hookline("events", env={"HOOKLINE_URL": live.url})
    assert keyless.exit_code == 2
    assert "no API key: pass --api-key, set HOOKLINE_API_KEY" in keyless.stderr

    both = await hookline("attempts", str(uuid.uuid4()), "--endpoint", "x", env=live.env)
    assert both.exit_code == 2


async def test_a_profile_supplies_the_url_and_key_and_flags_win(live: Live, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[default]\nurl = "http://127.0.0.1:9"\napi_key = "hlk_wrong"\n\n'
        f'[local]\nurl = "{live.url}"\napi_key = "{live.api_key}"\n'
    )
    env = {"HOOKLINE_CONFIG": str(config)}

    by_profile = await hookline("send", "order.created", "--profile", "local", env=env)
    assert by_profile.exit_code == 0, by_profile.output
    by_flags = await hookline(
        "events", "--url", live.url, "--api-key", live.api_key, "--json", env=env
    )
    assert [e["type"] for e in json.loads(by_flags.stdout)] == ["order.created"]
    by_env = await hookline("events", "--json", env={**env, **live.env})
    assert by_env.exit_code == 0, by_env.output

    unknown = await hookline("events", "--profile", "prod", env=env)
    assert unknown.exit_code == 2
    assert f"{config} has no profile 'prod' (it has: default, local)" in unknown.stderr
    unreachable = await hookline("events", env=env)  # the default profile: nothing on port 9
    assert unreachable.exit_code == 1
    assert "ConnectError" in unreachable.stderr

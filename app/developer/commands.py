"""``send``, ``events``, ``deliveries``, ``attempts``, ``replay`` and ``verify``."""

import itertools
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from app.developer.options import ApiKey, AsJson, Limit, Profile, Url, connection
from app.developer.output import fail, print_json, print_listing, reporting_errors
from app.developer.raw_request import MalformedRequest, parse
from hookline.client import Hookline, WebhookVerificationError, verify
from hookline.client.webhooks import TOLERANCE_SECONDS


def _client(url: str | None, api_key: str | None, profile: str | None) -> Hookline:
    chosen = connection(url, api_key, profile)
    return Hookline(chosen.url, api_key=chosen.api_key)


T = TypeVar("T")


def _first(
    limit: int,
    listing: Callable[[Hookline], Iterable[T]],
    url: str | None,
    api_key: str | None,
    profile: str | None,
) -> list[T]:
    """The first ``limit`` items of a listing the client pages through, fetched only so far."""
    with reporting_errors(), _client(url, api_key, profile) as hookline:
        return list(itertools.islice(listing(hookline), limit))


def _json_object(text: str) -> dict[str, Any]:
    """``--data``: JSON itself, ``@file.json``, or ``@-`` for standard input."""
    if text == "@-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            fail(f"--data: cannot read {text[1:]}: {exc.strerror}", code=2)
    try:
        value = json.loads(text)
    except ValueError as exc:
        fail(f"--data is not JSON: {exc}", code=2)
    if not isinstance(value, dict):
        fail("--data must be a JSON object", code=2)
    return value


def send(
    event_type: Annotated[str, typer.Argument(metavar="TYPE", help="The event type.")],
    data: Annotated[
        str, typer.Option("--data", "-d", help="A JSON object, @file.json, or @- (stdin).")
    ] = "{}",
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="A channel (repeat for more).")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Same key, same event: published once.")
    ] = None,
    as_json: AsJson = False,
    url: Url = None,
    api_key: ApiKey = None,
    profile: Profile = None,
) -> None:
    """Publish an event."""
    payload = _json_object(data)
    with reporting_errors(), _client(url, api_key, profile) as hookline:
        event = hookline.events.publish(
            event_type, payload, channels=channel, idempotency_key=idempotency_key
        )
    if as_json:
        print_json(event)
    else:
        typer.echo(f"published {event.type} {event.id}")


def events(
    event_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    limit: Limit = 20,
    as_json: AsJson = False,
    url: Url = None,
    api_key: ApiKey = None,
    profile: Profile = None,
) -> None:
    """Recent events."""
    found = _first(limit, lambda h: h.events.list(type=event_type), url, api_key, profile)
    print_listing(
        "events",
        found,
        [("id", lambda e: e.id), ("type", lambda e: e.type), ("created", lambda e: e.created_at)],
        as_json=as_json,
    )


def deliveries(
    event: Annotated[str | None, typer.Option("--event", help="Only of this event.")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Only to this endpoint.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, sending, succeeded, failed or skipped.")
    ] = None,
    limit: Limit = 20,
    as_json: AsJson = False,
    url: Url = None,
    api_key: ApiKey = None,
    profile: Profile = None,
) -> None:
    """Recent deliveries."""
    found = _first(
        limit,
        lambda h: h.deliveries.list(event_id=event, endpoint_id=endpoint, status=status),
        url,
        api_key,
        profile,
    )
    print_listing(
        "deliveries",
        found,
        [
            ("id", lambda d: d.id),
            ("type", lambda d: d.event_type),
            ("endpoint", lambda d: d.endpoint_id),
            ("status", lambda d: d.status),
            ("attempts", lambda d: d.attempts),
            ("last", lambda d: d.last_status_code or d.last_error),
            ("created", lambda d: d.created_at),
        ],
        as_json=as_json,
    )


def attempts(
    delivery: Annotated[str | None, typer.Argument(metavar="[DELIVERY_ID]")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="An endpoint's attempts instead.")
    ] = None,
    limit: Limit = 20,
    as_json: AsJson = False,
    url: Url = None,
    api_key: ApiKey = None,
    profile: Profile = None,
) -> None:
    """The attempts of a delivery (or of an endpoint, with --endpoint)."""
    if (delivery is None) == (endpoint is None):
        fail("name a DELIVERY_ID or an --endpoint, not both", code=2)
    found = _first(
        limit,
        lambda h: h.attempts.list(delivery_id=delivery, endpoint_id=endpoint),
        url,
        api_key,
        profile,
    )
    print_listing(
        "attempts",
        found,
        [
            ("#", lambda a: a.attempt),
            ("delivery", lambda a: a.delivery_id),
            ("outcome", lambda a: a.outcome),
            ("status", lambda a: a.status_code),
            ("error", lambda a: a.error_class),
            ("ms", lambda a: a.duration_ms),
            ("started", lambda a: a.started_at),
        ],
        as_json=as_json,
    )


def replay(
    delivery: Annotated[str, typer.Argument(metavar="DELIVERY_ID")],
    as_json: AsJson = False,
    url: Url = None,
    api_key: ApiKey = None,
    profile: Profile = None,
) -> None:
    """Send a delivery again now (a manual attempt)."""
    with reporting_errors(), _client(url, api_key, profile) as hookline:
        queued = hookline.deliveries.retry(delivery)
    if as_json:
        print_json(queued)
    else:
        typer.echo(f"queued {queued.id} again ({queued.event_type} to {queued.endpoint_id})")


def verify_request(
    secret: Annotated[
        str,
        typer.Option(
            "--secret",
            envvar="HOOKLINE_WEBHOOK_SECRET",
            help="The endpoint's whsec_ secret or a whpk_ public key (HOOKLINE_WEBHOOK_SECRET).",
        ),
    ],
    tolerance: Annotated[
        int, typer.Option(min=0, help="Seconds the timestamp may be from now.")
    ] = TOLERANCE_SECONDS,
) -> None:
    """Check the signature of a captured HTTP request read from stdin, and say why it fails."""
    try:
        request = parse(sys.stdin.buffer.read())
    except MalformedRequest as exc:
        fail(f"cannot read the request: {exc}", code=2)
    try:
        message_id = verify(secret, request.headers, request.body, tolerance=tolerance)
    except WebhookVerificationError as exc:
        fail(f"signature invalid: {exc}")
    typer.echo(f"signature valid: {message_id} ({len(request.body)} bytes)")


def register(cli: typer.Typer) -> None:
    for command in (send, events, deliveries, attempts, replay):
        cli.command()(command)
    cli.command("verify")(verify_request)

"""The delivery worker: sign, send, and record each delivery; retry, dead-letter or disable.

A delivery is sent outside any transaction. Its outcome, the attempt row, the delivery's last
status, the endpoint's health and any operational event are written together in the batched
transaction that settles it (``on_settled``), so history never disagrees with the queue.

Three consumers share one handler state: fresh deliveries and retries in separate lanes (a storm
of retries cannot starve first attempts), and ordered endpoints through the per-key ordering
guard. Paused and disabled endpoints are left out of every claim, so their deliveries wait
untouched, in order, until the endpoint is active again.
"""

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import __version__
from app.delivery import health, sql
from app.delivery.bodies import EventBodies
from app.delivery.directory import EndpointConfig, EndpointDirectory
from app.delivery.models import AttemptOutcome, AttemptTrigger
from app.delivery.oauth2 import BearerTokens
from app.delivery.ratelimit import RateLimiter
from app.delivery.schedule import DeliverySchedule
from app.delivery.sender import Outbound, Sender, SendResult
from app.delivery.signing import sign, sign_legacy
from app.endpoints.filters import is_reserved
from app.endpoints.models import EndpointStatus
from app.events.outbox import announce
from app.ids import uuid7_batch, uuid7_time
from app.metrics import ATTEMPT_SECONDS, DELIVERIES_DEAD, DELIVERY_ATTEMPTS, DELIVERY_LAG_SECONDS
from app.queue.consumer import JobHandler, KeyFilter, SettledJob
from app.queue.errors import describe
from app.queue.jobs import Dead, Done, Job, Outcome, Release, Retry
from app.queue.schema import JobStatus
from app.queue.text import ERROR_BYTES, safe_text

if TYPE_CHECKING:  # imported only while tracing is on (app/tracing.py)
    from app.delivery.tracing import DeliveryTracing

log = logging.getLogger("hookline.delivery")

USER_AGENT = f"Hookline/{__version__} (+webhooks)"
#: After this many failed attempts a delivery is announced as failing.
FAILING_AFTER = 4


@dataclass(frozen=True)
class AttemptRecord:
    """What one attempt did; carried in the outcome to the settling transaction."""

    result: SendResult
    trigger: AttemptTrigger


@dataclass
class DeliveryContext:
    """State the delivery consumers share within one worker process."""

    engine: AsyncEngine
    directory: EndpointDirectory
    sender: Sender
    #: Retry-After and overload rules; the delays come from each endpoint's policy.
    schedule: DeliverySchedule
    limiter: RateLimiter
    bodies: EventBodies
    #: Bearer tokens for endpoints with OAuth2 client credentials.
    tokens: BearerTokens
    success_marks: health.SuccessMarks = field(default_factory=health.SuccessMarks)
    #: A span per attempt; None while tracing is off.
    tracing: "DeliveryTracing | None" = None


def _sent_in_order(endpoint: EndpointConfig) -> bool:
    """What the ordered consumer claims: active ordered endpoints."""
    return endpoint.ordered and endpoint.status == EndpointStatus.ACTIVE


def _not_sent_unordered(endpoint: EndpointConfig) -> bool:
    """What the unordered consumers leave alone: paused, disabled and ordered endpoints."""
    return endpoint.ordered or endpoint.status != EndpointStatus.ACTIVE


class DeliveryHandler(JobHandler):
    def __init__(self, context: DeliveryContext, *, ordered: bool) -> None:
        self.context = context
        #: True for the consumer that serves ordered endpoints, one delivery at a time each.
        self.ordered = ordered

    async def key_filter(self) -> KeyFilter:
        directory = self.context.directory
        await directory.ensure_fresh()
        if self.ordered:
            return KeyFilter(only=directory.keys_where(_sent_in_order))
        return KeyFilter(skip=directory.keys_where(_not_sent_unordered))

    async def prepare(self, jobs: Sequence[Job]) -> None:
        await self.context.directory.ensure_fresh({job.row["endpoint_id"] for job in jobs})
        await self.context.bodies.load({job.row["event_id"] for job in jobs})

    async def close(self) -> None:
        await self.context.sender.close()
        await self.context.tokens.close()

    async def handle(self, job: Job) -> Outcome:
        endpoint_id: uuid.UUID = job.row["endpoint_id"]
        event_id: uuid.UUID = job.row["event_id"]
        endpoint = await self._endpoint(endpoint_id)
        if endpoint is None:
            return Dead(error="the endpoint no longer exists")
        if endpoint.status != EndpointStatus.ACTIVE or endpoint.ordered != self.ordered:
            # Paused, disabled, or claimed by the wrong consumer (the claim's snapshot predates
            # the endpoint or its last change): hand it back untried, to be claimed right.
            return Release()
        bodies = self.context.bodies
        if event_id not in bodies:  # a claimed batch's were loaded at once (prepare)
            await bodies.load((event_id,))
        body = bodies[event_id].render(endpoint.payload_format)
        await self.context.limiter.wait_turn(endpoint_id, endpoint.rate_limit_per_second)
        request = _request(endpoint, str(event_id), body)
        tracing = self.context.tracing
        if tracing is None:
            result = await self._send(job, endpoint, request)
        else:
            trace = self.context.bodies.trace_of(event_id)
            result = await tracing.attempt(job, trace, self._send(job, endpoint, request))
        record = AttemptRecord(result=result, trigger=AttemptTrigger(job.row["next_trigger"]))
        if result.succeeded:
            return Done(detail=record)
        error = f"{result.error_class}: {result.error}"
        # The endpoint's schedule now, not when the delivery was made (docs/delivery-policy.md);
        # an empty one asks for no retry at all.
        retry = endpoint.policy.retry
        if result.status_code == 410 or not retry.delays:
            return Dead(error=error, detail=record)
        delay = self.context.schedule.delay(
            job.attempts,
            status_code=result.status_code,
            retry_after=result.retry_after,
            timed_out=result.error_class == "timeout",
            retry=retry,
        )
        return Retry(error=error, delay=delay, detail=record)

    async def _send(self, job: Job, endpoint: EndpointConfig, request: Outbound) -> SendResult:
        """One attempt, with a bearer token for OAuth2 endpoints, logged (inside its span when
        traced, so the line has its ids)."""
        if endpoint.oauth2 is None:
            result = await self.context.sender.send(request)
        else:
            result = await self.context.tokens.send(self.context.sender, endpoint, request)
        _log_attempt(job, result)
        return result

    def salvage(self, job: Job, outcome: Outcome, error: Exception) -> Outcome | None:
        """The verdict and its attempt row, without the receiver's words (the likely culprit)."""
        return without_response(outcome, error) or super().salvage(job, outcome, error)

    def outcome_columns(self, job: Job, outcome: Outcome) -> Mapping[str, Any] | None:
        """After an attempt: its status code, and that the next attempt is a scheduled one."""
        del job
        record = getattr(outcome, "detail", None)
        if not isinstance(record, AttemptRecord):
            return None
        return {
            "last_status_code": record.result.status_code,
            "next_trigger": AttemptTrigger.SCHEDULED.value,
        }

    def _windows(self, endpoint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, timedelta]:
        """Each endpoint's disable-after window (a deleted endpoint has none)."""
        directory = self.context.directory
        return {
            endpoint.id: endpoint.policy.disable_after
            for endpoint_id in endpoint_ids
            if (endpoint := directory.get(endpoint_id)) is not None
        }

    async def _endpoint(self, endpoint_id: uuid.UUID) -> EndpointConfig | None:
        directory = self.context.directory
        if directory.get(endpoint_id) is None:
            await directory.ensure_fresh({endpoint_id})
        return directory.get(endpoint_id)

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        attempted = [
            (s, record) for s in settled if isinstance(record := _record_of(s), AttemptRecord)
        ]
        if not attempted:
            return
        ids = uuid7_batch(len(attempted))
        rows = [_attempt_row(id_, s, r) for id_, (s, r) in zip(ids, attempted, strict=True)]
        await conn.execute(
            sql.attempt_insert_many,
            {name: [row[name] for row in rows] for name, _ in sql.ATTEMPT_COLUMNS},
        )
        succeeded = {s.job.row["endpoint_id"] for s, _ in attempted if s.status == JobStatus.DONE}
        failed = {s.job.row["endpoint_id"] for s, _ in attempted if s.status != JobStatus.DONE}
        await health.record_results(
            conn, self.context.success_marks, succeeded=succeeded, failed=failed
        )
        gone = {
            s.job.row["endpoint_id"]: "the endpoint answered 410 Gone"
            for s, r in attempted
            if r.result.status_code == 410
        }
        await health.disable(conn, gone)
        await health.disable_failing_too_long(conn, self._windows(failed - succeeded))
        for s, r in attempted:
            await _announce_delivery(conn, s, r.result)
        _observe(attempted)


def without_response(outcome: Outcome, error: Exception) -> Outcome | None:
    """``outcome`` with its attempt's response excerpt dropped and the reason in its error;
    None when it carries no attempt."""
    record = getattr(outcome, "detail", None)
    if not isinstance(record, AttemptRecord) or isinstance(outcome, Release):
        return None
    note = f"the response could not be stored: {describe(error)}"
    result = dataclasses.replace(
        record.result,
        body=None,
        error=safe_text(
            f"{record.result.error}; {note}" if record.result.error else note, ERROR_BYTES
        ),
    )
    return dataclasses.replace(outcome, detail=AttemptRecord(result=result, trigger=record.trigger))


def _record_of(settled: SettledJob) -> AttemptRecord | None:
    detail = getattr(settled.outcome, "detail", None)
    return detail if isinstance(detail, AttemptRecord) else None


def _request(endpoint: EndpointConfig, message_id: str, body: bytes) -> Outbound:
    timestamp = int(time.time())
    headers = {
        **endpoint.headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(message_id, timestamp, body, endpoint.secrets),
    }
    legacy = endpoint.legacy_signer
    if legacy is not None:
        headers[legacy.header] = sign_legacy(legacy, timestamp, body)
    return Outbound(
        url=endpoint.url,
        headers=headers,
        body=body,
        timeout=endpoint.policy.timeout,
        egress=endpoint.egress,
    )


def _attempt_row(id_: uuid.UUID, settled: SettledJob, record: AttemptRecord) -> dict[str, Any]:
    job, result = settled.job, record.result
    return {
        "id": id_,
        "tenant_id": job.row["tenant_id"],
        "delivery_id": job.id,
        "endpoint_id": job.row["endpoint_id"],
        "event_id": job.row["event_id"],
        "attempt": job.attempts,
        "trigger": record.trigger,
        "started_at": result.started_at,
        "duration_ms": result.duration_ms,
        "status_code": result.status_code,
        "response_body": result.body,
        "error_class": result.error_class,
        "error": result.error,
        "outcome": AttemptOutcome.SUCCEEDED if result.succeeded else AttemptOutcome.FAILED,
    }


async def _announce_delivery(
    conn: AsyncConnection, settled: SettledJob, result: SendResult
) -> None:
    """``failing`` after the fourth failure, ``dead`` when given up, ``recovered`` after both."""
    job = settled.job
    if is_reserved(job.row["event_type"]):
        return  # never announce the fate of an announcement: no feedback loops
    if settled.status == JobStatus.DEAD:
        kind = "dead"
    elif settled.status == JobStatus.DONE and job.attempts > FAILING_AFTER:
        kind = "recovered"
    elif settled.status == JobStatus.PENDING and job.attempts == FAILING_AFTER:
        kind = "failing"
    else:
        return
    await announce(
        conn,
        job.row["tenant_id"],
        f"hookline.delivery.{kind}",
        {
            "delivery_id": str(job.id),
            "event_id": str(job.row["event_id"]),
            "event_type": job.row["event_type"],
            "endpoint_id": str(job.row["endpoint_id"]),
            "attempts": job.attempts,
            "last_status_code": result.status_code,
            "last_error": result.error,
        },
    )


#: The attempts counter's children, looked up once rather than by label on every attempt.
_ATTEMPTS_SUCCEEDED = DELIVERY_ATTEMPTS.labels(AttemptOutcome.SUCCEEDED)
_ATTEMPTS_FAILED = DELIVERY_ATTEMPTS.labels(AttemptOutcome.FAILED)


def _observe(attempted: Sequence[tuple[SettledJob, AttemptRecord]]) -> None:
    """A settled batch's attempts in the metrics; the counters once for the batch (each
    increment takes a lock)."""
    succeeded = dead = 0
    for settled, record in attempted:
        result = record.result
        ATTEMPT_SECONDS.observe(result.duration_ms / 1000)
        dead += settled.status == JobStatus.DEAD
        if result.succeeded:
            succeeded += 1
            published = uuid7_time(settled.job.row["event_id"])
            DELIVERY_LAG_SECONDS.observe((result.started_at - published).total_seconds())
    if succeeded:
        _ATTEMPTS_SUCCEEDED.inc(succeeded)
    if failed := len(attempted) - succeeded:
        _ATTEMPTS_FAILED.inc(failed)
    if dead:
        DELIVERIES_DEAD.inc(dead)


def _log_attempt(job: Job, result: SendResult) -> None:
    """Failures at INFO for on-call; successes at DEBUG (one line per delivery is costly, and so
    is building its fields: they are built only when the line is written)."""
    level = logging.DEBUG if result.succeeded else logging.INFO
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "delivery.attempt",
        extra={
            "delivery_id": str(job.id),
            "event_id": str(job.row["event_id"]),
            "endpoint_id": str(job.row["endpoint_id"]),
            "attempt": job.attempts,
            "status_code": result.status_code,
            "duration_ms": result.duration_ms,
            "error_class": result.error_class,
        },
    )

"""The worker side of Hookline: which queues a worker process serves, and with what handlers."""

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.db import asyncpg_dsn
from app.delivery.aiohttp_sender import AiohttpSender
from app.delivery.bodies import EventBodies
from app.delivery.directory import EndpointDirectory
from app.delivery.egress import Proxy
from app.delivery.fanout import FanOut
from app.delivery.http import Http11Sender
from app.delivery.oauth2 import BearerTokens
from app.delivery.oauth2_token import TOKEN_BODY_BYTES
from app.delivery.policy import Policies
from app.delivery.queue import DELIVERIES
from app.delivery.ratelimit import RateLimiter
from app.delivery.schedule import DeliverySchedule
from app.delivery.sender import Sender
from app.delivery.worker import USER_AGENT, DeliveryContext, DeliveryHandler
from app.endpoints.ssrf import TargetGuard
from app.events.outbox import EVENTS
from app.inbound.handlers import registered
from app.inbound.queue import INBOX
from app.inbound.worker import InboxHandler
from app.ops.retention import retention_tasks
from app.queue.config import WorkerConfig
from app.queue.consumer import ConsumerOptions
from app.queue.handoff import Handoff
from app.queue.runtime import Binding, WorkerRuntime
from app.queue.supervision import LoopWatch
from app.replays.queue import REPLAYS
from app.replays.worker import ReplayHandler, ReplayLimits
from app.settings import Settings

if TYPE_CHECKING:  # imported only while tracing is on (app/tracing.py)
    from app.delivery.tracing import DeliveryTracing
    from app.otel import Tracing

#: How long a delivery's outcome may wait for others before its batch is written
#: (``ConsumerOptions.settle_linger``; measured in bench/README.md, "Scale-out").
SETTLE_LINGER = timedelta(milliseconds=50)
#: Handed-over deliveries that may wait for a slot, per slot of the fresh-delivery consumer
#: (measured against 4 in bench/README.md, "A paced fan-out").
HANDOFF_BACKLOG_SLOTS = 16
#: Fan-out transactions that may run at once: each waits on several round trips, and one at a
#: time queued each publish behind the last one's (bench/README.md, "Latency, stage by stage").
FAN_OUT_TRANSACTIONS = 4


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        concurrency=settings.worker_concurrency,
        lease=settings.lease,
        poll_interval=settings.poll_interval,
        heartbeat_interval=settings.heartbeat_interval,
        worker_timeout=settings.worker_timeout,
        drain_timeout=settings.drain_timeout,
        stuck_after=settings.stuck_after,
    )


def sender(
    settings: Settings,
    guard: TargetGuard,
    tracing: "DeliveryTracing | None" = None,
    *,
    body_limit: int | None = None,
) -> Sender:
    """The delivery HTTP client ``HOOKLINE_SENDER`` names, with the attempt bounds, reading
    ``body_limit`` bytes of a response (by default ``HOOKLINE_RESPONSE_BODY_BYTES``); with
    ``tracing``, an HTTP client span for each request. Both go through the deployment's
    egress proxy, if it has one."""
    proxy = settings.egress_proxy
    kind: Callable[..., Sender] = Http11Sender
    if settings.sender == "aiohttp":  # traced by the aiohttp instrumentation's trace config
        configs = () if tracing is None else tracing.aiohttp_trace_configs()
        kind = partial(AiohttpSender, trace_configs=configs)
    chosen = kind(
        guard,
        connect_timeout=settings.connect_timeout,
        total_timeout=settings.request_timeout,
        body_limit=body_limit or settings.response_body_bytes,
        proxy=None if proxy is None else Proxy.of_url(proxy.get_secret_value(), trusted=True),
    )
    if tracing is None or settings.sender == "aiohttp":
        return chosen
    return tracing.client_spans(chosen)


def delivery_tracing(tracing: "Tracing | None") -> "DeliveryTracing | None":
    """The fan-out's and the deliveries' spans, while tracing is on."""
    if tracing is None:
        return None
    from app.delivery.tracing import DeliveryTracing  # OpenTelemetry: only when tracing is on

    return DeliveryTracing(tracing)


def bindings(
    settings: Settings, engine: AsyncEngine, tracing: "Tracing | None" = None
) -> list[Binding]:
    """Every queue a worker serves, with its handler and claim options; ``tracing`` is the
    process's (None while off)."""
    if settings.secret_key is None:
        raise ValueError("settings.secret_key is required to sign deliveries")
    guard = TargetGuard(settings.target_networks)
    policies = Policies.of_settings(settings)
    retry = policies.default.retry
    # One directory per process: the delivery consumers and fan-out share its refreshes.
    directory = EndpointDirectory(
        engine,
        SecretBox(settings.secret_key.get_secret_value()),
        refresh=settings.endpoint_refresh,
        policies=policies,
    )
    bodies = EventBodies(engine)
    traced = delivery_tracing(tracing)
    context = DeliveryContext(
        engine=engine,
        directory=directory,
        sender=sender(settings, guard, traced),
        schedule=DeliverySchedule(retry, min_after_overload=settings.retry_min_after_overload),
        limiter=RateLimiter(),
        bodies=bodies,
        tracing=traced,
        # Token responses are read whole (one byte past the cap shows a larger one).
        tokens=BearerTokens(
            sender(settings, guard, body_limit=TOKEN_BODY_BYTES + 1), user_agent=USER_AGENT
        ),
    )
    share = max(1, settings.worker_concurrency // 4)
    # Fan-out inserts the fresh deliveries this process owns already claimed for its consumer.
    handoff = Handoff(DELIVERIES)

    def deliveries(lane: str | None, *, ordered: bool, concurrency: int) -> Binding:
        # Unordered lanes let outcomes gather before a settle; the ordered consumer's next
        # claim of a key waits on the settle of the one before.
        return Binding(
            DELIVERIES,
            DeliveryHandler(context, ordered=ordered),
            ConsumerOptions(
                partitioned=True,  # one worker owns an endpoint: local ordering and rate limits
                ordered=ordered,
                lane=lane,
                filter_keys=True,
                concurrency=concurrency,
                # Fresh deliveries the fan-out hands over wait, claimed, for a slot: enough to
                # cover its round trips on a busy loop (bench/README.md, "A paced fan-out").
                handoff_backlog=HANDOFF_BACKLOG_SLOTS * concurrency if lane == "first" else 0,
                retry=retry,
                settle_linger=timedelta(0) if ordered else SETTLE_LINGER,
            ),
            handoff=handoff if lane == "first" else None,
        )

    return [
        # Fan-out is database work only: big batches, one transaction each, a few at once.
        Binding(
            EVENTS,
            FanOut(directory, bodies, handoff=handoff, tracing=traced),
            ConsumerOptions(concurrency=500, retry=retry, settle_concurrency=FAN_OUT_TRANSACTIONS),
            feeds=handoff,
        ),
        deliveries("first", ordered=False, concurrency=settings.worker_concurrency),
        deliveries("retry", ordered=False, concurrency=share),
        deliveries(None, ordered=True, concurrency=share),
        Binding(
            REPLAYS,
            ReplayHandler(
                engine,
                ReplayLimits(
                    batch=settings.replay_batch,
                    rows_per_second=settings.replay_rows_per_second,
                    default_attempts=retry.max_attempts,
                ),
            ),
            # A replay runs for minutes: two at a time, each throttled on its own.
            ConsumerOptions(concurrency=2, retry=retry),
        ),
        Binding(
            INBOX,
            InboxHandler(engine, registered(settings.inbound_handlers)),
            ConsumerOptions(retry=retry),
        ),
    ]


def build_runtime(
    settings: Settings,
    engine: AsyncEngine,
    database_url: str,
    watch: LoopWatch | None = None,
    tracing: "Tracing | None" = None,
) -> WorkerRuntime:
    return WorkerRuntime(
        engine,
        asyncpg_dsn(database_url),
        worker_config(settings),
        bindings(settings, engine, tracing),
        maintenance=retention_tasks(
            attempts=settings.attempt_retention, events=settings.event_retention
        ),
        watch=watch,
    )

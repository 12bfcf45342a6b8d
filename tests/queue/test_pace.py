"""A consumer whose handler inserts rows claimed for another consumer of its process (the
fan-out feeding deliveries) claims no more than those rows fit in; handed-over rows beyond the
free slots wait, claimed and renewed, in the fed consumer's backlog."""

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.queue.consumer import ConsumerOptions, JobHandler, SettledJob
from app.queue.handoff import Handoff
from app.queue.jobs import Done, Job, Outcome
from app.queue.metrics import HANDOFF_ROWS
from app.queue.queue import Queue
from app.queue.runtime import Binding, WorkerRuntime
from app.queue.schema import notify_on_insert_ddl
from tests.queue.conftest import Workers
from tests.queue.sample import Gated, RecordingHandler, SampleTarget, enqueue, status_counts
from tests.waiting import wait_until


@pytest.fixture
async def target(engine: AsyncEngine, queue: Queue) -> Queue:
    """The fed queue; ``queue`` has created its table with its own."""
    del queue
    async with engine.begin() as conn:
        await conn.exec_driver_sql(notify_on_insert_ddl(SampleTarget.__tablename__))
    return Queue(SampleTarget.__table__)  # type: ignore[arg-type]


class Feeder(JobHandler):
    """Each job inserts ``rows_per_job`` rows into the fed queue as it is settled, all of them
    wanted claimed: the fan-out's way of handing deliveries over."""

    def __init__(self, handoff: Handoff, rows_per_job: int) -> None:
        self.handoff = handoff
        self.rows_per_job = rows_per_job

    async def handle(self, job: Job) -> Outcome:
        del job
        return Done()  # the rows go in as the job is settled

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        rows = [
            {"payload": f"{s.job.row['payload']}.{i}"}
            for s in settled
            for i in range(self.rows_per_job)
        ]
        await self.handoff.insert(conn, rows, [True] * len(rows), jobs=len(settled))

    def after_settle(self, conn: AsyncConnection, *, committed: bool) -> None:
        self.handoff.finish(conn, committed=committed)


def _handed_over(queue: Queue) -> dict[str, float]:
    return {
        how: HANDOFF_ROWS.labels(queue.name, how)._value.get() for how in ("claimed", "pending")
    }


async def _start_pair(
    start_worker: Workers,
    queue: Queue,
    target: Queue,
    fed: RecordingHandler,
    *,
    rows_per_job: int,
    fed_concurrency: int,
    **config: object,
) -> None:
    handoff = Handoff(target)
    await start_worker.start(
        [
            Binding(
                queue,
                Feeder(handoff, rows_per_job),
                ConsumerOptions(concurrency=50),
                feeds=handoff,
            ),
            Binding(target, fed, ConsumerOptions(concurrency=fed_concurrency), handoff=handoff),
        ],
        **config,
    )


async def test_a_feeder_claims_only_what_the_fed_consumer_has_room_for(
    engine: AsyncEngine, queue: Queue, target: Queue, start_worker: Workers
) -> None:
    fed = RecordingHandler(open_gate=False)
    await _start_pair(start_worker, queue, target, fed, rows_per_job=2, fed_concurrency=4)
    before = _handed_over(target)

    await enqueue(engine, queue, [{"payload": f"e{i}"} for i in range(10)])

    # Room for 4 rows, one row per job expected at first: 4 jobs claimed, their 8 rows
    # inserted, 4 of them claimed straight away; the fed consumer is then full, so the other
    # 6 jobs stay in their queue instead of piling up rows in the next.
    await wait_until(lambda: _counts_are(engine, queue, {"done": 4, "pending": 6}))
    await wait_until(lambda: _counts_are(engine, target, {"processing": 4, "pending": 4}))
    after = _handed_over(target)
    assert (after["claimed"] - before["claimed"], after["pending"] - before["pending"]) == (4, 4)

    fed.gate.set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 10}))
    await wait_until(lambda: _counts_are(engine, target, {"done": 20}))
    assert sorted(job.row["payload"] for job in fed.seen) == sorted(
        f"e{i}.{r}" for i in range(10) for r in range(2)
    )


async def test_a_feeder_paced_by_a_stuck_consumer_goes_on_after_a_poll_interval(
    engine: AsyncEngine, queue: Queue, target: Queue, start_worker: Workers
) -> None:
    fed = RecordingHandler(open_gate=False)  # never frees a slot
    await _start_pair(
        start_worker,
        queue,
        target,
        fed,
        rows_per_job=1,
        fed_concurrency=2,
        poll_interval=timedelta(milliseconds=200),
    )

    for batch in range(3):  # three bursts, each after the fed consumer is long full
        await enqueue(engine, queue, [{"payload": f"b{batch}.{i}"} for i in range(5)])
        await wait_until(lambda n=batch: _counts_are(engine, queue, {"done": 5 * (n + 1)}))

    assert await status_counts(engine, target) == {"processing": 2, "pending": 13}
    fed.gate.set()
    await wait_until(lambda: _counts_are(engine, target, {"done": 15}))


async def test_handed_over_rows_beyond_the_free_slots_wait_claimed_for_one(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    payloads = [str(i) for i in range(6)]
    runtime = await _handed_over_to(start_worker, handler, payloads, backlog=3, concurrency=2)

    rows = await _rows(engine, queue)
    assert [rows[str(i)] for i in range(6)] == [("processing", runtime.id)] * 5 + [
        ("pending", None)
    ]
    await wait_until(lambda: _true(len(handler.seen) == 2))

    handler.gate.set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 6}))
    assert handler.most_running == 2
    assert [job.row["payload"] for job in handler.seen[:5]] == ["0", "1", "2", "3", "4"]


async def test_a_draining_consumer_hands_its_backlog_back_untried(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    runtime = await _handed_over_to(
        start_worker,
        handler,
        [str(i) for i in range(4)],
        backlog=3,
        concurrency=1,
        drain_timeout=timedelta(milliseconds=100),
    )
    await wait_until(lambda: _true(len(handler.seen) == 1))
    assert set((await _rows(engine, queue)).values()) == {("processing", runtime.id)}

    await start_worker.stop(runtime)

    assert await status_counts(engine, queue) == {"pending": 4}
    assert [job.row["payload"] for job in handler.seen] == ["0"]  # the others never ran
    async with engine.connect() as conn:
        attempts = await conn.scalars(text(f"SELECT attempts FROM {queue.name}"))
        assert set(attempts) == {0}  # a release gives the attempt back


async def test_rows_waiting_in_the_backlog_keep_their_lease(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    await _handed_over_to(
        start_worker,
        handler,
        ["runs", "waits"],
        backlog=2,
        concurrency=1,
        lease=timedelta(seconds=3),
    )
    first = await _lease_expiry(engine, queue, "waits")

    await wait_until(lambda: _lease_renewed(engine, queue, "waits", first))
    async with engine.begin() as conn:
        assert await queue.reap(conn) == {}  # nothing has expired, waiting or not
    handler.gate.set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 2}))


async def test_rows_pending_in_the_table_take_turns_with_the_backlog(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    """Rows another worker inserted pending for this one must not wait until the backlog is
    empty: once a claim is due (here: a poll interval without one), a freed slot goes to it."""
    handler = Gated()
    runtime = await _handed_over_to(
        start_worker,
        handler,
        [f"h{i}" for i in range(6)],  # two run, four wait
        backlog=4,
        concurrency=2,
        poll_interval=timedelta(milliseconds=100),
    )
    consumer = runtime.consumers[0]
    await enqueue(engine, queue, [{"payload": "p0"}, {"payload": "p1"}])
    await wait_until(lambda: _true(handler.started == ["h0", "h1"] and consumer._claim_first()))

    handler.gate("h0").set()
    handler.gate("h1").set()
    # One slot goes to a claim, the other to the backlog; the backlog's rows wait at their gates.
    await wait_until(lambda: _true(len(handler.started) == 4))
    assert sorted(handler.started[2:]) == ["h2", "p0"]

    for payload in ("h2", "h3", "h4", "h5", "p0", "p1"):
        handler.gate(payload).set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 8}))


async def _handed_over_to(
    start_worker: Workers,
    handler: JobHandler,
    payloads: Sequence[str],
    *,
    backlog: int,
    **config: object,
) -> WorkerRuntime:
    """A runtime whose consumer keeps up to ``backlog`` handed-over rows waiting, once rows
    of ``payloads`` were inserted for it through a handoff, all of them wanted claimed."""
    handoff = Handoff(start_worker.queue)
    runtime = await start_worker(
        handler, ConsumerOptions(handoff_backlog=backlog), handoff=handoff, **config
    )
    async with start_worker.engine.begin() as conn:
        rows = [{"payload": payload} for payload in payloads]
        await handoff.insert(conn, rows, [True] * len(rows), jobs=1)
    handoff.finish(conn, committed=True)
    return runtime


async def _rows(engine: AsyncEngine, queue: Queue) -> dict[str, tuple[str, object]]:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT payload, status, claimed_by FROM {queue.name}"))
        return {payload: (status, claimed_by) for payload, status, claimed_by in result}


async def _lease_expiry(engine: AsyncEngine, queue: Queue, payload: str) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(
            text(f"SELECT lease_expires_at FROM {queue.name} WHERE payload = :p"), {"p": payload}
        )


async def _lease_renewed(engine: AsyncEngine, queue: Queue, payload: str, first: object) -> bool:
    return await _lease_expiry(engine, queue, payload) != first


async def _counts_are(engine: AsyncEngine, queue: Queue, expected: dict[str, int]) -> bool:
    return await status_counts(engine, queue) == expected


async def _true(value: bool) -> bool:
    return value


class LateFeeder(Feeder):
    """A feeder whose settle, once its rows are inserted and their slots promised, waits for
    the test before it commits."""

    def __init__(self, handoff: Handoff) -> None:
        super().__init__(handoff, rows_per_job=2)
        self.inserted = asyncio.Event()
        self.commit = asyncio.Event()

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        await super().on_settled(conn, settled)
        self.inserted.set()
        await self.commit.wait()


async def test_rows_a_feeder_hands_over_while_the_worker_drains_are_handed_back(
    engine: AsyncEngine, queue: Queue, target: Queue, start_worker: Workers
) -> None:
    handoff = Handoff(target)
    feeder, fed = LateFeeder(handoff), RecordingHandler()
    runtime = await start_worker.start(
        [
            Binding(queue, feeder, ConsumerOptions(), feeds=handoff),
            Binding(target, fed, ConsumerOptions(), handoff=handoff),
        ]
    )
    fed_claims = f"{runtime.consumers[1].label}.claim"
    await enqueue(engine, queue, [{"payload": "last"}])
    async with asyncio.timeout(20):
        await feeder.inserted.wait()  # its rows are promised to the fed consumer, uncommitted

    stopping = asyncio.create_task(start_worker.stop(runtime))
    await wait_until(lambda: _true(fed_claims not in runtime.watch._loops))  # it stopped
    feeder.commit.set()  # the fan-out commits after the fed consumer began to drain
    await stopping

    async with engine.connect() as conn:
        left = await conn.execute(text(f"SELECT status, claimed_by, attempts FROM {target.name}"))
        assert {tuple(row) for row in left} == {("pending", None, 0)}  # handed back untried
    assert fed.seen == []

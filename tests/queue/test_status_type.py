"""A queue table's status loads as a member of its enums: the core's, and the queue's own."""

from enum import StrEnum

import pytest
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase

from app.queue.queue import Queue
from app.queue.schema import JobStatus, QueueColumns


class ExtraState(StrEnum):
    PARKED = "parked"


class ExtendedBase(DeclarativeBase):
    metadata = MetaData()


class ExtendedJob(QueueColumns[JobStatus | ExtraState], ExtendedBase):
    __tablename__ = "extended_jobs"


@pytest.fixture
async def extended(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.run_sync(ExtendedBase.metadata.create_all)
    return engine


async def test_the_core_states_and_the_queue_own_load_as_their_members(
    extended: AsyncEngine,
) -> None:
    table = ExtendedJob.__table__
    async with extended.begin() as conn:
        await conn.execute(insert(table), [{"status": JobStatus.DEAD}, {"status": "parked"}])
        loaded = set((await conn.execute(select(table.c.status))).scalars())

    assert {type(status) for status in loaded} == {JobStatus, ExtraState}
    assert loaded == {JobStatus.DEAD, ExtraState.PARKED}


async def test_a_bare_queue_table_holds_the_core_states(queue: Queue, engine: AsyncEngine) -> None:
    table = queue.table  # the sample table: QueueColumns without a type argument
    async with engine.begin() as conn:
        await conn.execute(insert(table), [{"payload": "x"}])
        status = (await conn.execute(select(table.c.status))).scalar_one()

    assert status is JobStatus.PENDING


async def test_a_state_outside_the_enums_fails_both_ways(extended: AsyncEngine) -> None:
    table = ExtendedJob.__table__
    async with extended.begin() as conn:
        with pytest.raises(StatementError, match="'skipped' is not one of"):
            await conn.execute(select(table).where(table.c.status == "skipped"))
        await conn.execute(
            text("INSERT INTO extended_jobs (id, status) VALUES (gen_random_uuid(), 'new')")
        )
        with pytest.raises(ValueError, match="'new' is not one of"):
            (await conn.execute(select(table.c.status))).scalars().all()


def test_a_status_type_without_the_core_states_is_refused() -> None:
    class Alone(DeclarativeBase):
        metadata = MetaData()

    with pytest.raises(TypeError, match="must include JobStatus"):

        class Parked(QueueColumns[ExtraState], Alone):
            __tablename__ = "parked_jobs"

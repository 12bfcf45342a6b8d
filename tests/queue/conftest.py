"""Every queue test gets the sample queue table in its own database."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.queue import Queue
from app.queue.schema import notify_on_insert_ddl
from tests.queue.sample import SampleBase, SampleJob


@pytest.fixture
async def queue(engine: AsyncEngine) -> Queue:
    async with engine.begin() as conn:
        await conn.run_sync(SampleBase.metadata.create_all)
        await conn.exec_driver_sql(notify_on_insert_ddl(SampleJob.__tablename__))
    return Queue(SampleJob.__table__)  # type: ignore[arg-type]

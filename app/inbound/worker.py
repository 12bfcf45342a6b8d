"""The inbox worker: runs each message's handlers, retried and dead-lettered like any queue.

Python handlers run outside any transaction. ``republish`` runs in the transaction that marks
the message done, publishing ``<source>.<type>`` with the message's JSON as data and the inbox id
as idempotency key, so a message is re-published exactly once however often it is retried.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.events.outbox import NewEvent, publish_on
from app.inbound.handlers import REPUBLISH, InboundHandler, InboundMessage
from app.inbound.models import InboundSource
from app.jsonsafety import UnsafeJson, check_json
from app.queue.consumer import JobHandler, SettledJob
from app.queue.jobs import Done, Job, Outcome, Retry
from app.queue.schema import JobStatus


class InboxHandler(JobHandler):
    def __init__(self, engine: AsyncEngine, handlers: Mapping[str, InboundHandler]) -> None:
        self.engine = engine
        self.handlers = handlers

    async def _source(self, source_id: uuid.UUID) -> Any:
        async with self.engine.connect() as conn:
            table = InboundSource.__table__
            return (await conn.execute(select(table).where(table.c.id == source_id))).one()

    async def handle(self, job: Job) -> Outcome:
        source = await self._source(job.row["source_id"])
        message = InboundMessage(
            id=str(job.id),
            source=source.name,
            provider=source.provider,
            event_type=job.row["event_type"],
            headers=job.row["headers"],
            body=job.row["body"],
        )
        for name in source.handlers:
            if name == REPUBLISH:
                continue  # in on_settled, inside the completing transaction
            handler = self.handlers.get(name)
            if handler is None:
                return Retry(error=f"handler {name!r} is not registered in this worker")
            await handler(message)
        return Done(detail=source)

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        for item in settled:
            source = getattr(item.outcome, "detail", None)
            if item.status != JobStatus.DONE or source is None or REPUBLISH not in source.handlers:
                continue
            await publish_on(
                conn,
                item.job.row["tenant_id"],
                [
                    NewEvent(
                        type=f"{source.name}.{item.job.row['event_type']}",
                        data=_as_object(item.job.row["body"]),
                        idempotency_key=f"inbox:{item.job.id}",
                    )
                ],
                returning=("id",),
            )


def _as_object(body: bytes) -> dict[str, Any]:
    """Event data must be a JSON object PostgreSQL can store: a JSON object as is, any other JSON
    value wrapped, and a body that is not JSON or not storable as JSON (NUL, huge numbers, deep
    nesting: see app.jsonsafety) wrapped as its text, so every verified message is re-published
    once instead of failing on each retry."""
    try:
        parsed = orjson.loads(body)
        data = parsed if isinstance(parsed, dict) else {"body": parsed}
        check_json(data)
    except (orjson.JSONDecodeError, UnsafeJson):
        text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        return {"body": text}
    return data

"""The yardstick for the publish benchmark: a minimal FastAPI app doing one asyncpg INSERT.

It accepts the same bodies as ``POST /v1/events`` and ``POST /v1/events/batch``, validates them
with a plain pydantic model and stores each event with one statement (one multi-row statement for
a batch) into a scratch table on the same database, through an asyncpg pool of Hookline's size;
it checks no key, keeps no idempotency and answers no problem details. What Hookline does beyond
this is the price of its guarantees; the benchmark reports the ratio.

    HOOKLINE_BENCH_REFERENCE_DSN=postgresql://... python -m bench.reference PORT [PROCESSES]
"""

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import uvicorn
from fastapi import FastAPI, Request, status
from pydantic import BaseModel

TABLE = "bench_reference_events"
#: A row like an event's: id, tenant, type, payload, time; the primary key its one index.
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
_INSERT_ONE = f"""
INSERT INTO {TABLE} (id, tenant_id, type, data) VALUES ($1, $2, $3, $4)
RETURNING id, type, data, created_at
"""
_INSERT_MANY = f"""
INSERT INTO {TABLE} (id, tenant_id, type, data)
SELECT unnest($1::uuid[]), $2, unnest($3::text[]), unnest($4::jsonb[])
RETURNING id
"""
_TENANT = uuid.uuid4()


class EventIn(BaseModel):
    type: str
    data: dict[str, Any]


class EventOut(BaseModel):
    id: uuid.UUID
    type: str
    data: dict[str, Any]
    created_at: datetime


class BatchIn(BaseModel):
    events: list[EventIn]


class BatchOut(BaseModel):
    ids: list[uuid.UUID]


async def _jsonb(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ["HOOKLINE_BENCH_REFERENCE_DSN"]
    async with asyncpg.create_pool(dsn, min_size=1, max_size=10, init=_jsonb) as pool:
        app.state.pool = pool
        yield


def create_app() -> FastAPI:
    app = FastAPI(lifespan=_lifespan)

    @app.post("/v1/events", status_code=status.HTTP_201_CREATED, response_model=EventOut)
    async def publish(body: EventIn, request: Request) -> Any:
        pool: asyncpg.Pool = request.app.state.pool
        row = await pool.fetchrow(_INSERT_ONE, uuid.uuid4(), _TENANT, body.type, body.data)
        return dict(row)

    @app.post("/v1/events/batch", response_model=BatchOut)
    async def publish_batch(body: BatchIn, request: Request) -> BatchOut:
        pool: asyncpg.Pool = request.app.state.pool
        rows = await pool.fetch(
            _INSERT_MANY,
            [uuid.uuid4() for _ in body.events],
            _TENANT,
            [event.type for event in body.events],
            [event.data for event in body.events],
        )
        return BatchOut(ids=[row["id"] for row in rows])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    port, processes = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1
    # The settings `hookline api` serves with (app/cli.py): uvicorn's defaults otherwise.
    uvicorn.run(
        "bench.reference:create_app",
        factory=True,
        workers=processes,
        host="127.0.0.1",
        port=port,
        log_config=None,
    )


if __name__ == "__main__":
    main()

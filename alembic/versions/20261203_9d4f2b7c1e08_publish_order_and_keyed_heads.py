"""publish order for ordered endpoints; in-flight indexes led by the partition key

Revision ID: 9d4f2b7c1e08
Revises: 5b1e7c2d9a44
Create Date: 2026-12-03 00:00:00

Ordered endpoints follow their events' publish order, `(xact, seq)` on `events` (see
app/events/models.py), copied onto each delivery, instead of delivery ids that whichever worker
fanned out happened to draw. Adding `seq` (an identity) and `xact` (with a volatile default)
rewrites `events` once; existing events share the migration's `xact`, so among them `seq`
(their physical order) decides. Unfinished deliveries are given their event's order; finished
ones keep NULL, which no claim reads unless they are replayed.

The ordered claim reads each key's head from the keyed index, now built on that order, and asks
the in-flight index whether the key has a row running, so every queue's in-flight index is now
led by the partition key.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "9d4f2b7c1e08"
down_revision: str | None = "5b1e7c2d9a44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_TABLES = ("events", "deliveries", "inbox_messages")
UNFINISHED = "status IN ('pending', 'processing')"
XACT_ID = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)"


def _in_flight_index(table: str, columns: list[str]) -> None:
    op.drop_index(f"ix_{table}_in_flight", table_name=table)
    op.create_index(
        f"ix_{table}_in_flight",
        table,
        columns,
        postgresql_where=sa.text("status = 'processing'"),
    )


def _keyed_index(columns: list[str]) -> None:
    op.drop_index("ix_deliveries_keyed", table_name="deliveries")
    op.create_index(
        "ix_deliveries_keyed", "deliveries", columns, postgresql_where=sa.text(UNFINISHED)
    )


def upgrade() -> None:
    for table in QUEUE_TABLES:
        _in_flight_index(table, ["partition_key", "lease_expires_at"])
    op.add_column(
        "events",
        sa.Column("xact", sa.BigInteger(), server_default=sa.text(XACT_ID), nullable=False),
    )
    op.add_column(
        "events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
    )
    op.create_index(
        "ix_events_tenant_id_unfanned",
        "events",
        ["tenant_id", "xact", "seq"],
        postgresql_where=sa.text(UNFINISHED),
    )
    op.add_column("deliveries", sa.Column("event_xact", sa.BigInteger(), nullable=True))
    op.add_column("deliveries", sa.Column("event_seq", sa.BigInteger(), nullable=True))
    op.execute(
        f"""
        UPDATE deliveries AS d SET event_xact = e.xact, event_seq = e.seq
        FROM events AS e WHERE e.id = d.event_id AND d.{UNFINISHED}
        """
    )
    _keyed_index(["partition_key", "event_xact", "event_seq"])


def downgrade() -> None:
    _keyed_index(["partition_key", "id"])
    op.drop_column("deliveries", "event_seq")
    op.drop_column("deliveries", "event_xact")
    op.drop_index("ix_events_tenant_id_unfanned", table_name="events")
    op.drop_column("events", "seq")
    op.drop_column("events", "xact")
    for table in QUEUE_TABLES:
        _in_flight_index(table, ["lease_expires_at"])

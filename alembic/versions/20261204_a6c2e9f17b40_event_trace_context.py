"""event trace context: the publishing request's W3C traceparent and tracestate

With tracing on, an event keeps the trace context of the request that published it, so its
fan-out and every delivery attempt join that trace (docs/observability.md). Nullable columns
without a default: added without rewriting the table, NULL for every event published before.

Revision ID: a6c2e9f17b40
Revises: a1c5e8f07b12
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "a6c2e9f17b40"
down_revision: str | None = "a1c5e8f07b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("traceparent", sa.Text(), nullable=True))
    op.add_column("events", sa.Column("tracestate", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "tracestate")
    op.drop_column("events", "traceparent")

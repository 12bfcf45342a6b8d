"""queue wake-ups: a statement-level NOTIFY trigger on every queue table

Revision ID: 3c0f2a9d1e47
Revises: 820593373ca1
Create Date: 2026-11-25 00:15:00
"""

from collections.abc import Sequence

from alembic import op
from app.queue.schema import NOTIFY_FUNCTION_DDL, notify_on_insert_ddl

revision: str = "3c0f2a9d1e47"
down_revision: str | None = "820593373ca1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_TABLES = ("events", "deliveries")


def upgrade() -> None:
    op.execute(NOTIFY_FUNCTION_DDL)
    for table in QUEUE_TABLES:
        op.execute(notify_on_insert_ddl(table))


def downgrade() -> None:
    for table in QUEUE_TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_insert ON {table}")
    op.execute("DROP FUNCTION hookline_notify_insert()")

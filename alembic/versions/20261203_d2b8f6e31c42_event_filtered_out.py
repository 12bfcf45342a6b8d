"""event filtered_out: how many endpoints an event's routing left out

The fan-out counts, per event, the endpoints subscribed to its type that its channels or their
payload filter excluded; the event's delivery summary reports it. A constant default adds the
column without rewriting the table.

Revision ID: d2b8f6e31c42
Revises: f4dab8053e64
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "d2b8f6e31c42"
down_revision: str | None = "f4dab8053e64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("filtered_out", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("events", "filtered_out")

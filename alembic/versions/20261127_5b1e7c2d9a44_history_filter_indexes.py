"""history filter indexes: deliveries by event type, attempts by status class

Revision ID: 5b1e7c2d9a44
Revises: 7e4b1d9c2a55
Create Date: 2026-11-26 00:00:00

`GET /v1/deliveries?event_type=` and `?status_class=` on attempts scanned every row of a
tenant or endpoint for a rare value (136-171 ms at a million rows, bench/history.py). Attempts
gain a stored `status_class` (a status code's hundreds, 0 without a response) so both filters
read an index newest first. Adding the column rewrites delivery_attempts once.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5b1e7c2d9a44"
down_revision: str | None = "7e4b1d9c2a55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "delivery_attempts",
        sa.Column(
            "status_class",
            sa.SmallInteger(),
            sa.Computed("COALESCE(status_code / 100, 0)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_delivery_attempts_endpoint_id_status_class_id",
        "delivery_attempts",
        ["endpoint_id", "status_class", "id"],
    )
    op.create_index(
        "ix_deliveries_tenant_id_event_type_id", "deliveries", ["tenant_id", "event_type", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_tenant_id_event_type_id", table_name="deliveries")
    op.drop_index(
        "ix_delivery_attempts_endpoint_id_status_class_id", table_name="delivery_attempts"
    )
    op.drop_column("delivery_attempts", "status_class")

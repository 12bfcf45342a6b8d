"""routing columns: event channels and metadata, endpoint channels, payload filter and
delivery policy, tenant policy defaults

Events may carry channels (up to 10 names) and a small metadata object; endpoints may subscribe
to channels and carry a payload filter; endpoints and tenants may override the retry schedule,
the request timeout and the disable-after window (NULL: inherit, endpoint → tenant → settings).
The endpoint columns workers use join the list whose updates move ``config_xid``.

Revision ID: b7d3e1a4c920
Revises: 4a8c6e2f9b13
Create Date: 2026-12-03 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "b7d3e1a4c920"
down_revision: str | None = "4a8c6e2f9b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORKER_COLUMNS = (
    "tenant_id, url, event_types, sealed_headers, status, rate_limit_per_second, ordered, "
    "config_xid"
)
_NEW_WORKER_COLUMNS = "channels, filter, retry_schedule, timeout_seconds, disable_after_seconds"


def _config_trigger(columns: str) -> str:
    return f"""
    CREATE TRIGGER endpoints_config_changed
    BEFORE INSERT OR UPDATE OF {columns}
    ON endpoints FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_changed()
    """


def _policy_columns() -> list[sa.Column]:
    return [
        sa.Column("retry_schedule", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=True),
        sa.Column("disable_after_seconds", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("channels", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column(
        "events",
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("endpoints", sa.Column("channels", postgresql.ARRAY(sa.Text()), nullable=True))
    op.add_column(
        "endpoints", sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    for column in _policy_columns():
        op.add_column("endpoints", column)
    for column in _policy_columns():
        op.add_column("tenants", column)
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(f"{_WORKER_COLUMNS}, {_NEW_WORKER_COLUMNS}"))


def downgrade() -> None:
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(_WORKER_COLUMNS))
    for name in ("retry_schedule", "timeout_seconds", "disable_after_seconds"):
        op.drop_column("tenants", name)
        op.drop_column("endpoints", name)
    op.drop_column("endpoints", "filter")
    op.drop_column("endpoints", "channels")
    op.drop_column("events", "metadata")
    op.drop_column("events", "channels")

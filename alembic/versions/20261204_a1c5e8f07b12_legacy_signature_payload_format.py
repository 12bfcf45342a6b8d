"""legacy signature and payload format per endpoint

An endpoint may send an extra signature in GitHub's or Stripe's form beside the Standard
Webhooks headers (``legacy_signature``: scheme, header and sealed secrets, JSON) and choose the
body of its deliveries (``payload_format``: envelope, data or thin). Workers use both, so they
join the columns whose updates move ``config_xid``. Existing endpoints keep today's envelope
and no legacy signature.

Revision ID: a1c5e8f07b12
Revises: d2b8f6e31c42
Create Date: 2026-12-04 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "a1c5e8f07b12"
down_revision: str | None = "d2b8f6e31c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORKER_COLUMNS = (
    "tenant_id, url, event_types, sealed_headers, status, rate_limit_per_second, ordered, "
    "config_xid, channels, filter, retry_schedule, timeout_seconds, disable_after_seconds"
)


def _config_trigger(columns: str) -> str:
    return f"""
    CREATE TRIGGER endpoints_config_changed
    BEFORE INSERT OR UPDATE OF {columns}
    ON endpoints FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_changed()
    """


def upgrade() -> None:
    op.add_column(
        "endpoints",
        sa.Column("legacy_signature", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "endpoints",
        sa.Column("payload_format", sa.Text(), server_default="envelope", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_endpoints_payload_format"),
        "endpoints",
        "payload_format IN ('envelope', 'data', 'thin')",
    )
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(f"{_WORKER_COLUMNS}, legacy_signature, payload_format"))


def downgrade() -> None:
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(_WORKER_COLUMNS))
    op.drop_constraint(op.f("ck_endpoints_payload_format"), "endpoints", type_="check")
    op.drop_column("endpoints", "payload_format")
    op.drop_column("endpoints", "legacy_signature")

"""endpoint oauth2: the client credentials deliveries fetch a bearer token with

``endpoints.oauth2`` (JSONB, NULL: none) holds the token URL, client id, scope, audience and
authentication method, and the client secret sealed (app/endpoints/oauth2.py). Workers use it,
so it joins the columns whose updates move ``config_xid``. Existing endpoints get NULL: no
data changes.

Revision ID: a6e2c9d41f07
Revises: a6c2e9f17b40
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "a6e2c9d41f07"
down_revision: str | None = "a6c2e9f17b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORKER_COLUMNS = (
    "tenant_id, url, event_types, sealed_headers, status, rate_limit_per_second, ordered, "
    "config_xid, channels, filter, retry_schedule, timeout_seconds, disable_after_seconds, "
    "legacy_signature, payload_format"
)


def _config_trigger(columns: str) -> str:
    return f"""
    CREATE TRIGGER endpoints_config_changed
    BEFORE INSERT OR UPDATE OF {columns}
    ON endpoints FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_changed()
    """


def upgrade() -> None:
    op.add_column(
        "endpoints", sa.Column("oauth2", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(f"{_WORKER_COLUMNS}, oauth2"))


def downgrade() -> None:
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(_WORKER_COLUMNS))
    op.drop_column("endpoints", "oauth2")

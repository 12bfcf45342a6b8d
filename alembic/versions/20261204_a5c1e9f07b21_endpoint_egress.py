"""endpoint egress: mTLS client certificates, pinned CAs and egress proxies

An endpoint may present a client certificate (its key sealed), pin the CAs its receiver's
certificate must chain to, and name its own egress proxy (credentials sealed) or bypass the
deployment's. Workers use all of them, so they join the columns whose updates move
``config_xid``. Existing endpoints keep delivering as before: every new column is NULL or false.

Revision ID: a5c1e9f07b21
Revises: a6e2c9d41f07
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "a5c1e9f07b21"
down_revision: str | None = "a6e2c9d41f07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORKER_COLUMNS = (
    "tenant_id, url, event_types, sealed_headers, status, rate_limit_per_second, ordered, "
    "config_xid, channels, filter, retry_schedule, timeout_seconds, disable_after_seconds, "
    "legacy_signature, payload_format, oauth2"
)
_NEW_WORKER_COLUMNS = (
    "tls_client_certificate, sealed_tls_client_key, tls_ca_bundle, proxy_url, "
    "sealed_proxy_credentials, proxy_bypass"
)


def _config_trigger(columns: str) -> str:
    return f"""
    CREATE TRIGGER endpoints_config_changed
    BEFORE INSERT OR UPDATE OF {columns}
    ON endpoints FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_changed()
    """


def upgrade() -> None:
    op.add_column("endpoints", sa.Column("tls_client_certificate", sa.Text(), nullable=True))
    op.add_column("endpoints", sa.Column("sealed_tls_client_key", sa.LargeBinary(), nullable=True))
    op.add_column("endpoints", sa.Column("tls_ca_bundle", sa.Text(), nullable=True))
    op.add_column("endpoints", sa.Column("proxy_url", sa.Text(), nullable=True))
    op.add_column(
        "endpoints", sa.Column("sealed_proxy_credentials", sa.LargeBinary(), nullable=True)
    )
    op.add_column(
        "endpoints",
        sa.Column("proxy_bypass", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(f"{_WORKER_COLUMNS}, {_NEW_WORKER_COLUMNS}"))


def downgrade() -> None:
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute(_config_trigger(_WORKER_COLUMNS))
    for name in reversed(_NEW_WORKER_COLUMNS.split(", ")):
        op.drop_column("endpoints", name)

"""endpoint change tracking: a change transaction id per endpoint and tombstones for deletions

Workers keep every endpoint in memory and refresh only what changed (see
app/delivery/directory.py for why this is exact). ``endpoints.config_xid`` is the id of the
transaction that last changed what a worker uses (url, status, subscriptions, headers, limits,
ordering, or a signing secret), set by triggers, never by the application; health bookkeeping
(``failing_since``, ``last_success_at``) does not move it. ``endpoint_tombstones`` records each
deleted endpoint, also deletions cascaded from a tenant, with the deleting transaction's id.

Revision ID: 7e4b1d9c2a55
Revises: 19faa8e0318b
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "7e4b1d9c2a55"
down_revision: str | None = "19faa8e0318b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The current transaction's id as a bigint (xid8 has no cast to bigint, text does).
_XID = "pg_current_xact_id()::text::bigint"

_FUNCTIONS = (
    f"""
    CREATE FUNCTION hookline_endpoint_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.config_xid := {_XID};
        RETURN NEW;
    END $$
    """,
    f"""
    CREATE FUNCTION hookline_endpoint_secret_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE endpoints SET config_xid = {_XID}
        WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.endpoint_id ELSE NEW.endpoint_id END;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION hookline_endpoint_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO endpoint_tombstones (endpoint_id, deleted_xid) VALUES (OLD.id, {_XID})
        ON CONFLICT (endpoint_id) DO UPDATE SET deleted_xid = EXCLUDED.deleted_xid;
        RETURN NULL;
    END $$
    """,
)
_TRIGGERS = (
    # UPDATE OF: only statements that set a column workers use; health updates do not fire it.
    """
    CREATE TRIGGER endpoints_config_changed
    BEFORE INSERT OR UPDATE OF tenant_id, url, event_types, sealed_headers, status,
        rate_limit_per_second, ordered, config_xid
    ON endpoints FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_changed()
    """,
    """
    CREATE TRIGGER endpoint_secrets_changed
    AFTER INSERT OR UPDATE OR DELETE ON endpoint_secrets
    FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_secret_changed()
    """,
    """
    CREATE TRIGGER endpoints_deleted
    AFTER DELETE ON endpoints FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_deleted()
    """,
)


def upgrade() -> None:
    # Existing rows get 0: older than any change a running worker could have missed.
    op.add_column(
        "endpoints",
        sa.Column("config_xid", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.alter_column("endpoints", "config_xid", server_default=None)
    op.create_index("ix_endpoints_config_xid", "endpoints", ["config_xid"])
    op.create_table(
        "endpoint_tombstones",
        sa.Column("endpoint_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("deleted_xid", sa.BigInteger(), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_index("ix_endpoint_tombstones_deleted_xid", "endpoint_tombstones", ["deleted_xid"])
    for statement in (*_FUNCTIONS, *_TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER endpoints_deleted ON endpoints")
    op.execute("DROP TRIGGER endpoint_secrets_changed ON endpoint_secrets")
    op.execute("DROP TRIGGER endpoints_config_changed ON endpoints")
    op.execute("DROP FUNCTION hookline_endpoint_deleted()")
    op.execute("DROP FUNCTION hookline_endpoint_secret_changed()")
    op.execute("DROP FUNCTION hookline_endpoint_changed()")
    op.drop_table("endpoint_tombstones")
    op.drop_index("ix_endpoints_config_xid", table_name="endpoints")
    op.drop_column("endpoints", "config_xid")

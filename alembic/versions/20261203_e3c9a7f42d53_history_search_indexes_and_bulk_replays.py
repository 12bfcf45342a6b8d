"""history search indexes and bulk replays

Revision ID: e3c9a7f42d53
Revises: c1a7e5d20b31
Create Date: 2026-12-03 18:00:20

`GET /v1/events` and `GET /v1/deliveries` search events by `data_contains` (`data @> ...`) and by
`channel` (`channels @> ...`): GIN indexes on both (docs/search-and-replay.md has the plans and
what they cost batch publishing). Building them on a large events table holds writes to it for
the build, unless an operator built them beforehand with CREATE INDEX CONCURRENTLY under the
same names (they are created only if they do not exist). `replays` is a queue table (bulk replay
jobs); `deliveries.replay_id` names the replay that last queued a delivery again, so a replay's
progress is counted through a small partial index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from app.queue.schema import notify_on_insert_ddl

revision: str = "e3c9a7f42d53"
down_revision: str | None = "c1a7e5d20b31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replays",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("selection", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("create_missing", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("matched", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("enqueued", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("phase", sa.Text(), server_default="requeue", nullable=False),
        sa.Column("cursor", sa.UUID(), nullable=True),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default=sa.text("25"), nullable=False),
        sa.Column("claimed_by", sa.UUID(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("partition_key", sa.Text(), nullable=True),
        sa.Column("partition_bucket", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_replays_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replays")),
    )
    op.create_index(
        "ix_replays_dead",
        "replays",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'dead'"),
    )
    op.create_index(
        "ix_replays_in_flight",
        "replays",
        ["partition_key", "lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'processing'"),
    )
    op.create_index(
        "ix_replays_keyed",
        "replays",
        ["partition_key", "id"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.create_index(
        "ix_replays_ready",
        "replays",
        ["available_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_replays_ready_retry",
        "replays",
        ["available_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending' AND attempts > 0"),
    )
    op.create_index("ix_replays_tenant_id_id", "replays", ["tenant_id", "id"], unique=False)
    op.create_index(
        "uq_replays_idempotency_key",
        "replays",
        ["idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.execute(notify_on_insert_ddl("replays"))
    op.add_column("deliveries", sa.Column("replay_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_deliveries_replay_id_status",
        "deliveries",
        ["replay_id", "status"],
        unique=False,
        postgresql_where=sa.text("replay_id IS NOT NULL"),
    )
    op.create_index(
        "ix_events_channels",
        "events",
        ["channels"],
        unique=False,
        postgresql_using="gin",
        if_not_exists=True,  # an operator may have built it CONCURRENTLY beforehand
    )
    op.create_index(
        "ix_events_data",
        "events",
        ["data"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"data": "jsonb_path_ops"},
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_events_data",
        table_name="events",
        postgresql_using="gin",
        postgresql_ops={"data": "jsonb_path_ops"},
    )
    op.drop_index("ix_events_channels", table_name="events", postgresql_using="gin")
    op.drop_index(
        "ix_deliveries_replay_id_status",
        table_name="deliveries",
        postgresql_where=sa.text("replay_id IS NOT NULL"),
    )
    op.drop_column("deliveries", "replay_id")
    op.drop_index(
        "uq_replays_idempotency_key",
        table_name="replays",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index("ix_replays_tenant_id_id", table_name="replays")
    op.drop_index(
        "ix_replays_ready_retry",
        table_name="replays",
        postgresql_where=sa.text("status = 'pending' AND attempts > 0"),
    )
    op.drop_index(
        "ix_replays_ready", table_name="replays", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_index(
        "ix_replays_keyed",
        table_name="replays",
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.drop_index(
        "ix_replays_in_flight",
        table_name="replays",
        postgresql_where=sa.text("status = 'processing'"),
    )
    op.drop_index(
        "ix_replays_dead", table_name="replays", postgresql_where=sa.text("status = 'dead'")
    )
    op.drop_table("replays")

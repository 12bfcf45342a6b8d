"""event-type catalogue: per-tenant types with a JSON Schema and examples

``event_types`` holds each tenant's catalogue; ``event_type_changes`` one counter, bumped by a
statement trigger on every change to any catalogue, which API processes read (at most once a
second) to know when their cached validators are stale.

Revision ID: c1a7e5d20b31
Revises: b7d3e1a4c920
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "c1a7e5d20b31"
down_revision: str | None = "b7d3e1a4c920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP_FUNCTION = """
CREATE FUNCTION hookline_event_types_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_type_changes SET generation = generation + 1;
    RETURN NULL;
END $$
"""


def _flag(name: str, default: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), server_default=sa.text(default), nullable=False)


def _moment(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "event_types",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("schema", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "examples",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        _flag("deprecated", "false"),
        _flag("archived", "false"),
        _flag("validate", "true"),
        _moment("created_at"),
        _moment("updated_at"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_event_types_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_types")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_event_types_tenant_id_name")),
    )
    op.create_table(
        "event_type_changes",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_event_type_changes_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_type_changes")),
    )
    op.execute("INSERT INTO event_type_changes DEFAULT VALUES")
    op.execute(_BUMP_FUNCTION)
    op.execute(
        "CREATE TRIGGER event_types_changed AFTER INSERT OR UPDATE OR DELETE ON event_types "
        "FOR EACH STATEMENT EXECUTE FUNCTION hookline_event_types_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_types_changed ON event_types")
    op.execute("DROP FUNCTION hookline_event_types_changed()")
    op.drop_table("event_type_changes")
    op.drop_table("event_types")

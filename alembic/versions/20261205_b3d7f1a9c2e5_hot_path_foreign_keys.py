"""hot-path foreign keys: drop the three that only repeat what another key already enforces

Every row inserted into a table with a foreign key makes PostgreSQL look up and lock (FOR KEY
SHARE) the referenced row, and concurrent transactions locking one row share a MultiXact. A
delivery already references its endpoint and its event, both of which belong to the tenant; an
attempt already references its delivery. Their own ``tenant_id`` and the attempt's
``endpoint_id`` references added a lock on the tenant's row (and the endpoint's) for every
delivery and every attempt, while deleting a tenant or an endpoint removes those rows through
the remaining cascades all the same. The columns and their indexes stay.

Revision ID: b3d7f1a9c2e5
Revises: a5c1e9f07b21
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b3d7f1a9c2e5"
down_revision: str | None = "a5c1e9f07b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (constraint, table, column, referenced table)
_REDUNDANT = (
    ("fk_deliveries_tenant_id_tenants", "deliveries", "tenant_id", "tenants"),
    ("fk_delivery_attempts_tenant_id_tenants", "delivery_attempts", "tenant_id", "tenants"),
    ("fk_delivery_attempts_endpoint_id_endpoints", "delivery_attempts", "endpoint_id", "endpoints"),
)


def upgrade() -> None:
    for name, table, _, _ in _REDUNDANT:
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    # NOT VALID, then VALIDATE: the check of existing rows then takes no lock that blocks writes.
    for name, table, column, referenced in _REDUNDANT:
        op.create_foreign_key(
            name, table, referenced, [column], ["id"], ondelete="CASCADE", postgresql_not_valid=True
        )
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")

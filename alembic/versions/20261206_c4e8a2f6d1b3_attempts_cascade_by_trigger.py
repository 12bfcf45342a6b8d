"""attempts go with their delivery through a statement trigger, not a foreign key

The foreign key from ``delivery_attempts.delivery_id`` made PostgreSQL look up and lock
(FOR KEY SHARE) the delivery for every attempt inserted, yet the only writer of attempts is the
settle that has just updated, and so locked, each attempt's delivery in the same transaction:
the check could never fail. Its one remaining duty, deleting a delivery's attempts with it
(an endpoint, an event or a tenant deleted, retention), passes to a statement-level trigger on
``deliveries`` that deletes the attempts of every row the statement deleted, in one join.

Revision ID: c4e8a2f6d1b3
Revises: b3d7f1a9c2e5
Create Date: 2026-12-06 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4e8a2f6d1b3"
down_revision: str | None = "b3d7f1a9c2e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "fk_delivery_attempts_delivery_id_deliveries"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION hookline_delete_attempts() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM delivery_attempts AS a USING gone WHERE a.delivery_id = gone.id;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER deliveries_delete_attempts AFTER DELETE ON deliveries "
        "REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION hookline_delete_attempts()"
    )
    op.drop_constraint(_KEY, "delivery_attempts", type_="foreignkey")


def downgrade() -> None:
    op.execute("DROP TRIGGER deliveries_delete_attempts ON deliveries")
    op.execute("DROP FUNCTION hookline_delete_attempts()")
    # NOT VALID, then VALIDATE: the check of existing rows then takes no lock that blocks writes.
    op.create_foreign_key(
        _KEY,
        "delivery_attempts",
        "deliveries",
        ["delivery_id"],
        ["id"],
        ondelete="CASCADE",
        postgresql_not_valid=True,
    )
    op.execute(f"ALTER TABLE delivery_attempts VALIDATE CONSTRAINT {_KEY}")

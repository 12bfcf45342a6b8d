"""history cascades by statement trigger: deliveries follow their event, attempts their delivery

A foreign key makes PostgreSQL look up and lock (FOR KEY SHARE) the referenced row for every row
inserted. Two of the hot path's keys could never fail, because the writer holds the referenced
row already: the fan-out inserts an event's deliveries in the transaction that has just marked
the event fanned out (updated, and so locked, it), and the settle inserts each attempt in the
transaction that has just updated its delivery. Measured, their checks were about a tenth of
PostgreSQL's CPU per delivery (bench/README.md, "History cascades by trigger"). The other
writers lock what they reference themselves: a replay locks the events it creates deliveries
for, and a test event inserts its own. What the keys still did, deleting a delivery with its
event and an attempt with its delivery (retention, a deleted endpoint or tenant), passes to
statement-level triggers: one join per deleting statement instead of one query per row.

The delivery's key to its endpoint stays: fan-out reads endpoints from a worker's directory,
and an endpoint deleted meanwhile must fail the insert (see app/delivery/fanout.py).

What a key did and the triggers do not: refuse ``TRUNCATE events`` (it now leaves deliveries
behind), and check rows written by a delete running at REPEATABLE READ or SERIALIZABLE (its
trigger sees only its own snapshot, so a delivery a replay commits meanwhile stays). Hookline's
own deletes run at READ COMMITTED, where the trigger's statement sees what committed meanwhile.

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

#: (key, child table, its column, parent table, the trigger on the parent, its function)
_CASCADES = (
    (
        "fk_deliveries_event_id_events",
        "deliveries",
        "event_id",
        "events",
        "events_delete_deliveries",
        "hookline_delete_deliveries",
    ),
    (
        "fk_delivery_attempts_delivery_id_deliveries",
        "delivery_attempts",
        "delivery_id",
        "deliveries",
        "deliveries_delete_attempts",
        "hookline_delete_attempts",
    ),
)


def upgrade() -> None:
    for key, child, column, parent, trigger, function in _CASCADES:
        op.execute(
            f"""
            CREATE FUNCTION {function}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM {child} AS c USING gone WHERE c.{column} = gone.id;
                RETURN NULL;
            END
            $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER DELETE ON {parent} REFERENCING OLD TABLE AS gone "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
        op.drop_constraint(key, child, type_="foreignkey")


def downgrade() -> None:
    for key, child, column, parent, trigger, function in reversed(_CASCADES):
        op.execute(f"DROP TRIGGER {trigger} ON {parent}")
        op.execute(f"DROP FUNCTION {function}()")
        # Rows whose parent went without the trigger (a TRUNCATE) would fail the validation.
        op.execute(
            f"DELETE FROM {child} AS c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {parent} AS p WHERE p.id = c.{column})"
        )
        op.create_foreign_key(
            key, child, parent, [column], ["id"], ondelete="CASCADE", postgresql_not_valid=True
        )
        op.execute(f"ALTER TABLE {child} VALIDATE CONSTRAINT {key}")

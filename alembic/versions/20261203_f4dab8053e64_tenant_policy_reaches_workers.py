"""tenant policy reaches workers: a change to a tenant's delivery-policy defaults moves the
``config_xid`` of its endpoints

Workers read each endpoint's effective policy (endpoint, else tenant, else settings) with the
endpoint, and refresh only endpoints whose ``config_xid`` moved (app/delivery/directory.py). A
tenant's defaults are not an endpoint column, so the trigger here stamps every endpoint of a
tenant whose policy columns changed with the changing transaction's id, exactly as a secret
change stamps its endpoint.

An endpoint inserted while such a change is in flight would escape the stamp (the tenant's
UPDATE does not see a row committed after its statement began), and a snapshot could show the
new endpoint beside the old defaults and never read it again. So creating an endpoint (or
moving one to another tenant) takes a share lock on its tenant's row: it waits for a policy
change in flight to commit, so any snapshot that shows it also shows the new defaults; and a
policy change waits for the endpoint's transaction, so its stamp sees the new endpoint.

Revision ID: f4dab8053e64
Revises: e3c9a7f42d53
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f4dab8053e64"
down_revision: str | None = "e3c9a7f42d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATEMENTS = (
    # Setting config_xid fires endpoints_config_changed, which sets it to this transaction.
    """
    CREATE FUNCTION hookline_tenant_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE endpoints SET config_xid = 0 WHERE tenant_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tenants_policy_changed
    AFTER UPDATE OF retry_schedule, timeout_seconds, disable_after_seconds ON tenants
    FOR EACH ROW
    WHEN (
        OLD.retry_schedule IS DISTINCT FROM NEW.retry_schedule
        OR OLD.timeout_seconds IS DISTINCT FROM NEW.timeout_seconds
        OR OLD.disable_after_seconds IS DISTINCT FROM NEW.disable_after_seconds
    )
    EXECUTE FUNCTION hookline_tenant_policy_changed()
    """,
    """
    CREATE FUNCTION hookline_endpoint_tenant_pinned() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR SHARE;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER endpoints_tenant_pinned
    BEFORE INSERT OR UPDATE OF tenant_id ON endpoints
    FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_tenant_pinned()
    """,
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER endpoints_tenant_pinned ON endpoints")
    op.execute("DROP FUNCTION hookline_endpoint_tenant_pinned()")
    op.execute("DROP TRIGGER tenants_policy_changed ON tenants")
    op.execute("DROP FUNCTION hookline_tenant_policy_changed()")

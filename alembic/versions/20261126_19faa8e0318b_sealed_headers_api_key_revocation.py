"""sealed endpoint headers; API key revocation generation and last use

Endpoint header values become secrets: ``endpoints.headers`` (plaintext JSON) is replaced by
``endpoints.sealed_headers`` (each value encrypted with the install's secret key). Existing
values are encrypted here, so this migration needs HOOKLINE_SECRET_KEY (or, embedded, the key in
DATA_DIR) when any endpoint has headers; without it, it stops and changes nothing. The downgrade
decrypts them back, with the same key.

``api_key_revocations`` holds one counter, bumped by a trigger whenever a key is revoked or
deleted: each API process reads it once a second and drops its cache of verified keys when it
moves. ``api_keys.last_used_at`` records use (at most once a minute per key and process).

Revision ID: 19faa8e0318b
Revises: 32c40ec24680
Create Date: 2026-11-26 09:00:00
"""

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from app.crypto import SecretBox
from app.endpoints.custom_headers import open_headers, seal_headers
from app.local_secrets import MissingSecret, existing_secret_key
from app.settings import Settings

revision: str = "19faa8e0318b"
down_revision: str | None = "32c40ec24680"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_endpoints = sa.table(
    "endpoints",
    sa.column("id", postgresql.UUID(as_uuid=True)),
    sa.column("headers", postgresql.JSONB),
    sa.column("sealed_headers", postgresql.JSONB),
)

_BUMP_FUNCTION = """
CREATE FUNCTION hookline_api_key_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE api_key_revocations SET generation = generation + 1;
    RETURN NULL;
END $$
"""


def _box() -> SecretBox:
    key = existing_secret_key(Settings())
    if key is None:
        raise MissingSecret(
            "endpoint header values are being encrypted: set HOOKLINE_SECRET_KEY (the key the "
            "API and workers use) and run the migration again"
        )
    return SecretBox(key)


def _convert(
    source: sa.ColumnClause[Any],
    target: sa.ColumnClause[Any],
    transform: Callable[[SecretBox, uuid.UUID, dict[str, str]], dict[str, str]],
) -> None:
    """Rewrite every endpoint's non-empty headers from ``source`` into ``target``."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_endpoints.c.id, source).where(source != sa.text("'{}'::jsonb"))
    ).all()
    if not rows:
        return
    box = _box()
    for endpoint_id, headers in rows:
        connection.execute(
            _endpoints.update()
            .where(_endpoints.c.id == endpoint_id)
            .values({target.name: transform(box, endpoint_id, headers)})
        )


def _add_headers_column(name: str) -> None:
    op.add_column(
        "endpoints",
        sa.Column(
            name,
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )


def upgrade() -> None:
    _add_headers_column("sealed_headers")
    _convert(_endpoints.c.headers, _endpoints.c.sealed_headers, seal_headers)
    op.drop_column("endpoints", "headers")

    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.create_table(
        "api_key_revocations",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_api_key_revocations_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_revocations")),
    )
    op.execute("INSERT INTO api_key_revocations DEFAULT VALUES")
    op.execute(_BUMP_FUNCTION)
    op.execute(
        "CREATE TRIGGER api_keys_revoked AFTER UPDATE OF revoked_at OR DELETE ON api_keys "
        "FOR EACH STATEMENT EXECUTE FUNCTION hookline_api_key_revoked()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER api_keys_revoked ON api_keys")
    op.execute("DROP FUNCTION hookline_api_key_revoked()")
    op.drop_table("api_key_revocations")
    op.drop_column("api_keys", "last_used_at")

    _add_headers_column("headers")
    _convert(_endpoints.c.sealed_headers, _endpoints.c.headers, open_headers)
    op.drop_column("endpoints", "sealed_headers")

"""tenant portal frame ancestors: the origins that may embed a tenant's portal

Revision ID: 4a8c6e2f9b13
Revises: 9d4f2b7c1e08
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "4a8c6e2f9b13"
down_revision: str | None = "9d4f2b7c1e08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column(
            "portal_frame_ancestors",
            postgresql.ARRAY(sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("tenants", "portal_frame_ancestors")

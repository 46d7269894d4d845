"""Report versions (moderation refuses stale decisions), contact reporters, API-key quota.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "report", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column(
        "report",
        sa.Column("filed_on_behalf", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "user_account",
        sa.Column("contact_only", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_report_api_key_created",
        "report",
        ["filed_via_api_key_id", "created_at"],
        postgresql_where=sa.text("filed_via_api_key_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_report_api_key_created", table_name="report")
    op.drop_column("user_account", "contact_only")
    op.drop_column("report", "filed_on_behalf")
    op.drop_column("report", "version")

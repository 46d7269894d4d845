"""Privacy: erased accounts (anonymised tombstones), the reporter's consent to publish a
report's text in the open data, and when the retention job removed a report's contact data.

Revision ID: 0019
Revises: 0012
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user_account", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "report",
        sa.Column("text_in_open_data", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "report", sa.Column("contact_removed_at", sa.DateTime(timezone=True), nullable=True)
    )
    # The retention job's candidates: final reports whose contact data is still there.
    op.create_index(
        "ix_report_retention_due",
        "report",
        ["updated_at"],
        postgresql_where=sa.text(
            "contact_removed_at IS NULL "
            "AND state IN ('closed','rejected','withdrawn','duplicate')"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_report_retention_due", table_name="report")
    op.drop_column("report", "contact_removed_at")
    op.drop_column("report", "text_in_open_data")
    op.drop_column("user_account", "erased_at")

"""Open311 servicerequestupdates: an index of public timeline events by time.

Revision ID: 0011
Revises: 0015
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_report_event_public_at",
        "report_event",
        ["at", "id"],
        unique=False,
        postgresql_where=sa.text("public"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_report_event_public_at",
        table_name="report_event",
        postgresql_where=sa.text("public"),
    )

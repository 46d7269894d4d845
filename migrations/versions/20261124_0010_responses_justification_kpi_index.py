"""Official responses: a justification for "no action", a date for "scheduled", one
published answer and one answer awaiting moderation per round; rounds by answer time for
the KPIs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "report_response",
        sa.Column("justification", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_report_response_scheduled_has_date"),
        "report_response",
        "outcome <> 'scheduled' OR scheduled_for IS NOT NULL",
    )
    op.create_check_constraint(
        op.f("ck_report_response_no_action_justified"),
        "report_response",
        "outcome <> 'no_action' OR justification IS NOT NULL",
    )
    op.create_index(
        "uq_report_response_published",
        "report_response",
        ["report_id", "round_number"],
        unique=True,
        postgresql_where=sa.text("state = 'published'"),
    )
    op.create_index(
        "uq_report_response_pending",
        "report_response",
        ["report_id", "round_number"],
        unique=True,
        postgresql_where=sa.text("state = 'pending_moderation'"),
    )
    op.create_index(
        "ix_report_round_answered_at",
        "report_round",
        ["answered_at"],
        postgresql_where=sa.text("answered_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_report_round_answered_at", table_name="report_round")
    op.drop_index("uq_report_response_pending", table_name="report_response")
    op.drop_index("uq_report_response_published", table_name="report_response")
    op.drop_constraint(
        op.f("ck_report_response_no_action_justified"), "report_response", type_="check"
    )
    op.drop_constraint(
        op.f("ck_report_response_scheduled_has_date"), "report_response", type_="check"
    )
    op.drop_column("report_response", "justification")

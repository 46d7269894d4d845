"""Department queue filters: trigram search over open reports' tracking code, address and
description, open reports by due time whatever their department (a subtree's queue), the
counts per state read from the index alone, and one person's open reports by due time.

Revision ID: 0009
Revises: 0014
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_REPORT = "state IN ('accepted','in_progress','awaiting_info','reopened','transferred')"


def upgrade() -> None:
    # Kept in step with service/queues/models.py::QUEUE_TEXT.
    op.execute(
        "CREATE INDEX ix_report_queue_text ON report USING gin "
        "(lower((tracking_code || ' ' || coalesce(address_text, '') || ' ' || description)) "
        f"gin_trgm_ops) WHERE {OPEN_REPORT}"
    )
    op.create_index(
        "ix_report_queue_due", "report", ["due_at", "id"], postgresql_where=OPEN_REPORT
    )
    op.create_index(
        "ix_report_queue_counts",
        "report",
        ["department_id", "state"],
        postgresql_include=[
            "due_at",
            "breached_at",
            "assignee_id",
            "reason_id",
            "district_id",
            "priority_id",
        ],
        postgresql_where=OPEN_REPORT,
    )
    op.create_index(
        "ix_report_queue_assignee",
        "report",
        ["assignee_id", "due_at", "id"],
        postgresql_where=f"assignee_id IS NOT NULL AND {OPEN_REPORT}",
    )


def downgrade() -> None:
    op.drop_index("ix_report_queue_assignee", table_name="report")
    op.drop_index("ix_report_queue_counts", table_name="report")
    op.drop_index("ix_report_queue_due", table_name="report")
    op.drop_index("ix_report_queue_text", table_name="report")

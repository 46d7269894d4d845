"""The outbox keeps a row until its job has done its work: run_at for deferred work, a lease
after which the relay hands the job over again, attempts and done_at.

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-23 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox_job",
        sa.Column(
            "run_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column(
        "outbox_job", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("outbox_job", sa.Column("leased_until", sa.DateTime(timezone=True)))
    op.add_column("outbox_job", sa.Column("done_at", sa.DateTime(timezone=True)))
    # Rows relayed before this change were taken as done when enqueued.
    op.execute("UPDATE outbox_job SET done_at = enqueued_at, run_at = created_at")
    op.drop_index("ix_outbox_job_pending", table_name="outbox_job")
    op.create_index(
        "ix_outbox_job_due",
        "outbox_job",
        ["run_at", "id"],
        postgresql_where=sa.text("done_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_job_due", table_name="outbox_job")
    op.create_index(
        "ix_outbox_job_pending",
        "outbox_job",
        ["id"],
        postgresql_where=sa.text("enqueued_at IS NULL"),
    )
    for column in ("done_at", "leased_until", "attempts", "run_at"):
        op.drop_column("outbox_job", column)

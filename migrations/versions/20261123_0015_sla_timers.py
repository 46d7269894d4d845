"""SLA timers, unique per (report, round, kind, level); rounds remember the due time their
timers were planned for.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-23 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0015'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sla_timer',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('round_number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('fire_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_basis', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lag_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_sla_timer_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_timer')),
    sa.UniqueConstraint('report_id', 'round_number', 'kind', 'level', name='uq_sla_timer_once')
    )
    op.create_index('ix_sla_timer_pending', 'sla_timer', ['fire_at'], unique=False, postgresql_where=sa.text('fired_at IS NULL AND cancelled_at IS NULL'))
    op.add_column('report_round', sa.Column('timers_for_due', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_report_round_unplanned', 'report_round', ['id'], unique=False, postgresql_where=sa.text('ended_at IS NULL AND timers_for_due IS DISTINCT FROM due_at'))


def downgrade() -> None:
    op.drop_index('ix_report_round_unplanned', table_name='report_round', postgresql_where=sa.text('ended_at IS NULL AND timers_for_due IS DISTINCT FROM due_at'))
    op.drop_column('report_round', 'timers_for_due')
    op.drop_index('ix_sla_timer_pending', table_name='sla_timer', postgresql_where=sa.text('fired_at IS NULL AND cancelled_at IS NULL'))
    op.drop_table('sla_timer')

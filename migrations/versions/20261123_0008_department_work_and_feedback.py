"""Department work and feedback: rounds, assignees, priorities, transfer and extension
requests, response templates, official responses and ratings; the queue's index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 13:21:12
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('response_priority',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('external_code', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_response_priority_department_id_department'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_priority')),
    sa.UniqueConstraint('department_id', 'code', name='uq_response_priority_code')
    )
    op.create_table('response_template',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('reason_id', sa.Uuid(), nullable=True),
    sa.Column('department_id', sa.Uuid(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('texts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('apply_on_state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_response_template_department_id_department'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reason_id'], ['reason.id'], name=op.f('fk_response_template_reason_id_reason'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_template')),
    sa.UniqueConstraint('code', name='uq_response_template_code')
    )
    op.create_index(op.f('ix_response_template_reason_id'), 'response_template', ['reason_id'], unique=False)
    op.create_table('extension_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('round_number', sa.Integer(), nullable=False),
    sa.Column('requested_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('justification', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_extension_request_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_extension_request_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_extension_request_requested_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_request'))
    )
    op.create_index('uq_extension_request_pending', 'extension_request', ['report_id'], unique=True, postgresql_where=sa.text("state = 'pending'"))
    op.create_table('report_rating',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('round_number', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('by_reporter', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_report_rating_score_range')),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_rating_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_report_rating_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_rating')),
    sa.UniqueConstraint('report_id', 'round_number', 'user_id', name='uq_report_rating_once')
    )
    op.create_table('report_response',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('round_number', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('template_id', sa.Uuid(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('scheduled_for', sa.Date(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('moderated_by_id', sa.Uuid(), nullable=True),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderation_comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_report_response_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['moderated_by_id'], ['user_account.id'], name=op.f('fk_report_response_moderated_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_response_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['response_template.id'], name=op.f('fk_report_response_template_id_response_template'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_response'))
    )
    op.create_index('ix_report_response_pending', 'report_response', ['created_at'], unique=False, postgresql_where=sa.text("state = 'pending_moderation'"))
    op.create_index('ix_report_response_report', 'report_response', ['report_id', 'round_number'], unique=False)
    op.create_table('report_round',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('initial_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paused_working_seconds', sa.Integer(), nullable=False),
    sa.Column('extensions', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_working_seconds', sa.Integer(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_report_round_department_id_department'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_round_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_round')),
    sa.UniqueConstraint('report_id', 'number', name='uq_report_round_number')
    )
    op.create_index('ix_report_round_department_opened', 'report_round', ['department_id', 'opened_at'], unique=False)
    op.create_index('ix_report_round_open_due', 'report_round', ['due_at'], unique=False, postgresql_where=sa.text('ended_at IS NULL'))
    op.create_table('transfer_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('from_department_id', sa.Uuid(), nullable=False),
    sa.Column('to_department_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('reset_clock', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_transfer_request_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_department_id'], ['department.id'], name=op.f('fk_transfer_request_from_department_id_department'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_transfer_request_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_transfer_request_requested_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['to_department_id'], ['department.id'], name=op.f('fk_transfer_request_to_department_id_department'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_request'))
    )
    op.create_index('ix_transfer_request_target', 'transfer_request', ['to_department_id', 'state'], unique=False)
    op.create_index('uq_transfer_request_pending', 'transfer_request', ['report_id'], unique=True, postgresql_where=sa.text("state = 'pending'"))
    op.add_column('report', sa.Column('assignee_id', sa.Uuid(), nullable=True))
    op.add_column('report', sa.Column('priority_id', sa.Uuid(), nullable=True))
    op.add_column('report', sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(op.f('fk_report_priority_id_response_priority'), 'report', 'response_priority', ['priority_id'], ['id'], ondelete='SET NULL')
    op.create_foreign_key(op.f('fk_report_assignee_id_user_account'), 'report', 'user_account', ['assignee_id'], ['id'], ondelete='SET NULL')
    op.create_index(
        "ix_report_queue",
        "report",
        ["department_id", "due_at", "id"],
        postgresql_where=sa.text(
            "state IN ('accepted','in_progress','awaiting_info','reopened','transferred')"
        ),
    )
    op.create_index(
        "ix_report_assignee",
        "report",
        ["assignee_id"],
        postgresql_where=sa.text("assignee_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_report_assignee", table_name="report")
    op.drop_index("ix_report_queue", table_name="report")
    op.drop_constraint(op.f('fk_report_assignee_id_user_account'), 'report', type_='foreignkey')
    op.drop_constraint(op.f('fk_report_priority_id_response_priority'), 'report', type_='foreignkey')
    op.drop_column('report', 'paused_at')
    op.drop_column('report', 'priority_id')
    op.drop_column('report', 'assignee_id')
    op.drop_index('uq_transfer_request_pending', table_name='transfer_request', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index('ix_transfer_request_target', table_name='transfer_request')
    op.drop_table('transfer_request')
    op.drop_index('ix_report_round_open_due', table_name='report_round', postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_index('ix_report_round_department_opened', table_name='report_round')
    op.drop_table('report_round')
    op.drop_index('ix_report_response_report', table_name='report_response')
    op.drop_index('ix_report_response_pending', table_name='report_response', postgresql_where=sa.text("state = 'pending_moderation'"))
    op.drop_table('report_response')
    op.drop_table('report_rating')
    op.drop_index('uq_extension_request_pending', table_name='extension_request', postgresql_where=sa.text("state = 'pending'"))
    op.drop_table('extension_request')
    op.drop_index(op.f('ix_response_template_reason_id'), table_name='response_template')
    op.drop_table('response_template')
    op.drop_table('response_priority')

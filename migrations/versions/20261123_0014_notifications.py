"""Notifications: events and their delivery log (exactly once per event, recipient and
channel), the in-app inbox, people's preferences per event type and channel, and the
integrators' webhook endpoints.

Revision ID: 0014
Revises: 0016
Create Date: 2026-11-23 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_preference',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_preference_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'event_type', 'channel', name=op.f('pk_notification_preference'))
    )
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event_types', sa.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_webhook_endpoint_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint'))
    )
    op.create_table('notification_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('values', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=True),
    sa.Column('legal', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_notification_event_report_id_report'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_event')),
    sa.UniqueConstraint('event_key', name=op.f('uq_notification_event_event_key'))
    )
    op.create_index(op.f('ix_notification_event_event_type'), 'notification_event', ['event_type'], unique=False)
    op.create_index(op.f('ix_notification_event_report_id'), 'notification_event', ['report_id'], unique=False)
    op.create_table('notification_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('webhook_id', sa.Uuid(), nullable=True),
    sa.Column('email_message_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(channel = 'webhook') = (webhook_id IS NOT NULL) AND num_nonnulls(user_id, webhook_id) = 1", name=op.f('ck_notification_delivery_one_recipient')),
    sa.ForeignKeyConstraint(['email_message_id'], ['email_message.id'], name=op.f('fk_notification_delivery_email_message_id_email_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['notification_event.id'], name=op.f('fk_notification_delivery_event_id_notification_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_delivery_user_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook_endpoint.id'], name=op.f('fk_notification_delivery_webhook_id_webhook_endpoint'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery')),
    sa.UniqueConstraint('event_id', 'user_id', 'webhook_id', 'channel', name='uq_notification_delivery_recipient_channel', postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_notification_delivery_email_message_id'), 'notification_delivery', ['email_message_id'], unique=False)
    op.create_index('ix_notification_delivery_inbox', 'notification_delivery', ['user_id', 'created_at', 'id'], unique=False, postgresql_where=sa.text("channel = 'inbox'"))
    op.create_index(op.f('ix_notification_delivery_webhook_id'), 'notification_delivery', ['webhook_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notification_delivery_webhook_id'), table_name='notification_delivery')
    op.drop_index('ix_notification_delivery_inbox', table_name='notification_delivery', postgresql_where=sa.text("channel = 'inbox'"))
    op.drop_index(op.f('ix_notification_delivery_email_message_id'), table_name='notification_delivery')
    op.drop_table('notification_delivery')
    op.drop_index(op.f('ix_notification_event_report_id'), table_name='notification_event')
    op.drop_index(op.f('ix_notification_event_event_type'), table_name='notification_event')
    op.drop_table('notification_event')
    op.drop_table('webhook_endpoint')
    op.drop_table('notification_preference')

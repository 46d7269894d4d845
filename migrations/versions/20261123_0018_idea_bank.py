"""The idea bank: functional areas with expert pools, ideas with attachments, expert
reviews, supports and the timeline; pg_trgm for the duplicate check of stage 1.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 15:48:00.844153
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram similarity of titles and summaries (the duplicate check of stage 1).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('idea_area',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=False),
    sa.Column('min_reviews', sa.Integer(), nullable=False),
    sa.Column('review_days', sa.Integer(), nullable=False),
    sa.Column('criteria', sa.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('min_reviews BETWEEN 1 AND 10', name=op.f('ck_idea_area_min_reviews_range')),
    sa.CheckConstraint('review_days BETWEEN 1 AND 60', name=op.f('ck_idea_area_review_days_range')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_idea_area_department_id_department'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_area')),
    sa.UniqueConstraint('code', name=op.f('uq_idea_area_code'))
    )
    op.create_index(op.f('ix_idea_area_department_id'), 'idea_area', ['department_id'], unique=False)
    op.create_geospatial_table('idea',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('area_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('problem', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('solution', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('benefit', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('cost_band', sa.String(length=16), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('district_id', sa.Uuid(), nullable=True),
    sa.Column('tags', sa.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=True),
    sa.Column('check_failures', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('score_mean', sa.Float(), nullable=True),
    sa.Column('score_spread', sa.Float(), nullable=True),
    sa.Column('design_comment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('support_count', sa.Integer(), nullable=False),
    sa.Column('attachment_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['idea_area.id'], name=op.f('fk_idea_area_id_idea_area'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_idea_author_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_idea_district_id_district'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea'))
    )
    op.create_geospatial_index('idx_idea_location', 'idea', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_idea_area_state', 'idea', ['area_id', 'state'], unique=False)
    op.create_index(op.f('ix_idea_author_id'), 'idea', ['author_id'], unique=False)
    op.create_index(op.f('ix_idea_state'), 'idea', ['state'], unique=False)
    op.create_index('ix_idea_summary_trgm', 'idea', ['summary'], unique=False, postgresql_using='gin', postgresql_ops={'summary': 'gin_trgm_ops'})
    op.create_index('ix_idea_title_trgm', 'idea', ['title'], unique=False, postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.create_table('idea_expert',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('area_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['idea_area.id'], name=op.f('fk_idea_expert_area_id_idea_area'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_idea_expert_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_expert')),
    sa.UniqueConstraint('area_id', 'user_id', name='uq_idea_expert_member')
    )
    op.create_index(op.f('ix_idea_expert_area_id'), 'idea_expert', ['area_id'], unique=False)
    op.create_index(op.f('ix_idea_expert_user_id'), 'idea_expert', ['user_id'], unique=False)
    op.create_table('idea_attachment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('idea_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('thumbnail_path', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_idea_attachment_idea_id_idea'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_attachment'))
    )
    op.create_index(op.f('ix_idea_attachment_idea_id'), 'idea_attachment', ['idea_id'], unique=False)
    op.create_table('idea_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('idea_id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_idea_event_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_idea_event_idea_id_idea'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_event'))
    )
    op.create_index(op.f('ix_idea_event_idea_id'), 'idea_event', ['idea_id'], unique=False)
    op.create_table('idea_review',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('idea_id', sa.Uuid(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Uuid(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lapsed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scores', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.ForeignKeyConstraint(['expert_id'], ['user_account.id'], name=op.f('fk_idea_review_expert_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_idea_review_idea_id_idea'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_review')),
    sa.UniqueConstraint('idea_id', 'attempt', 'expert_id', name='uq_idea_review_once')
    )
    op.create_index(op.f('ix_idea_review_expert_id'), 'idea_review', ['expert_id'], unique=False)
    op.create_index(op.f('ix_idea_review_idea_id'), 'idea_review', ['idea_id'], unique=False)
    op.create_index('ix_idea_review_open', 'idea_review', ['due_at'], unique=False, postgresql_where=sa.text('submitted_at IS NULL AND lapsed_at IS NULL'))
    op.create_table('idea_support',
    sa.Column('idea_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_idea_support_idea_id_idea'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_idea_support_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('idea_id', 'user_id', name=op.f('pk_idea_support'))
    )
    op.create_index(op.f('ix_idea_support_user_id'), 'idea_support', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_idea_support_user_id'), table_name='idea_support')
    op.drop_table('idea_support')
    op.drop_index('ix_idea_review_open', table_name='idea_review', postgresql_where=sa.text('submitted_at IS NULL AND lapsed_at IS NULL'))
    op.drop_index(op.f('ix_idea_review_idea_id'), table_name='idea_review')
    op.drop_index(op.f('ix_idea_review_expert_id'), table_name='idea_review')
    op.drop_table('idea_review')
    op.drop_index(op.f('ix_idea_event_idea_id'), table_name='idea_event')
    op.drop_table('idea_event')
    op.drop_index(op.f('ix_idea_attachment_idea_id'), table_name='idea_attachment')
    op.drop_table('idea_attachment')
    op.drop_index(op.f('ix_idea_expert_user_id'), table_name='idea_expert')
    op.drop_index(op.f('ix_idea_expert_area_id'), table_name='idea_expert')
    op.drop_table('idea_expert')
    op.drop_index('ix_idea_title_trgm', table_name='idea', postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.drop_index('ix_idea_summary_trgm', table_name='idea', postgresql_using='gin', postgresql_ops={'summary': 'gin_trgm_ops'})
    op.drop_index(op.f('ix_idea_state'), table_name='idea')
    op.drop_index(op.f('ix_idea_author_id'), table_name='idea')
    op.drop_index('ix_idea_area_state', table_name='idea')
    op.drop_geospatial_index('idx_idea_location', table_name='idea', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('idea')
    op.drop_index(op.f('ix_idea_area_department_id'), table_name='idea_area')
    op.drop_table('idea_area')

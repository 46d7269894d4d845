"""The living lab: the test panel with its sampling profiles, pilots, their seeded draws,
participations, tasks with questions, and the testers' responses.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lab_panel_member",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("languages", sa.ARRAY(sa.String(length=3)), server_default="{}", nullable=False),
        sa.Column("devices", sa.ARRAY(sa.String(length=16)), server_default="{}", nullable=False),
        sa.Column(
            "accessibility_needs",
            sa.ARRAY(sa.String(length=16)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("building_id", sa.Uuid(), nullable=True),
        sa.Column("district_id", sa.Uuid(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
            name=op.f("fk_lab_panel_member_building_id_building"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_lab_panel_member_district_id_district"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_lab_panel_member_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_lab_panel_member")),
    )
    op.create_index(
        op.f("ix_lab_panel_member_building_id"), "lab_panel_member", ["building_id"], unique=False
    )
    op.create_index(
        op.f("ix_lab_panel_member_district_id"), "lab_panel_member", ["district_id"], unique=False
    )
    op.create_table(
        "lab_pilot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("organisation_kind", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("target_size", sa.Integer(), nullable=False),
        sa.Column(
            "dimensions", sa.ARRAY(sa.String(length=16)), server_default="{}", nullable=False
        ),
        sa.Column("district_ids", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("pilot_buildings_only", sa.Boolean(), nullable=False),
        sa.Column(
            "required_devices", sa.ARRAY(sa.String(length=16)), server_default="{}", nullable=False
        ),
        sa.Column("allocation", sa.String(length=16), nullable=False),
        sa.Column(
            "quotas", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("allow_overlap", sa.Boolean(), nullable=False),
        sa.Column("invitation_days", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Uuid(), nullable=True),
        sa.Column("programme_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_lab_pilot_period_order")),
        sa.CheckConstraint(
            "invitation_days >= 1", name=op.f("ck_lab_pilot_invitation_days_positive")
        ),
        sa.CheckConstraint("target_size >= 1", name=op.f("ck_lab_pilot_target_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_lab_pilot_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["idea.id"], name=op.f("fk_lab_pilot_idea_id_idea"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["training_programme.id"],
            name=op.f("fk_lab_pilot_programme_id_training_programme"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_pilot")),
        sa.UniqueConstraint("code", name=op.f("uq_lab_pilot_code")),
    )
    op.create_index(op.f("ix_lab_pilot_state"), "lab_pilot", ["state"], unique=False)
    op.create_table(
        "lab_draw",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column(
            "allocation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("pool_digest", sa.String(length=64), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_lab_draw_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pilot_id"],
            ["lab_pilot.id"],
            name=op.f("fk_lab_draw_pilot_id_lab_pilot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_draw")),
        sa.UniqueConstraint("pilot_id", "number", name="uq_lab_draw_number"),
    )
    op.create_index(op.f("ix_lab_draw_pilot_id"), "lab_draw", ["pilot_id"], unique=False)
    op.create_table(
        "lab_task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "instructions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("due_at > opens_at", name=op.f("ck_lab_task_task_period_order")),
        sa.ForeignKeyConstraint(
            ["pilot_id"],
            ["lab_pilot.id"],
            name=op.f("fk_lab_task_pilot_id_lab_pilot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_task")),
    )
    op.create_index(op.f("ix_lab_task_pilot_id"), "lab_task", ["pilot_id"], unique=False)
    op.create_table(
        "lab_participation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("draw_id", sa.Uuid(), nullable=False),
        sa.Column("stratum", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["draw_id"],
            ["lab_draw.id"],
            name=op.f("fk_lab_participation_draw_id_lab_draw"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pilot_id"],
            ["lab_pilot.id"],
            name=op.f("fk_lab_participation_pilot_id_lab_pilot"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_lab_participation_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_participation")),
        sa.UniqueConstraint("pilot_id", "user_id", name="uq_lab_participation_person"),
    )
    op.create_index(
        "ix_lab_participation_invited",
        "lab_participation",
        ["respond_by"],
        unique=False,
        postgresql_where=sa.text("status = 'invited'"),
    )
    op.create_index(
        op.f("ix_lab_participation_pilot_id"), "lab_participation", ["pilot_id"], unique=False
    )
    op.create_index(
        op.f("ix_lab_participation_user_id"), "lab_participation", ["user_id"], unique=False
    )
    op.create_table(
        "lab_question",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "options", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["lab_task.id"],
            name=op.f("fk_lab_question_task_id_lab_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_question")),
    )
    op.create_index(op.f("ix_lab_question_task_id"), "lab_question", ["task_id"], unique=False)
    op.create_table(
        "lab_response",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("participation_id", sa.Uuid(), nullable=False),
        sa.Column("entry_on", sa.Date(), nullable=True),
        sa.Column("share_text", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participation_id"],
            ["lab_participation.id"],
            name=op.f("fk_lab_response_participation_id_lab_participation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["lab_task.id"],
            name=op.f("fk_lab_response_task_id_lab_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_response")),
        sa.UniqueConstraint(
            "task_id",
            "participation_id",
            "entry_on",
            name="uq_lab_response_once",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_lab_response_participation_id"), "lab_response", ["participation_id"], unique=False
    )
    op.create_index(op.f("ix_lab_response_task_id"), "lab_response", ["task_id"], unique=False)
    op.create_table(
        "lab_answer",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["lab_question.id"],
            name=op.f("fk_lab_answer_question_id_lab_question"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["lab_response.id"],
            name=op.f("fk_lab_answer_response_id_lab_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "question_id", name=op.f("pk_lab_answer")),
    )
    op.create_index(op.f("ix_lab_answer_question_id"), "lab_answer", ["question_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lab_answer_question_id"), table_name="lab_answer")
    op.drop_table("lab_answer")
    op.drop_index(op.f("ix_lab_response_task_id"), table_name="lab_response")
    op.drop_index(op.f("ix_lab_response_participation_id"), table_name="lab_response")
    op.drop_table("lab_response")
    op.drop_index(op.f("ix_lab_question_task_id"), table_name="lab_question")
    op.drop_table("lab_question")
    op.drop_index(op.f("ix_lab_participation_user_id"), table_name="lab_participation")
    op.drop_index(op.f("ix_lab_participation_pilot_id"), table_name="lab_participation")
    op.drop_index(
        "ix_lab_participation_invited",
        table_name="lab_participation",
        postgresql_where=sa.text("status = 'invited'"),
    )
    op.drop_table("lab_participation")
    op.drop_index(op.f("ix_lab_task_pilot_id"), table_name="lab_task")
    op.drop_table("lab_task")
    op.drop_index(op.f("ix_lab_draw_pilot_id"), table_name="lab_draw")
    op.drop_table("lab_draw")
    op.drop_index(op.f("ix_lab_pilot_state"), table_name="lab_pilot")
    op.drop_table("lab_pilot")
    op.drop_index(op.f("ix_lab_panel_member_district_id"), table_name="lab_panel_member")
    op.drop_index(op.f("ix_lab_panel_member_building_id"), table_name="lab_panel_member")
    op.drop_table("lab_panel_member")

"""Official responses, their templates, and ratings of the answers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.db import enum_field, table_of, timestamp, uuid_pk
from service.reports.models import ReportRound


class Outcome(StrEnum):
    fixed = "fixed"
    scheduled = "scheduled"  # with a date
    not_ours = "not_ours"
    no_action = "no_action"  # with a justification


class ResponseState(StrEnum):
    pending_moderation = "pending_moderation"
    returned = "returned"  # the moderator sent it back with a comment
    withdrawn = "withdrawn"  # the report moved to another department before moderation
    published = "published"


class ResponseTemplate(SQLModel, table=True):
    """A response text per reason (or for any reason of a department), in the city's
    languages, with placeholders such as ``{tracking_code}``, ``{address}``, ``{due_date}``.
    With ``apply_on_state`` it is posted automatically as a public status note when a report
    of the reason enters that state."""

    __tablename__ = "response_template"
    __table_args__ = (UniqueConstraint("code", name="uq_response_template_code"),)

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=60)
    reason_id: uuid.UUID | None = Field(
        default=None, foreign_key="reason.id", index=True, ondelete="CASCADE"
    )
    department_id: uuid.UUID | None = Field(
        default=None, foreign_key="department.id", ondelete="CASCADE"
    )
    outcome: Outcome | None = enum_field(None)
    texts: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    apply_on_state: str | None = Field(default=None, max_length=32)
    active: bool = Field(default=True)
    created_at: datetime = timestamp(default_now=True)


class ReportResponse(SQLModel, table=True):
    """The official response of one round, moderated before publication where the reason
    asks for it."""

    __tablename__ = "report_response"
    __table_args__ = (
        Index("ix_report_response_report", "report_id", "round_number"),
        # One published answer per round, and one waiting for moderation at a time.
        Index(
            "uq_report_response_published",
            "report_id",
            "round_number",
            unique=True,
            postgresql_where=text("state = 'published'"),
        ),
        Index(
            "uq_report_response_pending",
            "report_id",
            "round_number",
            unique=True,
            postgresql_where=text("state = 'pending_moderation'"),
        ),
        CheckConstraint(
            "outcome <> 'scheduled' OR scheduled_for IS NOT NULL", name="scheduled_has_date"
        ),
        CheckConstraint(
            "outcome <> 'no_action' OR justification IS NOT NULL", name="no_action_justified"
        ),
        # The answer-moderation queue: oldest first.
        Index(
            "ix_report_response_pending",
            "created_at",
            postgresql_where=text("state = 'pending_moderation'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    round_number: int
    author_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    template_id: uuid.UUID | None = Field(
        default=None, foreign_key="response_template.id", ondelete="SET NULL"
    )
    outcome: Outcome = enum_field()
    scheduled_for: date | None = Field(default=None)
    # Why nothing will be done (required with ``no_action``).
    justification: str | None = Field(default=None, max_length=2000)
    text: str = Field(max_length=4000)
    state: ResponseState = enum_field(ResponseState.pending_moderation)
    created_at: datetime = timestamp(default_now=True)
    moderated_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    moderated_at: datetime | None = timestamp(nullable=True)
    moderation_comment: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = timestamp(nullable=True)


class ReportRating(SQLModel, table=True):
    """A rating of a round's answer: one per person per round, editable within the window.
    Only the reporter's rating can reopen the report."""

    __tablename__ = "report_rating"
    __table_args__ = (
        UniqueConstraint("report_id", "round_number", "user_id", name="uq_report_rating_once"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    round_number: int
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE")
    by_reporter: bool
    score: int
    resolved: bool
    comment: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


# The KPIs count rounds answered in a period; declared here, with the figures that use it.
Index(
    "ix_report_round_answered_at",
    table_of(ReportRound).c.answered_at,
    postgresql_where=text("answered_at IS NOT NULL"),
)

"""Living lab tables (PRODUCT.md §12): the test panel with its sampling profiles, pilots,
their draws (the seeded stratified samples), the participations the draws invite, tasks
(surveys and diaries) with their questions, and the testers' responses.

A participation holds the stratum its tester was drawn in, frozen at the draw: results are
grouped by it, so a tester who later changes or removes their profile (or erases their
account) neither moves between groups nor takes their answers out of the figures.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class AgeBand(StrEnum):
    from_18_to_29 = "18-29"
    from_30_to_44 = "30-44"
    from_45_to_64 = "45-64"
    from_65 = "65+"


class Device(StrEnum):
    smartphone = "smartphone"
    tablet = "tablet"
    computer = "computer"
    smart_tv = "smart_tv"
    smartwatch = "smartwatch"


class AccessibilityNeed(StrEnum):
    vision = "vision"
    hearing = "hearing"
    mobility = "mobility"
    cognitive = "cognitive"
    other = "other"


class Dimension(StrEnum):
    """What a pilot may stratify its sample by."""

    district = "district"
    age_band = "age_band"
    household = "household"


class Allocation(StrEnum):
    proportional = "proportional"  # the target split by the strata's sizes (largest remainder)
    custom = "custom"  # the pilot's own quota per stratum


class PilotState(StrEnum):
    draft = "draft"
    recruiting = "recruiting"
    running = "running"
    finished = "finished"
    cancelled = "cancelled"


class OrganisationKind(StrEnum):
    department = "department"
    company = "company"


class ParticipationStatus(StrEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"  # no answer to the invitation by its deadline
    withdrawn = "withdrawn"  # the tester left the pilot or the panel
    completed = "completed"  # the pilot finished with the tester in it
    cancelled = "cancelled"  # the pilot was cancelled


class TaskKind(StrEnum):
    survey = "survey"  # answered once
    diary = "diary"  # an entry a day over the task's period


class QuestionKind(StrEnum):
    likert = "likert"  # 1–5, strongly disagree … strongly agree
    single = "single"
    multiple = "multiple"
    number = "number"
    text = "text"


class PanelMember(SQLModel, table=True):
    """A resident on the test panel, with the consent they gave and their sampling profile.
    Withdrawal deletes the row: nothing of the profile stays."""

    __tablename__ = "lab_panel_member"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    consent_version: int = Field()
    consented_at: datetime = timestamp()
    age_band: AgeBand | None = enum_field(None, length=8)
    household_size: int | None = Field(default=None, ge=1, le=20)
    languages: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(3)), nullable=False, server_default="{}"),
    )
    devices: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(16)), nullable=False, server_default="{}"),
    )
    accessibility_needs: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(16)), nullable=False, server_default="{}"),
    )
    building_id: uuid.UUID | None = Field(
        default=None, foreign_key="building.id", index=True, ondelete="SET NULL"
    )
    district_id: uuid.UUID | None = Field(
        default=None, foreign_key="district.id", index=True, ondelete="SET NULL"
    )
    joined_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Pilot(SQLModel, table=True):
    __tablename__ = "lab_pilot"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period_order"),
        CheckConstraint("target_size >= 1", name="target_positive"),
        CheckConstraint("invitation_days >= 1", name="invitation_days_positive"),
    )

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    # What testers read: what is tested, what is asked of them, how long.
    description: str = Field(default="", max_length=4000)
    organisation: str = Field(max_length=200)
    organisation_kind: OrganisationKind = enum_field(length=16)
    starts_on: date = Field()
    ends_on: date = Field()
    target_size: int = Field()
    dimensions: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(16)), nullable=False, server_default="{}"),
    )
    # Who may be drawn at all: these districts (none: all), pilot-area buildings only, and
    # people who have every one of these devices.
    district_ids: list[uuid.UUID] = Field(
        default_factory=list, sa_column=Column(ARRAY(Uuid()), nullable=False, server_default="{}")
    )
    pilot_buildings_only: bool = Field(default=False)
    required_devices: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(16)), nullable=False, server_default="{}"),
    )
    allocation: Allocation = enum_field(Allocation.proportional, length=16)
    # stratum key → quota, for ``Allocation.custom``.
    quotas: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    # Its testers may be in another pilot of an overlapping period at the same time.
    allow_overlap: bool = Field(default=False)
    invitation_days: int = Field(default=7)
    idea_id: uuid.UUID | None = Field(default=None, foreign_key="idea.id", ondelete="SET NULL")
    programme_id: uuid.UUID | None = Field(
        default=None, foreign_key="training_programme.id", ondelete="SET NULL"
    )
    state: PilotState = enum_field(PilotState.draft, length=16, index=True)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    started_at: datetime | None = timestamp(nullable=True)
    finished_at: datetime | None = timestamp(nullable=True)


class Draw(SQLModel, table=True):
    """One seeded stratified sample of a pilot: the first, or a top-up after declines."""

    __tablename__ = "lab_draw"
    __table_args__ = (UniqueConstraint("pilot_id", "number", name="uq_lab_draw_number"),)

    id: uuid.UUID = uuid_pk()
    pilot_id: uuid.UUID = Field(foreign_key="lab_pilot.id", index=True, ondelete="CASCADE")
    number: int = Field()
    seed: int = Field(sa_type=BigInteger)
    # stratum key → {"population", "quota", "drawn"}: what the draw saw and did.
    allocation: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    # SHA-256 of the eligible pool (ids by stratum), to tell later whether a re-run saw the same.
    pool_digest: str = Field(max_length=64)
    invited: int = Field(default=0)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()


class Participation(SQLModel, table=True):
    """A panellist drawn for a pilot: invited, then accepted or not. ``user_id`` is emptied
    when the person erases their account; the stratum and the answers stay."""

    __tablename__ = "lab_participation"
    __table_args__ = (
        UniqueConstraint("pilot_id", "user_id", name="uq_lab_participation_person"),
        Index(
            "ix_lab_participation_invited",
            "respond_by",
            postgresql_where=text("status = 'invited'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    pilot_id: uuid.UUID = Field(foreign_key="lab_pilot.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    draw_id: uuid.UUID = Field(foreign_key="lab_draw.id", ondelete="CASCADE")
    stratum: str = Field(max_length=200)
    status: ParticipationStatus = enum_field(ParticipationStatus.invited, length=16)
    invited_at: datetime = timestamp()
    respond_by: datetime = timestamp()
    responded_at: datetime | None = timestamp(nullable=True)
    ended_at: datetime | None = timestamp(nullable=True)


class Task(SQLModel, table=True):
    __tablename__ = "lab_task"
    __table_args__ = (CheckConstraint("due_at > opens_at", name="task_period_order"),)

    id: uuid.UUID = uuid_pk()
    pilot_id: uuid.UUID = Field(foreign_key="lab_pilot.id", index=True, ondelete="CASCADE")
    kind: TaskKind = enum_field(length=16)
    # language → text (et, en, ru).
    title: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    instructions: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    opens_at: datetime = timestamp()
    due_at: datetime = timestamp()
    position: int = Field(default=0)
    announced_at: datetime | None = timestamp(nullable=True)
    reminded_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp()


class Question(SQLModel, table=True):
    __tablename__ = "lab_question"

    id: uuid.UUID = uuid_pk()
    task_id: uuid.UUID = Field(foreign_key="lab_task.id", index=True, ondelete="CASCADE")
    position: int = Field()
    kind: QuestionKind = enum_field(length=16)
    text: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    # [{"code": "yes", "text": {"et": …, "en": …, "ru": …}}] for single and multiple choice.
    options: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    min_value: float | None = Field(default=None)
    max_value: float | None = Field(default=None)
    required: bool = Field(default=True)


class TaskResponse(SQLModel, table=True):
    """A tester's answers to a task: once for a survey, once a day for a diary."""

    __tablename__ = "lab_response"
    __table_args__ = (
        UniqueConstraint(
            "task_id",
            "participation_id",
            "entry_on",
            name="uq_lab_response_once",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: uuid.UUID = uuid_pk()
    task_id: uuid.UUID = Field(foreign_key="lab_task.id", index=True, ondelete="CASCADE")
    participation_id: uuid.UUID = Field(
        foreign_key="lab_participation.id", index=True, ondelete="CASCADE"
    )
    entry_on: date | None = Field(default=None)
    # The tester agrees that their free text is shown, as written, to the organisation.
    share_text: bool = Field(default=False)
    submitted_at: datetime = timestamp()


class Answer(SQLModel, table=True):
    __tablename__ = "lab_answer"

    response_id: uuid.UUID = Field(
        foreign_key="lab_response.id", primary_key=True, ondelete="CASCADE"
    )
    question_id: uuid.UUID = Field(
        foreign_key="lab_question.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    # An int (likert), an option code, a list of codes, a number, or a text.
    value: Any = Field(sa_column=Column(JSONB, nullable=False))

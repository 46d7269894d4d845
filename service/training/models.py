"""Training programme tables (PRODUCT.md §7): programmes with their pilot area and
coordinators, sessions, enrolments, attendance, the ambassadors a programme awarded with
their diplomas, the pilot area's mailing list, and ambassadors' confirmations of reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class ProgrammeState(StrEnum):
    draft = "draft"
    open = "open"
    running = "running"
    finished = "finished"


class EnrolmentStatus(StrEnum):
    enrolled = "enrolled"
    waitlisted = "waitlisted"
    withdrawn = "withdrawn"


class AttendanceMethod(StrEnum):
    roster = "roster"
    check_in = "check_in"


class Programme(SQLModel, table=True):
    """A training programme. Its pilot area is a district (``pilot_district_id``) or a list
    of buildings (``programme_building``); a participant qualifies by attending at least
    ``min_sessions`` of its sessions, the ``required`` ones among them."""

    __tablename__ = "training_programme"
    __table_args__ = (
        CheckConstraint("min_sessions >= 1", name="min_sessions_positive"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint(
            "enrolment_closes_at IS NULL OR enrolment_opens_at IS NULL "
            "OR enrolment_closes_at > enrolment_opens_at",
            name="enrolment_window_order",
        ),
    )

    id: uuid.UUID = uuid_pk()
    # A stable name, for links and for the demo seed to find its programme again.
    code: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    state: ProgrammeState = enum_field(ProgrammeState.draft, index=True)
    pilot_district_id: uuid.UUID | None = Field(
        default=None, foreign_key="district.id", ondelete="RESTRICT"
    )
    allow_outsiders: bool = Field(default=False)
    min_sessions: int = Field(default=1)
    enrolment_opens_at: datetime | None = timestamp(nullable=True)
    enrolment_closes_at: datetime | None = timestamp(nullable=True)
    capacity: int | None = Field(default=None)
    award_event_on: date | None = Field(default=None)
    award_event_place: str | None = Field(default=None, max_length=300)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)
    published_at: datetime | None = timestamp(nullable=True)
    started_at: datetime | None = timestamp(nullable=True)
    finished_at: datetime | None = timestamp(nullable=True)


class ProgrammeBuilding(SQLModel, table=True):
    """A building of a programme's pilot area, when the area is a list of buildings."""

    __tablename__ = "training_programme_building"

    programme_id: uuid.UUID = Field(
        foreign_key="training_programme.id", primary_key=True, ondelete="CASCADE"
    )
    building_id: uuid.UUID = Field(
        foreign_key="building.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class ProgrammeCoordinator(SQLModel, table=True):
    """A coordinator who runs a programme (its creator and whoever they add)."""

    __tablename__ = "training_programme_coordinator"

    programme_id: uuid.UUID = Field(
        foreign_key="training_programme.id", primary_key=True, ondelete="CASCADE"
    )
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class TrainingSession(SQLModel, table=True):
    __tablename__ = "training_session"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="session_order"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        Index("ix_training_session_programme_starts", "programme_id", "starts_at"),
    )

    id: uuid.UUID = uuid_pk()
    programme_id: uuid.UUID = Field(foreign_key="training_programme.id", ondelete="CASCADE")
    topic: str = Field(max_length=300)
    starts_at: datetime = timestamp()
    ends_at: datetime = timestamp()
    venue: str = Field(default="", max_length=300)
    capacity: int | None = Field(default=None)
    materials: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    # Attending it is part of the qualification rule, whatever the count.
    required: bool = Field(default=False)
    # Shown at the venue; a participant checks in with it during the session's window.
    checkin_code: str = Field(max_length=16)
    # Raised by every change a participant is told about.
    version: int = Field(default=1)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


class Enrolment(SQLModel, table=True):
    """A resident's place in a programme (or on its waiting list), with their building."""

    __tablename__ = "training_enrolment"
    __table_args__ = (
        UniqueConstraint("programme_id", "user_id", name="uq_training_enrolment_person"),
        # The waiting list, first come first served.
        Index(
            "ix_training_enrolment_waiting",
            "programme_id",
            "queue_number",
            postgresql_where=text("status = 'waitlisted'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    # The order of arrival (the waiting list's order), however close the requests came.
    queue_number: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), nullable=False)
    )
    programme_id: uuid.UUID = Field(foreign_key="training_programme.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    building_id: uuid.UUID = Field(foreign_key="building.id", index=True, ondelete="RESTRICT")
    status: EnrolmentStatus = enum_field(EnrolmentStatus.enrolled, length=16)
    requested_at: datetime = timestamp()
    enrolled_at: datetime | None = timestamp(nullable=True)
    withdrawn_at: datetime | None = timestamp(nullable=True)


class Attendance(SQLModel, table=True):
    """One person at one session: marked on the coordinator's roster or checked in."""

    __tablename__ = "training_attendance"

    session_id: uuid.UUID = Field(
        foreign_key="training_session.id", primary_key=True, ondelete="CASCADE"
    )
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    method: AttendanceMethod = enum_field(length=16)
    recorded_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    recorded_at: datetime = timestamp()


class Ambassador(SQLModel, table=True):
    """A participant a programme awarded: an ambassador of their building until revoked."""

    __tablename__ = "ambassador"
    __table_args__ = (
        # Awarding twice creates nothing new.
        UniqueConstraint("programme_id", "user_id", name="uq_ambassador_programme_person"),
        Index(
            "ix_ambassador_active_building",
            "building_id",
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    programme_id: uuid.UUID = Field(foreign_key="training_programme.id", ondelete="RESTRICT")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    building_id: uuid.UUID = Field(foreign_key="building.id", ondelete="RESTRICT")
    awarded_at: datetime = timestamp()
    awarded_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    # Shown by name on the building's public page only with the ambassador's consent.
    public: bool = Field(default=False)
    revoked_at: datetime | None = timestamp(nullable=True)
    revoked_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    revoke_reason: str | None = Field(default=None, max_length=500)


class Diploma(SQLModel, table=True):
    """An ambassador's diploma: what it states, frozen at the award, its public verification
    code and the PDF a worker made of it (``pdf_path`` under the media directory)."""

    __tablename__ = "diploma"
    __table_args__ = (
        Index("ix_diploma_pending", "created_at", postgresql_where=text("pdf_path IS NULL")),
    )

    id: uuid.UUID = uuid_pk()
    ambassador_id: uuid.UUID = Field(foreign_key="ambassador.id", unique=True, ondelete="CASCADE")
    code: str = Field(max_length=24, unique=True)
    holder_name: str = Field(max_length=120)
    programme_title: str = Field(max_length=200)
    building_address: str = Field(max_length=200)
    sessions_attended: int
    sessions_total: int
    awarded_on: date
    created_at: datetime = timestamp(default_now=True)
    pdf_path: str | None = Field(default=None, max_length=300)
    pdf_sha256: str | None = Field(default=None, max_length=64)
    generated_at: datetime | None = timestamp(nullable=True)
    revoked_at: datetime | None = timestamp(nullable=True)


class MailingListMember(SQLModel, table=True):
    """A resident who asked to hear about programmes for their building's area."""

    __tablename__ = "training_mailing_list"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    building_id: uuid.UUID = Field(foreign_key="building.id", index=True, ondelete="CASCADE")
    joined_at: datetime = timestamp()


class ReportConfirmation(SQLModel, table=True):
    """An ambassador's word that a report about their building is real; once each."""

    __tablename__ = "report_confirmation"

    report_id: uuid.UUID = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    building_id: uuid.UUID = Field(foreign_key="building.id", ondelete="CASCADE")
    created_at: datetime = timestamp()

"""Report tables: the report, its timeline, rounds, photos, supporters, subscribers and map
cells."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    Identity,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.db import enum_field, table_of, timestamp, uuid_pk
from service.reports.states import ReportState

DESCRIPTION_MAX = 4000


class Report(SQLModel, table=True):
    __tablename__ = "report"
    __table_args__ = (
        Index(
            "ix_report_location_geography", text("(location::geography)"), postgresql_using="gist"
        ),
        # Nearby open reports (duplicate hints while filing): only the open ones, a few
        # per cent of a city's history, so a probe reads the handful it returns.
        Index(
            "ix_report_open_location_geography",
            text("(location::geography)"),
            postgresql_using="gist",
            postgresql_where=text(
                "state IN ('accepted', 'awaiting_info', 'in_progress', 'reopened', 'transferred')"
            ),
        ),
        # Public lists: newest first, keyset on (created_at, id).
        Index("ix_report_created_id", "created_at", "id"),
        Index("ix_report_department_state", "department_id", "state"),
        # The moderation queue: submitted reports, oldest first.
        Index(
            "ix_report_moderation_queue",
            "submitted_at",
            postgresql_where=text("state = 'submitted'"),
        ),
        Index("ix_report_reporter_created", "reporter_id", "created_at"),
        # Department queues: open reports of a department by due time (keyset on due_at, id).
        Index(
            "ix_report_queue",
            "department_id",
            "due_at",
            "id",
            postgresql_where=text(
                "state IN ('accepted','in_progress','awaiting_info','reopened','transferred')"
            ),
        ),
        Index(
            "ix_report_assignee", "assignee_id", postgresql_where=text("assignee_id IS NOT NULL")
        ),
        # The daily quota of an API key filing on behalf of residents.
        Index(
            "ix_report_api_key_created",
            "filed_via_api_key_id",
            "created_at",
            postgresql_where=text("filed_via_api_key_id IS NOT NULL"),
        ),
        CheckConstraint(
            f"char_length(description) BETWEEN 1 AND {DESCRIPTION_MAX}", name="description_length"
        ),
        # The retention job's candidates: final reports whose contact data is still there.
        Index(
            "ix_report_retention_due",
            "updated_at",
            postgresql_where=text(
                "contact_removed_at IS NULL "
                "AND state IN ('closed','rejected','withdrawn','duplicate')"
            ),
        ),
    )

    id: uuid.UUID = uuid_pk()
    tracking_code: str = Field(max_length=16, unique=True)
    reporter_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="RESTRICT")
    # Filed by an API key for a resident (reports:on_behalf): counts against the key's quota.
    filed_on_behalf: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    filed_via_api_key_id: uuid.UUID | None = Field(
        default=None, foreign_key="api_key.id", ondelete="SET NULL"
    )
    # The building's ambassador who filed it for the reporter, their neighbour.
    helped_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    reason_id: uuid.UUID = Field(foreign_key="reason.id", index=True, ondelete="RESTRICT")
    category_id: uuid.UUID = Field(foreign_key="category.id", index=True, ondelete="RESTRICT")
    department_id: uuid.UUID = Field(foreign_key="department.id", ondelete="RESTRICT")
    district_id: uuid.UUID | None = Field(
        default=None, foreign_key="district.id", index=True, ondelete="SET NULL"
    )
    building_id: uuid.UUID | None = Field(
        default=None, foreign_key="building.id", index=True, ondelete="SET NULL"
    )
    location: Any = Field(
        sa_column=Column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    )
    address_text: str | None = Field(default=None, max_length=300)
    description: str = Field(max_length=DESCRIPTION_MAX)
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    anonymous_public: bool = Field(default=False)
    # The reporter's consent to publish the description and address text in the open data
    # (service.opendata); without it the downloads carry no free text of the report.
    text_in_open_data: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    state: ReportState = enum_field(ReportState.submitted, index=True)
    round: int = Field(default=1)
    # Raised by every change moderators and the department act on (service.reports.lifecycle).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)
    submitted_at: datetime | None = timestamp(nullable=True)
    moderation_due_at: datetime | None = timestamp(nullable=True)
    accepted_at: datetime | None = timestamp(nullable=True)
    due_at: datetime | None = timestamp(nullable=True, index=True)
    breached_at: datetime | None = timestamp(nullable=True)
    answered_at: datetime | None = timestamp(nullable=True)
    closed_at: datetime | None = timestamp(nullable=True)
    reject_code: str | None = Field(default=None, max_length=32)
    reject_text: str | None = Field(default=None, max_length=2000)
    duplicate_of_id: uuid.UUID | None = Field(
        default=None, foreign_key="report.id", ondelete="SET NULL"
    )
    # Department work (service.queues): who works on it, its priority, and since when it
    # waits for the reporter's answer (the SLA clock is paused meanwhile).
    assignee_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    priority_id: uuid.UUID | None = Field(
        default=None, foreign_key="response_priority.id", ondelete="SET NULL"
    )
    paused_at: datetime | None = timestamp(nullable=True)
    supporters_count: int = Field(default=0)
    subscribers_count: int = Field(default=0)
    photo_count: int = Field(default=0)
    # Ambassadors of the report's building who confirmed it (service.training.ambassadors).
    ambassador_confirmations: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # When the retention job removed the reporter's contact data (service.reports.retention).
    contact_removed_at: datetime | None = timestamp(nullable=True)


class ReportEvent(SQLModel, table=True):
    """One append-only timeline entry: who did what, from which state to which."""

    __tablename__ = "report_event"
    # ``seq`` is the table's (EVENT_SEQ below), never the model's: the database numbers it.
    __mapper_args__ = {"exclude_properties": ["seq"]}
    __table_args__ = (
        # Open311 servicerequestupdates: the public timeline of the whole city by time.
        Index("ix_report_event_public_at", "at", "id", postgresql_where=text("public")),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    at: datetime = timestamp(default_now=True)
    actor_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    actor_role: str | None = Field(default=None, max_length=32)
    type: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str | None = Field(default=None, max_length=32)
    public: bool = Field(default=True)
    data: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )


# Given by the database at insert: the order events were written in, also among the events
# of one transaction, which share one instant (a rating before the reopen it causes). Every
# view of a timeline orders by it. A column of the table, not of the model: the ORM never
# sends it, so the database always numbers the event.
EVENT_SEQ = Column("seq", BigInteger, Identity(always=False), nullable=False)
table_of(ReportEvent).append_column(EVENT_SEQ)
# A report's timeline in causal order.
Index("ix_report_event_report_seq", table_of(ReportEvent).c.report_id, EVENT_SEQ)
Index("uq_report_event_seq", EVENT_SEQ, unique=True)


class ReportPhoto(SQLModel, table=True):
    __tablename__ = "report_photo"

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    uploader_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    content_type: str = Field(max_length=32)
    width: int
    height: int
    size_bytes: int
    sha256: str = Field(max_length=64)
    path: str = Field(max_length=300)
    thumbnail_path: str | None = Field(default=None, max_length=300)
    created_at: datetime = timestamp(default_now=True)


class ReportSupport(SQLModel, table=True):
    """A "me too": one per person per report."""

    __tablename__ = "report_support"

    report_id: uuid.UUID = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    created_at: datetime = timestamp(default_now=True)


class ReportSubscription(SQLModel, table=True):
    __tablename__ = "report_subscription"

    report_id: uuid.UUID = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    created_at: datetime = timestamp(default_now=True)


class ReportRound(SQLModel, table=True):
    """One round of work on a report: opened by acceptance (round 1) or by a reopen, in one
    department, with its deadline. The SLA engine keys reminders and escalations on rounds;
    KPIs aggregate them. Working-time durations are stored when the round ends, because the
    working calendar lives in Python (``service.calendar``)."""

    __tablename__ = "report_round"
    __table_args__ = (
        UniqueConstraint("report_id", "number", name="uq_report_round_number"),
        # Open rounds falling due: the SLA sweep and "overdue now".
        Index("ix_report_round_open_due", "due_at", postgresql_where=text("ended_at IS NULL")),
        Index("ix_report_round_department_opened", "department_id", "opened_at"),
        # Rounds whose SLA timers need planning (new, or their deadline moved).
        Index(
            "ix_report_round_unplanned",
            "id",
            postgresql_where=text("ended_at IS NULL AND timers_for_due IS DISTINCT FROM due_at"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    number: int = Field(ge=1)
    department_id: uuid.UUID = Field(foreign_key="department.id", ondelete="RESTRICT")
    opened_at: datetime = timestamp()
    due_at: datetime = timestamp()
    # The deadline the round started with; due_at moves with pauses and extensions.
    initial_due_at: datetime = timestamp()
    paused_working_seconds: int = Field(default=0)
    extensions: int = Field(default=0)
    answered_at: datetime | None = timestamp(nullable=True)
    # Working time from opening to the answer, pauses excluded (set when answered).
    answer_working_seconds: int | None = Field(default=None)
    on_time: bool | None = Field(default=None)
    breached_at: datetime | None = timestamp(nullable=True)
    # When the reporter's "not resolved" on the last round allowed sent the report to the
    # supervisor, who closes it (the rating window does not).
    referred_at: datetime | None = timestamp(nullable=True)
    ended_at: datetime | None = timestamp(nullable=True)
    # The due time the round's SLA timers were planned for (service.sla.engine); differs
    # from due_at while they need planning again.
    timers_for_due: datetime | None = timestamp(nullable=True)


class ReportMapCell(SQLModel, table=True):
    """Public reports per map cell and state, for the map's clusters: the cells of every
    zoom from 16 (~40 m) down to 0, 1/8 of a tile each (kept by service/reports/mapview.py
    from the cells changed reports touched)."""

    __tablename__ = "report_map_cell"

    zoom: int = Field(sa_column=Column(SmallInteger, primary_key=True, nullable=False))
    cx: int = Field(primary_key=True)
    cy: int = Field(primary_key=True)
    state: str = Field(sa_column=Column(String, primary_key=True, nullable=False))
    n: int
    sum_lon: float = Field(sa_column=Column(Double, nullable=False))
    sum_lat: float = Field(sa_column=Column(Double, nullable=False))


class ReportMapCellDirty(SQLModel, table=True):
    """The map cells a change of a report touched since the last recount (written by a
    trigger on ``report``; an append-only log, so concurrent writers never wait)."""

    __tablename__ = "report_map_cell_dirty"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    cx: int
    cy: int

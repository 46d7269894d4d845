"""SLA timers: each reminder, breach and escalation of a round is one row, unique per
(report, round, kind, level), so it happens exactly once however many workers, retries or
duplicate jobs there are (PRODUCT.md §5)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class TimerKind(StrEnum):
    reminder = "reminder"  # level 1: a working day before due; level 2: 2 working hours
    breach = "breach"  # level 1: at due time, the round is overdue; the supervisor is told
    escalation = "escalation"  # level 2: the parent department; level 3: the city's admins
    moderation = "moderation"  # a submitted report not moderated in time (round 0)
    rating_reminder = "rating_reminder"  # the reporter, before the rating window closes


class SlaTimer(SQLModel, table=True):
    __tablename__ = "sla_timer"
    __table_args__ = (
        UniqueConstraint("report_id", "round_number", "kind", "level", name="uq_sla_timer_once"),
        # The sweep: pending timers by when they fire.
        Index(
            "ix_sla_timer_pending",
            "fire_at",
            postgresql_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    round_number: int
    kind: TimerKind = enum_field()
    level: int
    fire_at: datetime = timestamp()
    # The round's due time the timer was computed for: a timer whose round's deadline moved
    # since (a pause, an extension, a transfer resetting the clock) is planned again.
    due_basis: datetime | None = timestamp(nullable=True)
    fired_at: datetime | None = timestamp(nullable=True)
    cancelled_at: datetime | None = timestamp(nullable=True)
    # Seconds from fire_at to when it fired: the lag the SLA promise is measured by.
    lag_seconds: float | None = Field(default=None)

"""Department work beyond the report row: response priorities, transfer requests and
extension requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class ResponsePriority(SQLModel, table=True):
    """A department's own priority levels (e.g. "urgent", "routine"), optionally mapped to a
    code of the city's own case system."""

    __tablename__ = "response_priority"
    __table_args__ = (UniqueConstraint("department_id", "code", name="uq_response_priority_code"),)

    id: uuid.UUID = uuid_pk()
    department_id: uuid.UUID = Field(foreign_key="department.id", ondelete="CASCADE")
    code: str = Field(max_length=40)
    name: str = Field(max_length=120)
    position: int = Field(default=0)
    external_code: str | None = Field(default=None, max_length=60)
    active: bool = Field(default=True)


class RequestState(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    cancelled = "cancelled"


class TransferRequest(SQLModel, table=True):
    """Staff asking to move a report to another department; the target department (or the
    dispatcher) accepts or declines. Supervisors transfer directly (no request)."""

    __tablename__ = "transfer_request"
    __table_args__ = (
        Index(
            "uq_transfer_request_pending",
            "report_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_transfer_request_target", "to_department_id", "state"),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    from_department_id: uuid.UUID = Field(foreign_key="department.id", ondelete="CASCADE")
    to_department_id: uuid.UUID = Field(foreign_key="department.id", ondelete="CASCADE")
    reason: str = Field(max_length=2000)
    reset_clock: bool = Field(default=False)
    state: RequestState = enum_field(RequestState.pending)
    requested_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp(default_now=True)
    decided_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    decided_at: datetime | None = timestamp(nullable=True)
    decision_note: str | None = Field(default=None, max_length=2000)


class ExtensionRequest(SQLModel, table=True):
    """Staff asking for a later deadline with a justification; a supervisor decides. An
    approved extension is public, with its justification."""

    __tablename__ = "extension_request"
    __table_args__ = (
        Index(
            "uq_extension_request_pending",
            "report_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", ondelete="CASCADE")
    round_number: int
    requested_due_at: datetime = timestamp()
    justification: str = Field(max_length=2000)
    state: RequestState = enum_field(RequestState.pending)
    requested_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp(default_now=True)
    decided_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    decided_at: datetime | None = timestamp(nullable=True)
    decision_note: str | None = Field(default=None, max_length=2000)

"""Department work beyond the report row: response priorities, transfer requests and
extension requests; and the indexes the department queue's filters need on the report table
(``ix_report_queue`` on (department_id, due_at, id) of open reports serves the default order)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint, func, literal_column, text
from sqlmodel import Field, SQLModel, col

from service.db import enum_field, timestamp, uuid_pk
from service.reports.models import Report

OPEN_REPORT = "state IN ('accepted','in_progress','awaiting_info','reopened','transferred')"


def _concat(left: Any, right: Any) -> Any:
    return left.op("||")(right)


# What the queue's text filter searches, lower-cased: tracking code, address and description.
# The constants are literal SQL, so the query's expression is the index's (a bound parameter
# would not match the indexed expression); grouped as PostgreSQL prints the index back, so
# alembic's comparison of models and database sees one expression.
QUEUE_TEXT = func.lower(
    _concat(
        _concat(
            _concat(
                _concat(col(Report.tracking_code), literal_column("' '")),
                func.coalesce(col(Report.address_text), literal_column("''")),
            ),
            literal_column("' '"),
        ),
        col(Report.description),
    )
)

# Trigram search over the open reports only (LIKE '%…%' on QUEUE_TEXT).
Index(
    "ix_report_queue_text",
    QUEUE_TEXT.label("queue_text"),
    postgresql_using="gin",
    postgresql_ops={"queue_text": "gin_trgm_ops"},
    postgresql_where=text(OPEN_REPORT),
)
# Open reports by due time, whatever their department: a subtree's queue reads its page in
# order off this, filtering the departments. Without it the planner may walk the whole
# ix_report_due_at (closed reports of years first) looking for open ones.
Index(
    "ix_report_queue_due",
    col(Report.due_at),
    col(Report.id),
    postgresql_where=text(OPEN_REPORT),
)
# The counts per state: an index-only scan of the department's open reports, the columns of
# the usual filters and of "overdue" included (the text filter alone reads the table).
Index(
    "ix_report_queue_counts",
    col(Report.department_id),
    col(Report.state),
    postgresql_include=[
        "due_at",
        "breached_at",
        "assignee_id",
        "reason_id",
        "district_id",
        "priority_id",
    ],
    postgresql_where=text(OPEN_REPORT),
)
# "My queue": one person's open reports by due time.
Index(
    "ix_report_queue_assignee",
    col(Report.assignee_id),
    col(Report.due_at),
    col(Report.id),
    postgresql_where=text(f"assignee_id IS NOT NULL AND {OPEN_REPORT}"),
)


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

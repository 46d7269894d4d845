"""What enters and leaves the department work API: the queue, assignment, notes,
clarifications, transfers, extensions, priorities and bulk actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.fields import PlainText
from service.queues.models import RequestState
from service.reports.schemas import ReportView
from service.reports.states import ReportState

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
]
Note = Annotated[str, StringConstraints(max_length=2000), PlainText]
Justification = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=5, max_length=2000), PlainText
]


class Person(BaseModel):
    id: uuid.UUID
    display_name: str


class PriorityRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    external_code: str | None


class WorkItem(BaseModel):
    """A report as its department works on it."""

    report: ReportView
    assignee: Person | None = Field(description="Who works on it (staff views only).")
    priority: PriorityRef | None = Field(description="The department's priority (staff only).")
    paused_at: datetime | None = Field(
        description="Since when the report waits for the reporter's answer (the clock is "
        "paused); staff only."
    )


class QueueCounts(BaseModel):
    """Reports per open state under the page's filters (the state filter aside)."""

    accepted: int = 0
    in_progress: int = 0
    awaiting_info: int = 0
    reopened: int = 0
    transferred: int = 0
    total: int = 0
    overdue: int = 0


class QueuePage(BaseModel):
    items: list[WorkItem]
    next_cursor: str | None
    counts: QueueCounts
    departments: list[uuid.UUID] = Field(description="The departments the queue covers.")


class QueueSort(StrEnum):
    due_at = "due_at"
    latest_due_first = "-due_at"


# --- assignment, notes, priority -----------------------------------------------------------


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = Field(description="A colleague holding staff or supervisor there.")


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    public: bool = Field(
        default=False,
        description="false: an internal note, seen by the department, moderators and admins "
        "only. true: a public status note on the report's timeline.",
    )


class NoteView(BaseModel):
    id: uuid.UUID
    at: datetime
    type: str
    public: bool
    text: str


class PrioritySet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority_id: uuid.UUID | None = Field(description="One of the department's; null clears it.")


# --- clarification -------------------------------------------------------------------------


class ClarificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Text


class ClarificationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), PlainText
    ]


# --- transfers -----------------------------------------------------------------------------


class TransferCreate(BaseModel):
    """A supervisor's direct transfer."""

    model_config = ConfigDict(extra="forbid")

    to_department_id: uuid.UUID
    reason: Justification
    reset_clock: bool = Field(
        default=False,
        description="Start a fresh deadline from now on the reason's SLA; otherwise the "
        "deadline is kept.",
    )


class TransferRequestCreate(BaseModel):
    """Staff asking the target department (or the dispatcher) to take a report."""

    model_config = ConfigDict(extra="forbid")

    to_department_id: uuid.UUID
    reason: Justification


class TransferDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None
    reset_clock: bool = Field(
        default=False,
        description="Accepting only, by a supervisor: a fresh deadline from now.",
    )


class TransferRequestView(BaseModel):
    id: uuid.UUID
    report_id: uuid.UUID
    tracking_code: str
    from_department_id: uuid.UUID
    to_department_id: uuid.UUID
    reason: str
    reset_clock: bool
    state: RequestState
    requested_by_id: uuid.UUID | None
    created_at: datetime
    decided_by_id: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None


class TransferRequestPage(BaseModel):
    items: list[TransferRequestView]
    next_cursor: str | None


class TransferDirection(StrEnum):
    incoming = "incoming"
    outgoing = "outgoing"


# --- extensions ----------------------------------------------------------------------------


class ExtensionRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_at: AwareDatetime = Field(description="The new deadline asked for (with its offset).")
    justification: Justification


class ExtensionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class ExtensionRequestView(BaseModel):
    id: uuid.UUID
    report_id: uuid.UUID
    tracking_code: str
    department_id: uuid.UUID
    round_number: int
    current_due_at: datetime | None
    requested_due_at: datetime
    justification: str
    state: RequestState
    requested_by_id: uuid.UUID | None
    created_at: datetime
    decided_by_id: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None


class ExtensionRequestPage(BaseModel):
    items: list[ExtensionRequestView]
    next_cursor: str | None


# --- priorities ----------------------------------------------------------------------------

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$"),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), PlainText
]
ExternalCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), PlainText
]


class PriorityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    position: int = Field(default=0, ge=0, le=1000, description="Lower comes first.")
    external_code: ExternalCode | None = Field(
        default=None, description="The matching code in the city's own case system."
    )


class PriorityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    position: int | None = Field(default=None, ge=0, le=1000)
    external_code: ExternalCode | None = None
    active: bool | None = None


class PriorityView(BaseModel):
    id: uuid.UUID
    department_id: uuid.UUID
    code: str
    name: str
    position: int
    external_code: str | None
    active: bool


# --- bulk ----------------------------------------------------------------------------------


class BulkAction(StrEnum):
    """What a bulk request does to each report. Another action (such as answering with a
    response template) adds a member here, its fields to ``BulkWorkRequest`` and its handler
    to ``service.queues.bulk.HANDLERS``."""

    assign = "assign"
    status_note = "status_note"


class BulkWorkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: BulkAction
    report_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    user_id: uuid.UUID | None = Field(default=None, description="assign: the colleague.")
    text: Text | None = Field(default=None, description="status_note: the public note.")

    @model_validator(mode="after")
    def _fields_for_action(self) -> BulkWorkRequest:
        if self.action is BulkAction.assign and self.user_id is None:
            raise ValueError("assign needs user_id")
        if self.action is BulkAction.status_note and self.text is None:
            raise ValueError("status_note needs text")
        if len(set(self.report_ids)) != len(self.report_ids):
            raise ValueError("report ids repeat")
        return self


class BulkWorkItem(BaseModel):
    id: uuid.UUID
    status: int = Field(description="200, or the problem's status for this report alone.")
    state: ReportState | None = None
    detail: str | None = None


class BulkWorkResult(BaseModel):
    results: list[BulkWorkItem]

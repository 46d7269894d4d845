"""What enters and leaves the feedback API: response templates, official responses, answer
moderation, ratings and the KPI tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.catalog.schemas import Code
from service.feedback.models import Outcome, ResponseState
from service.fields import PlainText
from service.reports.schemas import Named, ReportView
from service.reports.states import ReportState

TemplateText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), PlainText
]
ResponseText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), PlainText
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
]

# States a report can enter after acceptance: where a template may post a status note.
AUTO_STATES = frozenset(
    {
        ReportState.accepted,
        ReportState.in_progress,
        ReportState.awaiting_info,
        ReportState.answered,
        ReportState.reopened,
        ReportState.transferred,
        ReportState.closed,
    }
)


# --- templates ------------------------------------------------------------------------------


class TemplateTexts(BaseModel):
    """A template's text in the city's languages; Estonian is required, the others fall back
    to it. Placeholders: ``{tracking_code}``, ``{address}``, ``{due_date}``, ``{reason}``,
    ``{department}``, ``{scheduled_date}``; ``{{`` and ``}}`` are literal braces."""

    model_config = ConfigDict(extra="forbid")

    et: TemplateText
    en: TemplateText | None = None
    ru: TemplateText | None = None


def _check_auto_state(state: ReportState | None) -> None:
    if state is not None and state not in AUTO_STATES:
        allowed = ", ".join(sorted(AUTO_STATES))
        raise ValueError(f"apply_on_state must be one of {allowed}")


class TemplateCreate(BaseModel):
    """A template for one reason, or for any reason of one department."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    reason_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    outcome: Outcome | None = Field(
        default=None, description="The outcome an answer from this template states by default."
    )
    texts: TemplateTexts
    apply_on_state: ReportState | None = Field(
        default=None,
        description="Post the text as a public status note whenever a report of the reason "
        "(or department) enters this state.",
    )
    active: bool = True

    @model_validator(mode="after")
    def _scope(self) -> TemplateCreate:
        if (self.reason_id is None) == (self.department_id is None):
            raise ValueError("give either reason_id or department_id")
        _check_auto_state(self.apply_on_state)
        return self


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = None
    texts: TemplateTexts | None = None
    apply_on_state: ReportState | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _state(self) -> TemplateUpdate:
        _check_auto_state(self.apply_on_state)
        return self


class TemplatePublic(BaseModel):
    id: uuid.UUID
    code: str
    reason_id: uuid.UUID | None
    department_id: uuid.UUID | None
    outcome: Outcome | None
    texts: dict[str, str]
    apply_on_state: ReportState | None
    active: bool
    placeholders: list[str] = Field(description="The placeholders the texts use.")
    created_at: datetime


class TemplateForReport(BaseModel):
    """A template that fits a report, rendered for it in the reporter's language."""

    id: uuid.UUID
    code: str
    scope: str = Field(description="reason or department")
    outcome: Outcome | None
    apply_on_state: ReportState | None
    language: str
    text: str


# --- responses ------------------------------------------------------------------------------


class ResponseCreate(BaseModel):
    """An official answer: its outcome and text, or a template to render the text from."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = Field(
        default=None, description="Required unless the template names one."
    )
    text: ResponseText | None = Field(
        default=None, description="The answer; without it the template's text, rendered."
    )
    template_id: uuid.UUID | None = None
    scheduled_for: date | None = Field(
        default=None, description="With `scheduled`: when the work is done (not in the past)."
    )
    justification: Note | None = Field(
        default=None, description="With `no_action`: why nothing will be done (required)."
    )

    @model_validator(mode="after")
    def _text(self) -> ResponseCreate:
        if self.text is None and self.template_id is None:
            raise ValueError("give the text or a template_id")
        return self


class ResponseInternal(BaseModel):
    """What the department and moderators see of a response besides its public part."""

    author_id: uuid.UUID | None
    template_id: uuid.UUID | None
    moderated_by_id: uuid.UUID | None
    moderated_at: datetime | None
    moderation_comment: str | None


class RoundRating(BaseModel):
    """How the answer of a round was rated: the reporter's rating, and supporters' apart."""

    reporter_score: int | None
    reporter_resolved: bool | None
    supporters_count: int
    supporters_average: float | None


class ResponseView(BaseModel):
    id: uuid.UUID
    report_id: uuid.UUID
    round: int
    outcome: Outcome
    scheduled_for: date | None
    justification: str | None
    text: str
    state: ResponseState
    created_at: datetime
    published_at: datetime | None
    rating_window_ends_at: datetime | None = Field(
        description="Until when the answer may be rated (published answers)."
    )
    rating: RoundRating | None = Field(default=None, description="Published answers only.")
    internal: ResponseInternal | None = Field(
        default=None, description="The department, moderators and admins only."
    )


class AnswerQueueItem(BaseModel):
    response: ResponseView
    report: ReportView
    waiting_since: datetime


class AnswerQueuePage(BaseModel):
    items: list[AnswerQueueItem]
    next_cursor: str | None


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Note = Field(description="What the department should change; sent to the author.")


class ReferredReport(BaseModel):
    """A report referred to the department's supervisors after its last reopen round."""

    report: ReportView
    referred_at: datetime


class ReferralClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = Field(description="The supervisor's closing word, public on the timeline.")


# --- ratings --------------------------------------------------------------------------------


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    resolved: bool = Field(description="Is the problem solved? The reporter's no reopens.")
    comment: Note | None = None


class RatingView(BaseModel):
    report_id: uuid.UUID
    round: int
    score: int
    resolved: bool
    comment: str | None
    by_reporter: bool
    created_at: datetime
    updated_at: datetime
    rating_window_ends_at: datetime
    report_state: ReportState
    consequence: str | None = Field(
        default=None,
        description="What this rating did: closed, reopened or referred_to_supervisor.",
    )


# --- KPIs -----------------------------------------------------------------------------------


class KpiFigures(BaseModel):
    """One department's (or reason's) figures over a period. A reopened report counts once
    per round: each round is received, answered and rated on its own."""

    received: int = Field(description="Rounds opened in the period (acceptances and reopens).")
    answered: int = Field(description="Rounds answered in the period.")
    on_time: int = Field(description="Of the answered rounds, those answered by their due time.")
    on_time_percent: float | None
    median_answer_hours: float | None = Field(
        description="Working hours from opening to answer (pauses excluded), answered rounds."
    )
    p90_answer_hours: float | None
    overdue_now: int = Field(description="Open rounds past their due time now (not paused).")
    ratings: int = Field(description="Reporters' ratings of the rounds answered in the period.")
    average_rating: float | None
    supporter_ratings: int
    supporters_average_rating: float | None
    reopened: int = Field(description="Of the answered rounds, those the reporter reopened.")
    reopen_percent: float | None
    moderated: int = Field(description="Reports filed in the period that moderators decided on.")
    rejected: int
    rejected_percent: float | None


class DepartmentKpis(KpiFigures):
    department: Named


class ReasonKpis(KpiFigures):
    reason: Named


class StatsPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to", description="Inclusive.")
    time_zone: str
    generated_at: datetime


class LeagueTable(BaseModel):
    period: StatsPeriod
    departments: list[DepartmentKpis] = Field(
        description="Active departments, best on-time share first."
    )


class DepartmentStats(BaseModel):
    period: StatsPeriod
    department: Named
    total: KpiFigures
    reasons: list[ReasonKpis] = Field(description="Reasons with any figure in the period.")

"""What enters and leaves the idea bank's API. One schema per audience, so that what each
may see is fixed by its type:

* ``IdeaPublic`` — everyone (experts included): no author, no organisation, no reviewer.
* ``IdeaOwn`` — the author: their idea with the check results and the office's comments,
  how many reviews are in, never who wrote them.
* ``IdeaForReview`` / ``ReviewAssignment`` — an assigned expert: the proposal's content
  only, never the author or their organisation.
* ``IdeaStaff`` — the project office, the committee and admins: everything, reviewers'
  identities for the office and admins only (``ReviewStaff.expert_id``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.fields import FiniteFloat, PatchBody, PlainText
from service.ideas.models import AttachmentKind, CostBand, Decision, IdeaState

Code = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), PlainText]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), PlainText]
Reasoning = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), PlainText
]
Organisation = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40),
    PlainText,
]
Criterion = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")
]
CheckedField = Literal["summary", "problem", "solution", "benefit", "cost_band", "location"]
DEFAULT_REQUIRED: list[CheckedField] = ["summary", "problem", "solution", "benefit", "cost_band"]


class AreaRules(BaseModel):
    """The automatic checks of an area (stage 1)."""

    model_config = ConfigDict(extra="forbid")

    required_fields: list[CheckedField] = Field(
        default_factory=lambda: list(DEFAULT_REQUIRED),
        max_length=6,
    )
    title_min: int = Field(10, ge=1, le=200)
    title_max: int = Field(150, ge=1, le=200)
    summary_min: int = Field(40, ge=0, le=2000)
    summary_max: int = Field(1500, ge=1, le=2000)
    # Problem, solution and benefit, each when given.
    text_min: int = Field(20, ge=0, le=4000)
    # Trigram similarity (0–1) of title or summary to a public idea that counts as a duplicate.
    similarity_threshold: float = Field(0.6, ge=0.2, le=1.0)

    @model_validator(mode="after")
    def _bounds(self) -> AreaRules:
        if self.title_min > self.title_max or self.summary_min > self.summary_max:
            raise ValueError("a minimum length is above its maximum")
        return self


class AreaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    description: LongText = ""
    department_id: uuid.UUID
    min_reviews: int = Field(3, ge=1, le=10)
    review_days: int = Field(5, ge=1, le=60, description="Working days an expert has.")
    criteria: list[Criterion] = Field(
        default_factory=lambda: ["relevance", "feasibility", "impact"], min_length=1, max_length=10
    )
    rules: AreaRules = Field(default_factory=AreaRules)


class AreaUpdate(PatchBody):
    name: Name | None = None
    description: LongText | None = None
    department_id: uuid.UUID | None = None
    min_reviews: int | None = Field(None, ge=1, le=10)
    review_days: int | None = Field(None, ge=1, le=60)
    criteria: list[Criterion] | None = Field(None, min_length=1, max_length=10)
    rules: AreaRules | None = None
    active: bool | None = None


class AreaPublic(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    description: str
    department_id: uuid.UUID
    min_reviews: int
    review_days: int
    criteria: list[str]
    rules: AreaRules
    active: bool


class ExpertAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    organisation: Organisation | None = None


class ExpertMember(BaseModel):
    """A pool member, for admins and the project office."""

    user_id: uuid.UUID
    display_name: str
    organisation: str | None
    active: bool
    open_reviews: int


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: Annotated[FiniteFloat, Field(ge=-90, le=90)]
    lon: Annotated[FiniteFloat, Field(ge=-180, le=180)]


class IdeaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area_id: uuid.UUID
    title: Title
    summary: Summary = ""
    problem: LongText = ""
    solution: LongText = ""
    benefit: LongText = ""
    cost_band: CostBand | None = None
    location: Point | None = None
    district_id: uuid.UUID | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=10)
    organisation: Organisation | None = Field(
        None, description="Who the idea is proposed for; its experts are left out of review."
    )


class IdeaUpdate(PatchBody):
    clearable = frozenset({"cost_band", "location", "district_id", "organisation"})

    area_id: uuid.UUID | None = None
    title: Title | None = None
    summary: Summary | None = None
    problem: LongText | None = None
    solution: LongText | None = None
    benefit: LongText | None = None
    cost_band: CostBand | None = None
    location: Point | None = None
    district_id: uuid.UUID | None = None
    tags: list[Tag] | None = Field(None, max_length=10)
    organisation: Organisation | None = None


class AttachmentRef(BaseModel):
    id: uuid.UUID
    kind: AttachmentKind
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    pages: int | None
    url: str


class IdeaContent(BaseModel):
    """The proposal itself: what every audience sees."""

    id: uuid.UUID
    area_id: uuid.UUID
    title: str
    summary: str
    problem: str
    solution: str
    benefit: str
    cost_band: CostBand | None
    location: Point | None
    district_id: uuid.UUID | None
    tags: list[str]
    attachments: list[AttachmentRef]


class IdeaForReview(IdeaContent):
    """What an assigned expert sees: the content, nothing about who proposed it."""


class IdeaPublic(IdeaContent):
    state: IdeaState
    round: int | None
    support_count: int
    published_at: datetime | None
    decision: Decision | None
    decision_reason: str | None
    rank: int | None
    decided_at: datetime | None


class CheckFailure(BaseModel):
    rule: str
    field: str | None = None
    detail: str
    similar_idea_id: uuid.UUID | None = None


class IdeaOwn(IdeaPublic):
    """The author's view: the results addressed to them, no reviewer."""

    organisation: str | None
    attempt: int
    check_failures: list[CheckFailure]
    design_comment: str | None
    reviews_received: int
    reviews_needed: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class ReviewStatus(StrEnum):
    open = "open"
    submitted = "submitted"
    lapsed = "lapsed"


class ReviewStaff(BaseModel):
    id: uuid.UUID
    attempt: int
    # The reviewer: for the project office and admins; None for the committee.
    expert_id: uuid.UUID | None
    status: ReviewStatus
    assigned_at: datetime
    due_at: datetime
    submitted_at: datetime | None
    scores: dict[str, int]
    score: float | None
    comment: str | None


class IdeaStaff(IdeaOwn):
    author_id: uuid.UUID
    author_name: str
    score_mean: float | None
    score_spread: float | None
    reviews: list[ReviewStaff]


class ReviewAssignment(BaseModel):
    """An expert's own review, with the idea as experts see it."""

    id: uuid.UUID
    status: ReviewStatus
    criteria: list[str]
    assigned_at: datetime
    due_at: datetime
    submitted_at: datetime | None
    scores: dict[str, int]
    comment: str | None
    idea: IdeaForReview


class ReviewSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: dict[Criterion, Annotated[int, Field(ge=1, le=5)]] = Field(
        min_length=1, max_length=10, description="1–5 for each of the area's criteria."
    )
    comment: LongText = ""


class DesignDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "return", "reject"]
    comment: LongText = Field("", description="Required when returning or rejecting.")

    @model_validator(mode="after")
    def _comment(self) -> DesignDecision:
        if self.decision != "approve" and not self.comment:
            raise ValueError("say why the idea is returned or rejected (comment)")
        return self


class CommitteeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idea_id: uuid.UUID
    rank: int = Field(ge=1, le=10_000)
    decision: Decision
    reasoning: Reasoning


class CommitteeDecisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round: int = Field(ge=2000, le=2100)
    decisions: list[CommitteeItem] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _distinct(self) -> CommitteeDecisions:
        ideas = [d.idea_id for d in self.decisions]
        ranks = [d.rank for d in self.decisions]
        if len(set(ideas)) != len(ideas) or len(set(ranks)) != len(ranks):
            raise ValueError("each idea and each rank may appear once")
        return self


class IdeaPage(BaseModel):
    items: list[IdeaPublic]
    next_cursor: str | None


class OwnIdeaPage(BaseModel):
    items: list[IdeaOwn]


class StaffIdeaPage(BaseModel):
    items: list[IdeaStaff]


class AssignmentPage(BaseModel):
    items: list[ReviewAssignment]


class TimelineEvent(BaseModel):
    type: str
    from_state: str | None
    to_state: str | None
    created_at: datetime
    details: dict[str, object]


class SupportState(BaseModel):
    supported: bool
    support_count: int


class AreaStats(BaseModel):
    area_id: uuid.UUID
    code: str
    name: str
    submitted: int = Field(description="Ideas submitted at least once.")
    passed_checks: int
    passed_experts: int
    passed_design: int
    decided: int
    implement: int
    pilot: int
    declined: int


class DecisionResult(BaseModel):
    decided: list[IdeaPublic]

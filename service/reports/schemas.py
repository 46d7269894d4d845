"""What enters and leaves the reports API."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from service.city.schemas import Latitude, Longitude
from service.fields import PatchBody, PlainText
from service.reports.models import DESCRIPTION_MAX, ReportPhoto
from service.reports.states import ReportState

Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX),
    PlainText,
]
AddressText = Annotated[str, StringConstraints(max_length=300), PlainText]
Note = Annotated[str, StringConstraints(max_length=2000), PlainText]


class ReportCreate(BaseModel):
    """A new report: a reason, and a place given as a point or as a building."""

    model_config = ConfigDict(extra="forbid")

    reason_id: uuid.UUID
    lat: Latitude | None = None
    lon: Longitude | None = None
    building_id: uuid.UUID | None = Field(
        default=None, description="File against a building: its point is the location."
    )
    address_text: AddressText | None = None
    description: Description
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=30)
    anonymous_public: bool = Field(
        default=False, description="Hide the reporter's name from the public (never from staff)."
    )
    text_in_open_data: bool = Field(
        default=False,
        description="Allow the description and address text to be published in the city's "
        "open data downloads (without it they carry none of the report's own words).",
    )
    on_behalf_of: EmailStr | None = Field(
        default=None,
        description="With an API key holding `reports:on_behalf`: the resident's email address "
        "(an address without an account becomes a contact reporter).",
    )

    @model_validator(mode="after")
    def _place(self) -> ReportCreate:
        has_point = self.lat is not None or self.lon is not None
        if has_point and (self.lat is None or self.lon is None):
            raise ValueError("give both lat and lon")
        if has_point == (self.building_id is not None):
            raise ValueError("give either lat/lon or building_id")
        return self


class ReportUpdate(PatchBody):
    """What a reporter may change before the report is accepted (the open-data consent at
    any time)."""

    clearable = frozenset({"address_text"})

    description: Description | None = None
    address_text: AddressText | None = None
    attributes: dict[str, Any] | None = Field(default=None, max_length=30)
    anonymous_public: bool | None = None
    text_in_open_data: bool | None = Field(
        default=None,
        description="Consent to publish the text in the open data; may be given or withdrawn "
        "in any state.",
    )


class Named(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class Location(BaseModel):
    lat: float
    lon: float


class PhotoRef(BaseModel):
    id: uuid.UUID
    url: str
    thumbnail_url: str
    width: int
    height: int

    @classmethod
    def of(cls, photo: ReportPhoto) -> PhotoRef:
        base = f"/v1/reports/{photo.report_id}/photos/{photo.id}"
        return cls(
            id=photo.id,
            url=base,
            thumbnail_url=f"{base}?variant=thumbnail",
            width=photo.width,
            height=photo.height,
        )


class Reporter(BaseModel):
    id: uuid.UUID
    display_name: str | None = Field(
        default=None,
        description="null in lists of work (queue pages, work items, the moderation queues): "
        "the name is shown on the single report view, where its read is audited.",
    )
    email: str | None = Field(default=None, description="Shown to staff and moderators only.")


class ReportView(BaseModel):
    """A report as the caller may see it: ``private`` is null for the public."""

    id: uuid.UUID
    tracking_code: str
    version: int = Field(
        description="Raised by every change a moderator or the department acts on; also the "
        "`ETag` of the report. Moderation decisions send the version they saw."
    )
    state: ReportState
    reason: Named
    category_id: uuid.UUID
    department: Named
    district: Named | None
    building: Named | None = Field(description="code holds the address")
    location: Location
    address_text: str | None
    description: str
    attributes: dict[str, Any]
    reporter_name: str | None = Field(
        description="null when the reporter asked to be anonymous, and once the report is closed"
    )
    created_at: datetime
    accepted_at: datetime | None
    due_at: datetime | None
    overdue: bool
    answered_at: datetime | None
    closed_at: datetime | None
    duplicate_of: uuid.UUID | None
    supporters_count: int
    subscribers_count: int
    photo_count: int
    ambassador_confirmations: int = Field(
        description="Ambassadors of the report's building who confirmed it: shown as "
        "“confirmed by your building's ambassador”."
    )
    photos: list[PhotoRef] | None = Field(default=None, description="Only on single reports.")
    private: ReportPrivate | None = None


class PendingQuestion(BaseModel):
    text: str
    asked_at: datetime


class ReportPrivate(BaseModel):
    reporter: Reporter
    anonymous_public: bool
    text_in_open_data: bool = Field(
        default=False, description="The text may be published in the open data downloads."
    )
    submitted_at: datetime | None
    moderation_due_at: datetime | None
    reject_code: str | None
    reject_text: str | None
    round: int
    helped_by_id: uuid.UUID | None = Field(
        default=None, description="The building's ambassador who filed it for the reporter."
    )
    waiting_for: Literal["photo", "submit", "reply"] | None = Field(
        default=None,
        description="What the report waits for from its reporter: a draft its photo "
        "(`POST /v1/reports/{id}/photos`), then to be sent (`POST /v1/reports/{id}/submit`); a "
        "report awaiting information the reply to `question` "
        "(`POST /v1/reports/{id}/clarifications`). Null when it waits for nothing of theirs.",
    )
    question: PendingQuestion | None = Field(
        default=None,
        description="The department's question waiting for the reporter's reply (on the "
        "report's own view; null in lists).",
    )


class ReportPage(BaseModel):
    items: list[ReportView]
    next_cursor: str | None
    total: int | None = Field(
        default=None,
        description="How many reports match on all pages: given with `q` or `with_total=true` "
        "(a count costs a statement of its own), otherwise null.",
    )


class TimelineEvent(BaseModel):
    id: uuid.UUID
    at: datetime
    type: str
    from_state: str | None
    to_state: str | None
    public: bool
    actor_role: str | None
    data: dict[str, Any]


class NearbyReport(BaseModel):
    id: uuid.UUID
    tracking_code: str
    state: ReportState
    reason: Named
    location: Location
    distance_m: float
    description: str
    supporters_count: int
    created_at: datetime


class Engagement(BaseModel):
    supporting: bool
    subscribed: bool
    supporters_count: int
    subscribers_count: int


# --- moderation ----------------------------------------------------------------------------


class RejectCode(StrEnum):
    out_of_scope = "out_of_scope"
    duplicate = "duplicate"
    abusive = "abusive"
    not_enough_information = "not_enough_information"
    private_property = "private_property"
    already_fixed = "already_fixed"
    other = "other"


class AcceptRequest(BaseModel):
    """Accept, optionally correcting the reason or the place (the report is routed again)."""

    model_config = ConfigDict(extra="forbid")

    reason_id: uuid.UUID | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    note: Note | None = None
    version: int | None = Field(
        default=None,
        ge=1,
        le=2_000_000_000,
        description="The version of the report the moderator saw (or send `If-Match`).",
    )

    @model_validator(mode="after")
    def _both(self) -> AcceptRequest:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon")
        return self


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: RejectCode
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
    ]
    version: int | None = Field(
        default=None,
        ge=1,
        le=2_000_000_000,
        description="The version of the report the moderator saw (or send `If-Match`).",
    )


class DuplicateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    of: uuid.UUID = Field(description="The report this one repeats.")
    override: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=10, max_length=1000), PlainText
        ]
        | None
    ) = Field(
        default=None,
        description="Merge although the reasons are unrelated or the places far apart: the "
        "justification, kept in the audit log.",
    )
    version: int | None = Field(
        default=None,
        ge=1,
        le=2_000_000_000,
        description="The version of the report the moderator saw (or send `If-Match`).",
    )


class BulkTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    version: int = Field(ge=1, le=2_000_000_000, description="The version the moderator saw.")


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "reject"]
    items: list[BulkTarget] = Field(min_length=1, max_length=100)
    code: RejectCode | None = None
    text: Note | None = None

    @model_validator(mode="after")
    def _reject_needs_reason(self) -> BulkRequest:
        if self.action == "reject" and (self.code is None or not self.text):
            raise ValueError("rejecting needs code and text")
        if len({item.id for item in self.items}) != len(self.items):
            raise ValueError("ids repeat")
        return self


class BulkItem(BaseModel):
    id: uuid.UUID
    status: int
    state: ReportState | None = None
    version: int | None = None
    detail: str | None = None


class BulkResult(BaseModel):
    results: list[BulkItem]


class QueueItem(BaseModel):
    report: ReportView
    moderation_due_at: datetime | None
    overdue: bool


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


ReportView.model_rebuild()

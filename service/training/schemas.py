"""What enters and leaves the training API.

(Over 400 lines: many small request and answer models of one package, no logic.)
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from service.fields import PlainText
from service.reports.schemas import ReportView
from service.training.models import AttendanceMethod, EnrolmentStatus, ProgrammeState

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), PlainText]
Place = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), PlainText]
Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), PlainText
]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
BuildingIds = Annotated[list[uuid.UUID], Field(max_length=5000)]


class Material(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
    ]
    url: AnyHttpUrl


def _refuse_nulls(model: BaseModel, *names: str) -> None:
    """A change may leave these out, but not set them to null."""
    nulls = [n for n in names if n in model.model_fields_set and getattr(model, n) is None]
    if nulls:
        raise ValueError(f"{', '.join(nulls)} cannot be null")


# --- programmes ---------------------------------------------------------------------------


class ProgrammeCreate(BaseModel):
    """A new programme (a draft). Its pilot area is a district or a list of buildings."""

    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="A short stable name, e.g. `smart-house-2019`.")
    title: Title
    description: Text = ""
    pilot_district_id: uuid.UUID | None = None
    pilot_building_ids: BuildingIds = Field(default_factory=list)
    allow_outsiders: bool = Field(
        default=False, description="Residents of buildings outside the pilot area may enrol."
    )
    min_sessions: int = Field(
        ge=1, le=100, description="Sessions a participant must attend to qualify."
    )
    enrolment_opens_at: AwareDatetime | None = None
    enrolment_closes_at: AwareDatetime | None = None
    capacity: int | None = Field(
        default=None, ge=1, le=100_000, description="Places; the rest wait for one."
    )
    award_event_on: date | None = None
    award_event_place: Place | None = None
    coordinator_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=20,
        description="Further coordinators who run it (its creator always does).",
    )

    @model_validator(mode="after")
    def _pilot_area(self) -> ProgrammeCreate:
        if (self.pilot_district_id is None) == (not self.pilot_building_ids):
            raise ValueError("give either pilot_district_id or pilot_building_ids")
        if (
            self.enrolment_opens_at
            and self.enrolment_closes_at
            and self.enrolment_closes_at <= self.enrolment_opens_at
        ):
            raise ValueError("enrolment_closes_at must be after enrolment_opens_at")
        return self


class ProgrammeUpdate(BaseModel):
    """Changes to a programme (absent fields stay). A pilot area given replaces the old."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Text | None = None
    pilot_district_id: uuid.UUID | None = None
    pilot_building_ids: BuildingIds | None = None
    allow_outsiders: bool | None = None
    min_sessions: int | None = Field(default=None, ge=1, le=100)
    enrolment_opens_at: AwareDatetime | None = None
    enrolment_closes_at: AwareDatetime | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    award_event_on: date | None = None
    award_event_place: Place | None = None
    coordinator_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _one_area(self) -> ProgrammeUpdate:
        if self.pilot_district_id is not None and self.pilot_building_ids:
            raise ValueError("give either pilot_district_id or pilot_building_ids")
        _refuse_nulls(self, "title", "description", "allow_outsiders", "min_sessions")
        return self


class PilotArea(BaseModel):
    district_id: uuid.UUID | None
    district_name: str | None
    building_ids: list[uuid.UUID] = Field(description="When the area is a list of buildings.")


class SessionPublic(BaseModel):
    id: uuid.UUID
    programme_id: uuid.UUID
    position: int = Field(description="1 for the earliest session of the programme.")
    topic: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    capacity: int | None
    materials: list[Material]
    required: bool


class ProgrammeSummary(BaseModel):
    id: uuid.UUID
    code: str
    title: str
    state: ProgrammeState
    min_sessions: int
    sessions_count: int
    enrolment_opens_at: datetime | None
    enrolment_closes_at: datetime | None
    award_event_on: date | None


class ProgrammePublic(ProgrammeSummary):
    description: str
    pilot_area: PilotArea
    allow_outsiders: bool
    capacity: int | None
    enrolled: int
    waitlisted: int
    award_event_place: str | None
    coordinator_ids: list[uuid.UUID] | None = Field(
        default=None, description="Shown to the programme's coordinators and admins."
    )
    published_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    sessions: list[SessionPublic]


class ProgrammePage(BaseModel):
    items: list[ProgrammeSummary]
    next_cursor: str | None


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Topic
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    venue: Place = ""
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    materials: list[Material] = Field(default_factory=list, max_length=20)
    required: bool = Field(default=False, description="Qualifying needs this session.")

    @model_validator(mode="after")
    def _order(self) -> SessionCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionUpdate(BaseModel):
    """Changes to a session; enrolled participants are told when it is published."""

    model_config = ConfigDict(extra="forbid")

    topic: Topic | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    venue: Place | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    materials: list[Material] | None = Field(default=None, max_length=20)
    required: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> SessionUpdate:
        _refuse_nulls(self, "topic", "starts_at", "ends_at", "venue", "materials", "required")
        return self


# --- enrolment and attendance -------------------------------------------------------------


class EnrolmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: uuid.UUID = Field(description="The building the participant lives in.")


class EnrolmentPublic(BaseModel):
    programme_id: uuid.UUID
    status: EnrolmentStatus
    building_id: uuid.UUID
    building_address: str
    requested_at: datetime
    enrolled_at: datetime | None
    waitlist_position: int | None = Field(description="1 for the next to get a place.")


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16), PlainText
    ]


class AttendanceMark(BaseModel):
    session_id: uuid.UUID
    user_id: uuid.UUID
    method: AttendanceMethod
    recorded_at: datetime


class Roster(BaseModel):
    """Everyone present at a session: the list replaces what was recorded before."""

    model_config = ConfigDict(extra="forbid")

    user_ids: list[uuid.UUID] = Field(max_length=5000)

    @model_validator(mode="after")
    def _unique(self) -> Roster:
        if len(set(self.user_ids)) != len(self.user_ids):
            raise ValueError("user_ids repeat")
        return self


class Attendee(BaseModel):
    user_id: uuid.UUID
    display_name: str
    method: AttendanceMethod
    recorded_at: datetime


class SessionAttendance(BaseModel):
    session_id: uuid.UUID
    checkin_code: str = Field(description="Shown at the venue; valid ±30 min of the session.")
    attendees: list[Attendee]


class Participant(BaseModel):
    """A participant as the programme's coordinators see them: no contact details."""

    user_id: uuid.UUID
    display_name: str
    building_id: uuid.UUID
    building_address: str
    status: EnrolmentStatus
    requested_at: datetime
    sessions_attended: int
    qualified: bool


# --- progress, stats and coverage ---------------------------------------------------------


class SessionProgress(BaseModel):
    session_id: uuid.UUID
    position: int
    topic: str
    starts_at: datetime
    required: bool
    attended: bool
    method: AttendanceMethod | None


class AmbassadorSelf(BaseModel):
    id: uuid.UUID
    building_id: uuid.UUID
    awarded_at: datetime
    revoked: bool
    public: bool
    diploma_code: str | None
    diploma_ready: bool
    diploma_url: str | None = Field(description="The PDF, for its holder.")
    verify_url: str | None


class ProgrammeProgress(BaseModel):
    programme: ProgrammeSummary
    status: EnrolmentStatus
    waitlist_position: int | None
    building_id: uuid.UUID
    sessions_total: int
    sessions_attended: int
    sessions_needed: int
    required_missing: list[uuid.UUID]
    qualified: bool
    sessions: list[SessionProgress]
    ambassador: AmbassadorSelf | None


class MyTraining(BaseModel):
    programmes: list[ProgrammeProgress]
    mailing_list_building_id: uuid.UUID | None


class SessionStats(BaseModel):
    session_id: uuid.UUID
    position: int
    topic: str
    starts_at: datetime
    attended: int


class HistogramBin(BaseModel):
    sessions: int = Field(description="Sessions attended.")
    participants: int


class ProgrammeStats(BaseModel):
    programme_id: uuid.UUID
    participants: int = Field(description="Enrolled participants (not waiting, not withdrawn).")
    waitlisted: int
    withdrawn: int
    sessions: list[SessionStats]
    histogram: list[HistogramBin] = Field(
        description="How many participants attended 0, 1, … of the programme's sessions."
    )
    qualified: int
    ambassadors: int = Field(description="Awarded and not revoked.")
    reports_helped: int = Field(description="Reports its ambassadors filed for neighbours.")
    reports_confirmed: int = Field(description="Reports its ambassadors confirmed.")


class BuildingRef(BaseModel):
    id: uuid.UUID
    address: str
    lat: float
    lon: float


class Coverage(BaseModel):
    programme_id: uuid.UUID | None = Field(description="null for the whole city.")
    pilot_buildings: int
    covered: int = Field(description="Pilot buildings with at least one active ambassador.")
    ratio: float
    uncovered: list[BuildingRef]


# --- awards and diplomas ------------------------------------------------------------------


class AwardPublic(BaseModel):
    ambassador_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    building_id: uuid.UUID
    building_address: str
    awarded_at: datetime
    revoked_at: datetime | None
    diploma_code: str
    diploma_ready: bool


class AwardResult(BaseModel):
    awarded: list[AwardPublic] = Field(description="Awarded now.")
    already_awarded: int = Field(description="Qualified participants awarded before.")


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), PlainText
    ]


class AmbassadorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: bool = Field(description="Show my name on my building's public page.")


class BuildingAmbassador(BaseModel):
    display_name: str
    since: datetime
    programme_title: str


class DiplomaVerification(BaseModel):
    """What anyone holding a diploma's code may learn: whether it is genuine, and no more
    than the name, the programme and the date it states."""

    code: str
    genuine: bool = Field(description="Issued by the city and not revoked.")
    revoked: bool
    holder_name: str
    programme_title: str
    awarded_on: date


class MailingListJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: uuid.UUID = Field(description="Hear about programmes for this building.")


class MailingListMembership(BaseModel):
    building_id: uuid.UUID
    joined_at: datetime


class Confirmation(BaseModel):
    report_id: uuid.UUID
    ambassador_confirmations: int
    confirmed_at: datetime


class AmbassadorReportPage(BaseModel):
    items: list[ReportView]
    next_cursor: str | None

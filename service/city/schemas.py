"""What enters and leaves the city-model API: districts, departments, buildings, routing,
calendars."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from service.city.models import CalendarExceptionKind, DepartmentKind
from service.fields import PatchBody, PlainText, TimeZoneName, WallClockTime

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]
CalendarName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), PlainText
]
Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]
# Admin-defined calendar days stay within a range the holiday tables and humans can check.
CalendarDay = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


# --- districts ---------------------------------------------------------------------------


class FeatureError(BaseModel):
    index: int | None = Field(description="Position of the feature in `features`; null: whole")
    code: str | None = None
    problem: str


class DistrictImportResult(BaseModel):
    created: list[str]
    updated: list[str]
    total: int


class DistrictPublic(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    is_pilot_area: bool


# --- departments -------------------------------------------------------------------------


class DepartmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    kind: DepartmentKind = DepartmentKind.department
    parent_id: uuid.UUID | None = None
    email: EmailStr | None = None
    calendar_id: uuid.UUID | None = Field(
        default=None, description="The department's own calendar; null: the city's."
    )


class DepartmentUpdate(PatchBody):
    clearable = frozenset({"parent_id", "email", "calendar_id"})

    name: Name | None = None
    kind: DepartmentKind | None = None
    parent_id: uuid.UUID | None = None
    email: EmailStr | None = None
    calendar_id: uuid.UUID | None = None
    active: bool | None = None


class DepartmentPublic(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: DepartmentKind
    parent_id: uuid.UUID | None
    email: str | None
    active: bool


class Supervisor(BaseModel):
    user_id: uuid.UUID
    display_name: str


class DepartmentDetail(DepartmentPublic):
    calendar_id: uuid.UUID | None
    supervisors: list[Supervisor]
    children: list[uuid.UUID]


# --- buildings ---------------------------------------------------------------------------


class OrganisationRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: DepartmentKind
    email: str | None
    serves: str = Field(description="What the organisation does for the building.")


class BuildingSummary(BaseModel):
    id: uuid.UUID
    address: str
    lat: float
    lon: float
    is_pilot_area: bool
    distance_m: float | None = None
    similarity: float | None = None


class BuildingPublic(BuildingSummary):
    year_built: int | None
    floors: int | None
    apartments: int | None
    heating: str | None
    district: DistrictPublic | None
    passport: dict[str, Any]
    organisations: list[OrganisationRef]
    footprint: dict[str, Any] | None = Field(default=None, description="GeoJSON Polygon")


class BuildingList(BaseModel):
    items: list[BuildingSummary]


# --- routing -----------------------------------------------------------------------------

RoutingBasis = Literal[
    "building_managing_org",
    "reason_district",
    "reason_any_district",
    "category_district",
    "category_any_district",
    "dispatcher",
]


class RoutingRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    district_id: uuid.UUID | None = Field(default=None, description="null: any district")
    department_id: uuid.UUID

    @model_validator(mode="after")
    def _one_target(self) -> RoutingRuleCreate:
        if (self.reason_id is None) == (self.category_id is None):
            raise ValueError("give exactly one of reason_id and category_id")
        return self


class RoutingRulePublic(BaseModel):
    id: uuid.UUID
    reason_id: uuid.UUID | None
    category_id: uuid.UUID | None
    district_id: uuid.UUID | None
    department_id: uuid.UUID
    created_at: datetime


class RoutingPreview(BaseModel):
    reason_id: uuid.UUID
    reason_code: str
    district: DistrictPublic | None
    building: BuildingSummary | None
    department: DepartmentPublic
    basis: RoutingBasis
    rule_id: uuid.UUID | None
    explanation: str


# --- calendars ---------------------------------------------------------------------------


class CalendarCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CalendarName
    timezone: TimeZoneName = "Europe/Tallinn"
    work_start: WallClockTime = time(8, 30)
    work_end: WallClockTime = time(17, 0)

    @model_validator(mode="after")
    def _hours_in_order(self) -> CalendarCreate:
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be after work_start")
        return self


class CalendarUpdate(PatchBody):
    """Hours changed alone are checked against the calendar's other hour when applied:
    work_end stays after work_start."""

    name: CalendarName | None = None
    timezone: TimeZoneName | None = None
    work_start: WallClockTime | None = None
    work_end: WallClockTime | None = None

    @model_validator(mode="after")
    def _hours_in_order(self) -> CalendarUpdate:
        start, end = self.work_start, self.work_end
        if start is not None and end is not None and end <= start:
            raise ValueError("work_end must be after work_start")
        return self


class CalendarExceptionPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CalendarExceptionKind
    note: Annotated[str, StringConstraints(max_length=200), PlainText] = ""


class CalendarExceptionPublic(BaseModel):
    day: date
    kind: CalendarExceptionKind
    note: str


class Holiday(BaseModel):
    day: date
    name: str


class CalendarPublic(BaseModel):
    id: uuid.UUID
    name: str
    timezone: str
    work_start: WallClockTime
    work_end: WallClockTime
    is_city_default: bool
    exceptions: list[CalendarExceptionPublic]


class CalendarYear(CalendarPublic):
    year: int
    holidays: list[Holiday] = Field(description="Non-working weekdays of the year, by name.")

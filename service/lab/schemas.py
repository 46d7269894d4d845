"""What enters and leaves the living lab's API: the panel and pilots. Tasks, answers and
results are in ``task_schemas.py``.

No answer to a lab manager or an organisation names a tester: pilots, draws and recruitment
are counts per stratum; the tester's own views are the only ones with their participation.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.fields import PlainText
from service.lab.models import (
    AccessibilityNeed,
    AgeBand,
    Allocation,
    Device,
    Dimension,
    OrganisationKind,
    ParticipationStatus,
    PilotState,
)

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), PlainText]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Sentence = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
]
StratumKey = Annotated[str, StringConstraints(max_length=200), PlainText]


class Texts(BaseModel):
    """One text in each of the city's languages."""

    model_config = ConfigDict(extra="forbid")

    et: Sentence
    en: Sentence
    ru: Sentence


# --- the panel ----------------------------------------------------------------------------


class ConsentPublic(BaseModel):
    version: int
    purpose: Texts
    text: Texts


class PanelProfile(BaseModel):
    """The optional sampling profile: used for nothing but drawing samples."""

    model_config = ConfigDict(extra="forbid")

    age_band: AgeBand | None = None
    household_size: int | None = Field(default=None, ge=1, le=20)
    languages: Annotated[list[LanguageCode], Field(max_length=10)] = Field(default_factory=list)
    devices: Annotated[list[Device], Field(max_length=len(Device))] = Field(default_factory=list)
    accessibility_needs: Annotated[
        list[AccessibilityNeed], Field(max_length=len(AccessibilityNeed))
    ] = Field(default_factory=list)
    building_id: uuid.UUID | None = Field(
        default=None, description="My building; the district is the building's."
    )
    district_id: uuid.UUID | None = Field(
        default=None, description="My district, when I give no building."
    )


class PanelJoin(PanelProfile):
    """Joining (or changing): the consent version I read, and my profile."""

    consent_version: int = Field(ge=1, description="The version of the consent text agreed to.")


class PanelMembership(PanelProfile):
    consent_version: int
    consent_current: bool = Field(description="False: the consent text changed since.")
    consented_at: datetime
    joined_at: datetime
    updated_at: datetime


class PanelCount(BaseModel):
    value: str
    members: int | None = Field(description="Null: fewer than 5 (not shown).")


class PanelSummary(BaseModel):
    members: int
    by_district: list[PanelCount]
    by_age_band: list[PanelCount]


# --- pilots -------------------------------------------------------------------------------


class PilotCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    title: Title
    description: Text = Field(default="", description="What testers read.")
    organisation: Title
    organisation_kind: OrganisationKind
    starts_on: date
    ends_on: date
    target_size: int = Field(ge=1, le=10_000)
    dimensions: Annotated[list[Dimension], Field(max_length=3)] = Field(
        default_factory=list, description="The strata: e.g. district × age band."
    )
    district_ids: Annotated[list[uuid.UUID], Field(max_length=100)] = Field(
        default_factory=list, description="Only panellists of these districts (none: all)."
    )
    pilot_buildings_only: bool = False
    required_devices: Annotated[list[Device], Field(max_length=len(Device))] = Field(
        default_factory=list
    )
    allocation: Allocation = Allocation.proportional
    quotas: dict[StratumKey, int] = Field(
        default_factory=dict,
        max_length=500,
        description="Stratum key → testers, for the custom allocation.",
    )
    allow_overlap: bool = Field(
        default=False, description="Its testers may be in another pilot of the same time."
    )
    invitation_days: int = Field(default=7, ge=1, le=60)
    idea_id: uuid.UUID | None = Field(default=None, description="An idea decided `pilot`.")
    programme_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _coherent(self) -> PilotCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError("a dimension is named twice")
        if any(quota < 0 for quota in self.quotas.values()):
            raise ValueError("a quota is negative")
        if self.allocation is Allocation.custom and not self.quotas:
            raise ValueError("the custom allocation needs quotas")
        return self


class PilotUpdate(BaseModel):
    """Changes: the texts and the invitations' days until the pilot ends; the period, the
    target and the quotas only before the first draw."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Text | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    target_size: int | None = Field(default=None, ge=1, le=10_000)
    invitation_days: int | None = Field(default=None, ge=1, le=60)
    quotas: dict[StratumKey, int] | None = Field(default=None, max_length=500)


class PilotPublic(BaseModel):
    id: uuid.UUID
    code: str
    title: str
    description: str
    organisation: str
    organisation_kind: OrganisationKind
    starts_on: date
    ends_on: date
    target_size: int
    dimensions: list[Dimension]
    district_ids: list[uuid.UUID]
    pilot_buildings_only: bool
    required_devices: list[Device]
    allocation: Allocation
    quotas: dict[str, int]
    allow_overlap: bool
    invitation_days: int
    idea_id: uuid.UUID | None
    programme_id: uuid.UUID | None
    state: PilotState
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PilotPage(BaseModel):
    items: list[PilotPublic]


class PilotTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Annotated[str, StringConstraints(pattern=r"^(start|finish|cancel)$")]


class DrawCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(
        default=None,
        ge=0,
        le=2**63 - 1,
        description="The random seed (stored with the draw); none: a fresh random one.",
    )


class StratumAllocation(BaseModel):
    stratum: str
    population: int = Field(description="Eligible panellists in the stratum at the draw.")
    quota: int
    drawn: int


class DrawPublic(BaseModel):
    id: uuid.UUID
    number: int
    seed: int
    pool_digest: str
    invited: int
    created_at: datetime
    strata: list[StratumAllocation]


class StratumRecruitment(BaseModel):
    stratum: str
    quota: int
    invited: int
    accepted: int
    declined: int
    expired: int
    withdrawn: int
    completed: int


class Recruitment(BaseModel):
    target_size: int
    strata: list[StratumRecruitment]
    totals: StratumRecruitment


# --- the tester's side --------------------------------------------------------------------


class PilotForTester(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    organisation: str
    starts_on: date
    ends_on: date
    state: PilotState


class ParticipationPublic(BaseModel):
    id: uuid.UUID
    pilot: PilotForTester
    status: ParticipationStatus
    invited_at: datetime
    respond_by: datetime
    responded_at: datetime | None
    open_tasks: int = Field(description="Tasks open now that I have not answered.")


class ParticipationPage(BaseModel):
    items: list[ParticipationPublic]

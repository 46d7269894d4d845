"""What GeoReport v2 says, field by field, and how meielinn's words map onto it.

**Request status.** GeoReport knows ``open`` and ``closed``:

=========================================================  ========
meielinn state                                             status
=========================================================  ========
accepted, in_progress, awaiting_info, reopened, transferred  open
answered, closed, duplicate                                 closed
=========================================================  ========

``answered`` is closed whatever the answer's outcome (a scheduled repair too): the
department's round is done and ``status_notes`` carries the answer; a reopen makes the
request open again. Drafts, submitted (unmoderated), rejected and withdrawn reports are not
public and never appear.

**Update status** (mySociety's ``servicerequestupdates``): the state the report was in after
the update, in that extension's upper-case vocabulary:

=================  ==========================================================
meielinn           servicerequestupdates status
=================  ==========================================================
accepted           OPEN
reopened           OPEN
in_progress        IN_PROGRESS
awaiting_info      INVESTIGATING
transferred        INTERNAL_REFERRAL
answered           by the answer's outcome: fixed → FIXED, scheduled →
                   ACTION_SCHEDULED, not_ours → NOT_COUNCILS_RESPONSIBILITY,
                   no_action → NO_FURTHER_ACTION (CLOSED when none is recorded)
closed             CLOSED
duplicate          DUPLICATE
=================  ==========================================================

**Attribute types** are mapped in one table, :data:`DATATYPES`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from service.reports.states import ReportState

S = ReportState


class RequestStatus(StrEnum):
    open = "open"
    closed = "closed"


REQUEST_STATUS: dict[ReportState, RequestStatus] = {
    S.accepted: RequestStatus.open,
    S.in_progress: RequestStatus.open,
    S.awaiting_info: RequestStatus.open,
    S.reopened: RequestStatus.open,
    S.transferred: RequestStatus.open,
    S.answered: RequestStatus.closed,
    S.closed: RequestStatus.closed,
    S.duplicate: RequestStatus.closed,
}


def states_of(status: RequestStatus) -> list[ReportState]:
    return sorted(state for state, mapped in REQUEST_STATUS.items() if mapped is status)


class UpdateStatus(StrEnum):
    """mySociety's vocabulary of ``servicerequestupdates``."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    ACTION_SCHEDULED = "ACTION_SCHEDULED"
    INVESTIGATING = "INVESTIGATING"
    DUPLICATE = "DUPLICATE"
    NOT_COUNCILS_RESPONSIBILITY = "NOT_COUNCILS_RESPONSIBILITY"
    NO_FURTHER_ACTION = "NO_FURTHER_ACTION"
    INTERNAL_REFERRAL = "INTERNAL_REFERRAL"
    FIXED = "FIXED"
    CLOSED = "CLOSED"


U = UpdateStatus
UPDATE_STATUS: dict[ReportState, UpdateStatus] = {
    S.accepted: U.OPEN,
    S.reopened: U.OPEN,
    S.in_progress: U.IN_PROGRESS,
    S.awaiting_info: U.INVESTIGATING,
    S.transferred: U.INTERNAL_REFERRAL,
    S.answered: U.CLOSED,
    S.closed: U.CLOSED,
    S.duplicate: U.DUPLICATE,
}
# The outcome of an answer (service.feedback.models.Outcome) in the update vocabulary.
OUTCOME_STATUS: dict[str, UpdateStatus] = {
    "fixed": U.FIXED,
    "scheduled": U.ACTION_SCHEDULED,
    "not_ours": U.NOT_COUNCILS_RESPONSIBILITY,
    "no_action": U.NO_FURTHER_ACTION,
}


def update_status(state: str | None, outcome: str | None) -> UpdateStatus:
    """The vocabulary's word for a report in ``state`` (answered: by its ``outcome``)."""
    if state == S.answered and outcome in OUTCOME_STATUS:
        return OUTCOME_STATUS[outcome]
    try:
        return UPDATE_STATUS.get(ReportState(state or ""), U.OPEN)
    except ValueError:
        return U.OPEN


# meielinn's attribute types (service.catalog.schemas.AttributeType) → GeoReport datatypes.
DATATYPES: dict[str, str] = {
    "string": "string",
    "text": "text",
    "number": "number",
    "date": "datetime",
    "datetime": "datetime",
    "single_value_list": "singlevaluelist",
    "multi_value_list": "multivaluelist",
}
SPECIFICATION_URL = "http://wiki.open311.org/GeoReport_v2"
# When this server's GeoReport interface last changed (discovery's ``changeset``).
CHANGESET = "2026-11-23T00:00:00Z"
MAX_REQUESTS = 1000
DEFAULT_WINDOW_DAYS = 90


# --- the JSON shapes (the XML has the same elements) -------------------------------------


class DiscoveryEndpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str = Field(description="production or test")
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    max_requests: int
    endpoints: list[DiscoveryEndpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(description="true when the service has attributes")
    type: str = Field(description="batch: POST answers with a token (reports are moderated)")
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str = Field(
        description="string, number, datetime, text, singlevaluelist or multivaluelist"
    )
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ExtendedAttributes(BaseModel):
    """``extensions=true``: what meielinn knows beyond the spec."""

    tracking_code: str
    state: ReportState
    department_code: str
    department_name: str
    district_code: str | None
    round: int
    due_datetime: str | None
    overdue: bool
    # No priority: a department's priorities are its own, hidden below staff level in the
    # native API, and Open311 reads are public.
    media_urls: list[str]


class ServiceRequest(BaseModel):
    service_request_id: str = Field(description="The report's public tracking code")
    status: RequestStatus
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None = Field(description="The current round's working-day due time")
    address: str | None
    address_id: str | None = Field(description="The building's id")
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None
    extended_attributes: ExtendedAttributes | None = Field(
        default=None, description="Only with extensions=true"
    )


class RequestCreated(BaseModel):
    token: str = Field(description="Resolves through tokens/{token} once a moderator accepted")
    service_notice: str | None
    account_id: str | None


class TokenAnswer(BaseModel):
    service_request_id: str | None = Field(description="Empty while the report awaits moderation")
    token: str


class RequestUpdate(BaseModel):
    update_id: str
    service_request_id: str
    status: UpdateStatus
    updated_datetime: str
    description: str
    media_url: str | None


class UpdateCreated(BaseModel):
    update_id: str


class Open311ErrorItem(BaseModel):
    code: int
    description: str


def json_and_xml(model: Any) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route answering ``model`` as JSON or XML, and its errors."""
    errors: dict[str, Any] = {"model": list[Open311ErrorItem], "content": {"text/xml": {}}}
    return {
        200: {"model": model, "content": {"text/xml": {}}},
        400: errors,
        403: errors,
        404: errors,
    }

"""Open311 ``POST requests``: a GeoReport service request filed as a report, through the
same filing rules as ``POST /v1/reports`` (``service.reports.filing``)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.city import service as city
from service.config import Settings
from service.open311.formats import Open311Error
from service.open311.schemas import (
    RequestCreated,
)
from service.open311.service import service_notice, service_row
from service.reports import filing, lifecycle, photos
from service.reports.lifecycle import record_event
from service.reports.schemas import ReportCreate
from service.reports.states import ReportState

# How closely ``address_string`` must match a building's address (the address search's
# score in [0, 1]: 3/4 the street's similarity, 1/4 the house number).
ADDRESS_MATCH = 0.6


@dataclass(frozen=True)
class Upload:
    data: bytes
    content_type: str | None


@dataclass
class NewRequest:
    """The parameters of ``POST requests`` (empty ones are absent, as the spec says)."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_urls: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self, uploads: Sequence[Upload]) -> dict[str, Any]:
        """What an ``Idempotency-Key`` compares: every parameter and each upload's digest."""
        return {
            **{k: v for k, v in vars(self).items() if v not in (None, [], {})},
            "media": [hashlib.sha256(u.data).hexdigest() for u in uploads],
        }


@dataclass(frozen=True)
class Created:
    payload: list[dict[str, Any]]
    quota: filing.Quota


async def _place(session: AsyncSession, new: NewRequest) -> dict[str, Any]:
    """The report's place: a building (``address_id``), a point (``lat``/``long``), or the
    building whose address best matches ``address_string``."""
    if new.address_id is not None:
        try:
            return {"building_id": uuid.UUID(new.address_id)}
        except ValueError:
            raise Open311Error("address_id: not a building id of this city.") from None
    if new.lat is not None or new.long is not None:
        if new.lat is None or new.long is None:
            raise Open311Error("lat and long go together.")
        try:
            return {"lat": float(new.lat), "lon": float(new.long)}
        except ValueError:
            raise Open311Error("lat and long must be numbers (WGS84 degrees).") from None
    if new.address_string is not None:
        found = await city.search_buildings(session, new.address_string, 1)
        if not found or (found[0].similarity or 0) < ADDRESS_MATCH:
            raise Open311Error(
                "address_string: no building of the city has this address; send lat and long."
            )
        return {"building_id": found[0].id}
    raise Open311Error("A location is required: lat and long, address_string or address_id.")


def _attributes(definitions: list[dict[str, Any]], sent: dict[str, Any]) -> dict[str, Any]:
    """The values of the service's own attributes; other ``attribute[…]`` are ignored, as
    unknown parameters are (clients such as FixMyStreet send their own)."""
    codes = {str(d.get("code")) for d in definitions}
    return {code: value for code, value in sent.items() if code in codes}


def _invalid(exc: ValidationError) -> Open311Error:
    names = {"lon": "long", "on_behalf_of": "email", "address_text": "address_string"}
    problems = []
    for error in exc.errors():
        where = [str(part) for part in error.get("loc", ())]
        name = names.get(where[0], where[0]) if where else "request"
        problems.append(f"{name}: {error.get('msg', 'invalid')}")
    return Open311Error(*problems)


async def create_request(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    new: NewRequest,
    uploads: Sequence[Upload],
    now: datetime,
    language: str,
) -> Created:
    """File a service request through the one filing service (its rules, quotas and
    routing), attach its media, and send it to moderation."""
    if new.service_code is None:
        raise Open311Error("service_code: required.")
    row = await service_row(session, new.service_code)
    reason = row.Reason
    place = await _place(session, new)
    if reason.requires_photo and not uploads and not new.media_urls:
        raise Open311Error("This service needs a photo: send media or media_url.")
    if new.description is None:
        raise Open311Error("description: required.")
    try:
        body = ReportCreate(
            reason_id=reason.id,
            address_text=new.address_string,
            description=new.description,
            attributes=_attributes(reason.attributes, new.attributes),
            on_behalf_of=new.email,
            **place,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    filed = await filing.file_report(session, actor, body, now, settings, open311=True)
    report = filed.report
    # The files sent, then what media_url brought (fetched by the router, service.open311.media).
    for upload in uploads:
        await photos.attach_photo(
            session, settings, actor, report, upload.data, upload.content_type, now
        )
    if report.state is ReportState.draft:
        await lifecycle.send_draft(session, actor, report, now)
    contact = {
        name: value
        for name in ("first_name", "last_name", "phone", "device_id", "account_id")
        if (value := getattr(new, name)) is not None
    }
    if contact:
        # For the department only (personal data): how to reach the person who filed it.
        record_event(session, report, actor, "contact_details", now, public=False, **contact)
        await session.flush()
    created = RequestCreated(
        token=str(report.id), service_notice=service_notice(reason, language), account_id=None
    )
    return Created(payload=[created.model_dump()], quota=filed.quota)

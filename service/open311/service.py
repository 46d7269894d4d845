"""GeoReport v2 over meielinn's catalogue and reports: discovery, services and their
definitions, reading public reports as service requests, filing, and tokens.

Decisions (the README's Open311 section says the same):

* ``service_request_id`` is the report's public tracking code (``ML-7K3Q-9XD2``); a report
  id (UUID) is accepted wherever a ``service_request_id`` is read.
* Every report is moderated before it is public, so ``POST requests`` answers with a
  ``token`` (the report's id), never with a ``service_request_id``, and each service says
  ``type=batch``. ``tokens/{token}`` answers the token alone while the report waits for
  moderation, adds the ``service_request_id`` once a moderator accepted it, and answers 404
  once it was rejected or withdrawn.
* One city: ``jurisdiction_id`` is accepted absent, empty or set to anything, and ignored.
* Only public reports are read, with no personal data (no name, email or phone).
* ``expected_datetime`` is the current round's working-day due time (``report.due_at``).
* Times are W3C date-times in the city's time zone with its offset.

(Over 400 lines: the mapping of the standard's fields, one function per resource.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.catalog.schemas import AttributeDefinition, Names
from service.catalog.service import localized_name
from service.config import Environment, Settings
from service.open311 import repository
from service.open311.formats import Open311Error, Open311NotFound, w3c
from service.open311.repository import RequestFilter
from service.open311.schemas import (
    CHANGESET,
    DATATYPES,
    DEFAULT_WINDOW_DAYS,
    MAX_REQUESTS,
    REQUEST_STATUS,
    SPECIFICATION_URL,
    Attribute,
    AttributeValue,
    Discovery,
    DiscoveryEndpoint,
    ExtendedAttributes,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
)
from service.reports.models import Report
from service.reports.states import ReportState, is_public
from service.reports.views import overdue

WINDOW = timedelta(days=DEFAULT_WINDOW_DAYS)

UNITS = {
    "working_days": {"et": "tööpäeva", "en": "working days", "ru": "рабочих дней"},
    "working_hours": {"et": "töötunni", "en": "working hours", "ru": "рабочих часов"},
    "calendar_hours": {"et": "tunni", "en": "hours", "ru": "часов"},
}
NOTICES = {
    "et": "Teade vaadatakse üle; pärast vastuvõtmist vastatakse {amount} {unit} jooksul.",
    "en": "Reports are moderated first; once accepted, they are answered within {amount} {unit}.",
    "ru": "Сообщение проверяется модератором; после принятия ответ будет дан в течение "
    "{amount} {unit}.",
}
DUPLICATE_NOTES = {
    "et": "Korduv teade, vaata {code}.",
    "en": "Duplicate of {code}.",
    "ru": "Повторное сообщение, см. {code}.",
}
DATATYPE_HINTS = {
    "string": {"et": "Üks rida teksti", "en": "One line of text", "ru": "Одна строка текста"},
    "text": {"et": "Tekst", "en": "Text", "ru": "Текст"},
    "number": {"et": "Arv", "en": "A number", "ru": "Число"},
    "date": {"et": "Kuupäev (AAAA-KK-PP)", "en": "A date (YYYY-MM-DD)", "ru": "Дата (ГГГГ-ММ-ДД)"},
    "datetime": {
        "et": "Kuupäev ja kellaaeg (ISO 8601, ajavööndiga)",
        "en": "A date and time (ISO 8601, with its offset)",
        "ru": "Дата и время (ISO 8601, со смещением)",
    },
}


def service_notice(reason: Any, language: str) -> str:
    """What happens next, from the reason's SLA (``sla_amount``, ``sla_unit``), in
    ``language``."""
    return notice(reason.sla_amount, reason.sla_unit, language)


def notice(sla_amount: Any, sla_unit: Any, language: str) -> str:
    """:func:`service_notice` from the SLA's amount and unit."""
    unit = UNITS[str(sla_unit)][language]
    return NOTICES[language].format(amount=f"{sla_amount:g}", unit=unit)


# --- discovery and services -----------------------------------------------------------------


def discovery(base_url: str, settings: Settings) -> dict[str, Any]:
    """The discovery document of this one endpoint."""
    return Discovery(
        changeset=CHANGESET,
        contact="The city's API administrators; see /docs for the whole API.",
        key_service="POST requests needs an API key with the scope open311:write, issued by "
        "the city's administrators; reading needs none.",
        max_requests=MAX_REQUESTS,
        endpoints=[
            DiscoveryEndpoint(
                specification=SPECIFICATION_URL,
                url=f"{base_url}/open311/v2",
                changeset=CHANGESET,
                type="production" if settings.env is Environment.production else "test",
                formats=["text/xml", "application/json"],
            )
        ],
    ).model_dump(mode="json")


def _service(row: Any, language: str) -> Service:
    reason = row.Reason
    group = localized_name(row.category_names, language)
    name = localized_name(reason.names, language)
    synonyms = [n for n in reason.names.values() if n != name]
    return Service(
        service_code=reason.service_code,
        service_name=name,
        description=f"{group}: {name}",
        metadata=bool(reason.attributes),
        type="batch",
        keywords=", ".join(
            dict.fromkeys([*synonyms, localized_name(row.object_type_names, language)])
        ),
        group=group,
    )


async def list_services(session: AsyncSession, language: str) -> list[dict[str, Any]]:
    """Every active reason (in an active category) is a service."""
    rows = await repository.services(session)
    return [_service(row, language).model_dump(mode="json") for row in rows]


def _hint(definition: AttributeDefinition, language: str) -> str | None:
    hint = DATATYPE_HINTS.get(definition.type, {}).get(language)
    if definition.type == "number" and (
        definition.min_value is not None or definition.max_value is not None
    ):
        low = "" if definition.min_value is None else f"{definition.min_value:g}"
        high = "" if definition.max_value is None else f"{definition.max_value:g}"
        hint = f"{hint}: {low}…{high}"
    if definition.max_length is not None and hint is not None:
        hint = f"{hint} (≤ {definition.max_length})"
    return hint


def _attribute(definition: AttributeDefinition, order: int, language: str) -> Attribute:
    described: Names = definition.description or definition.names
    return Attribute(
        variable=True,
        code=definition.code,
        datatype=DATATYPES[definition.type],
        required=definition.required,
        datatype_description=_hint(definition, language),
        order=order,
        description=described.pick(language),
        values=[
            AttributeValue(key=value.key, name=value.names.pick(language))
            for value in definition.values or []
        ],
    )


async def service_row(session: AsyncSession, service_code: str) -> Any:
    row = await repository.reason_by_service_code(session, service_code)
    if row is None:
        raise Open311NotFound(f"service_code {service_code} was not found.")
    return row


async def service_definition(
    session: AsyncSession, service_code: str, language: str
) -> dict[str, Any]:
    """The reason's typed attributes, in their catalogue order (``order`` counts from 1)."""
    row = await service_row(session, service_code)
    definitions = [AttributeDefinition.model_validate(d) for d in row.Reason.attributes]
    return ServiceDefinition(
        service_code=row.Reason.service_code,
        attributes=[_attribute(d, i, language) for i, d in enumerate(definitions, start=1)],
    ).model_dump(mode="json")


# --- reading requests -----------------------------------------------------------------------


def date_window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The ``requested_datetime`` window: both ends given (at most 90 days apart), one end
    and 90 days from it, or the last 90 days."""
    if start is None and end is None:
        return now - WINDOW, now
    if start is None:
        assert end is not None
        return end - WINDOW, end
    if end is None:
        return start, start + WINDOW
    if end < start:
        raise Open311Error("end_date is before start_date.")
    if end - start > WINDOW:
        raise Open311Error(f"start_date and end_date may not span more than {WINDOW.days} days.")
    return start, end


@dataclass(frozen=True)
class ReadContext:
    language: str
    base_url: str
    zone: Any
    now: datetime
    extensions: bool = False


def _photo_url(base_url: str, report_id: uuid.UUID, photo_id: uuid.UUID) -> str:
    return f"{base_url}/v1/reports/{report_id}/photos/{photo_id}"


def _request(row: Any, ctx: ReadContext) -> dict[str, Any]:
    """A GeoReport service request from a row of ``repository.requests``."""
    state = ReportState(row["state"])
    report_id = row["id"]
    note = row["note"]
    if note is None and state is ReportState.duplicate and row["duplicate_of_code"]:
        note = DUPLICATE_NOTES[ctx.language].format(code=row["duplicate_of_code"])
    urls = [_photo_url(ctx.base_url, report_id, p) for p in row["photo_ids"] or ()]
    extended = None
    if ctx.extensions:
        extended = ExtendedAttributes(
            tracking_code=row["tracking_code"],
            state=state,
            department_code=row["department_code"],
            department_name=row["department_name"],
            district_code=row["district_code"],
            round=row["round"],
            due_datetime=w3c(row["due_at"], ctx.zone),
            overdue=overdue(row["breached_at"], row["due_at"], row["state"], ctx.now),
            media_urls=urls,
        )
    requested = w3c(row["created_at"], ctx.zone)
    updated = w3c(row["updated_at"], ctx.zone)
    assert requested is not None
    assert updated is not None
    answer = ServiceRequest(
        service_request_id=row["tracking_code"],
        status=REQUEST_STATUS[state],
        status_notes=note,
        service_name=localized_name(row["reason_names"], ctx.language),
        service_code=row["service_code"],
        description=row["description"],
        agency_responsible=row["department_name"],
        service_notice=notice(row["sla_amount"], row["sla_unit"], ctx.language),
        requested_datetime=requested,
        updated_datetime=updated,
        expected_datetime=w3c(row["due_at"], ctx.zone),
        address=row["address_text"] or row["building_address"],
        address_id=str(row["building_id"]) if row["building_id"] else None,
        zipcode=None,
        lat=round(row["lat"], 6),
        long=round(row["lon"], 6),
        media_url=urls[0] if urls else None,
        extended_attributes=extended,
    ).model_dump(mode="json")
    if extended is None:
        del answer["extended_attributes"]
    return answer


async def list_requests(
    session: rawsql.Db, query: RequestFilter, ctx: ReadContext
) -> list[dict[str, Any]]:
    """Public reports as GeoReport service requests, newest first (one statement)."""
    return [_request(row, ctx) for row in await repository.requests(session, query)]


async def get_request(
    session: AsyncSession, service_request_id: str, ctx: ReadContext
) -> list[dict[str, Any]]:
    """One public report (by tracking code or id) in a list of one; 404 otherwise."""
    found = await list_requests(session, RequestFilter(ids=[service_request_id], limit=1), ctx)
    if not found:
        raise Open311NotFound(f"service_request_id {service_request_id} was not found.")
    return found


async def resolve_token(session: AsyncSession, token: str) -> list[dict[str, Any]]:
    """The token alone while the report waits for moderation, with its
    ``service_request_id`` once public; 404 for an unknown, rejected or withdrawn one."""
    try:
        report_id = uuid.UUID(token)
    except ValueError:
        raise Open311NotFound(f"token {token} was not found.") from None
    report = await session.get(Report, report_id)
    if report is None:
        raise Open311NotFound(f"token {token} was not found.")
    if is_public(report.state, report.accepted_at):
        code: str | None = report.tracking_code
    elif report.state in (ReportState.draft, ReportState.submitted):
        code = None
    else:
        raise Open311NotFound(f"The request of token {token} was {report.state} in moderation.")
    return [TokenAnswer(service_request_id=code, token=token).model_dump()]

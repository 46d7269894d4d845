"""Open311 GeoReport v2 endpoints under ``/open311/v2``, each as ``.json`` and ``.xml``.

Who may call what: every ``GET`` is public (public reports only, no personal data);
``POST requests`` needs an API key with ``open311:write`` and ``POST servicerequestupdates``
one with ``open311:updates``. The key is read where the spec puts it, the ``api_key`` form
or query parameter, or from the ``X-API-Key`` header; a missing or bad key is 403.

Parameters follow the spec's rule for optional arguments: an empty one is an absent one;
unknown ones are ignored (``jurisdiction_id`` included: one city). Errors are the spec's
list of ``{code, description}`` in the requested format (``formats.Open311Route``).

(Over 400 lines: the standard's every resource in both formats, with its own parameter
parsing and error format; the logic lives in service.py.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Path, Query, Request, Response, Security
from pydantic import StringConstraints
from starlette.datastructures import FormData, UploadFile

from service import idempotency
from service.auth import sessions as auth
from service.auth.actor import Actor
from service.auth.dependencies import SettingsDep, api_key_scheme, client_ip
from service.auth.scopes import Scope
from service.catalog.schemas import AcceptLanguage, LangQuery, pick_language
from service.city import service as city
from service.db import SessionDep, utcnow
from service.errors import Forbidden
from service.fields import PlainText
from service.open311 import service, updates
from service.open311.formats import (
    Format,
    Open311Error,
    Open311NotFound,
    Open311Route,
    parse_format,
    render,
)
from service.open311.repository import RequestFilter
from service.open311.schemas import (
    MAX_REQUESTS,
    Discovery,
    RequestCreated,
    RequestStatus,
    RequestUpdate,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
    UpdateCreated,
    json_and_xml,
    states_of,
)
from service.ratelimit import RateLimiterDep, RateLimitItemPerMinute
from service.reports.filing import Quota

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


def _format(
    fmt: Annotated[str, Path(max_length=10, description="json or xml"), PlainText],
) -> Format:
    return parse_format(fmt)


# First in every signature: an unknown suffix is 404 before anything else is looked at.
Fmt = Annotated[Format, Depends(_format)]
Jurisdiction = Annotated[
    Annotated[str, StringConstraints(max_length=200), PlainText] | None,
    Query(description="Accepted and ignored: this server serves one city."),
]
Text = Annotated[Annotated[str, StringConstraints(max_length=2000), PlainText] | None, Query()]


def _optional(value: str | None) -> str | None:
    """The spec's optional arguments: empty is absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _language(lang: str | None, accept_language: str | None) -> str:
    return pick_language(lang, accept_language)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _integer(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    value = _optional(raw)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise Open311Error(f"{name}: a whole number from {low} to {high}.")
    return int(value)


def _list(raw: str | None) -> list[str] | None:
    value = _optional(raw)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()] or None


async def _zone(session: Any) -> Any:
    return (await city.load_working_calendar(session)).zone


def _date(name: str, raw: str | None, zone: Any) -> datetime | None:
    """A W3C date-time with its offset (``2026-01-01T00:00:00Z``), or a date (the start of
    that day in the city)."""
    value = _optional(raw)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(f"{name}: a W3C date-time such as 2026-01-01T00:00:00Z.") from None
    if moment.tzinfo is None:
        if "T" in value:
            raise Open311Error(f"{name}: give the offset from UTC (Z or ±hh:mm).")
        moment = datetime.combine(moment.date(), time(0), zone)
    return moment


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    value = _optional(raw)
    if value is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in value.split(","))
    except ValueError:
        raise Open311Error("bbox: min_lon,min_lat,max_lon,max_lat.") from None
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise Open311Error("bbox: corners out of range or in the wrong order.")
    return min_lon, min_lat, max_lon, max_lat


def _statuses(raw: str | None) -> list[RequestStatus] | None:
    names = _list(raw)
    if names is None:
        return None
    try:
        return [RequestStatus(name.lower()) for name in names]
    except ValueError:
        raise Open311Error("status: open or closed (comma-separated).") from None


def open311_key(scope: Scope) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting an API key that carries ``scope``, sent as the ``api_key``
    form or query parameter or as ``X-API-Key``; 403 otherwise (a person's sign-in does not
    count: Open311 writes are made by integrations)."""

    async def dependency(
        request: Request,
        session: SessionDep,
        form_key: Annotated[
            Annotated[str, StringConstraints(max_length=200), PlainText] | None,
            Form(alias="api_key"),
        ] = None,
        query_key: Annotated[
            Annotated[str, StringConstraints(max_length=200), PlainText] | None,
            Query(alias="api_key"),
        ] = None,
        header_key: Annotated[str | None, Security(api_key_scheme)] = None,
    ) -> Actor:
        key = _optional(form_key) or _optional(query_key) or _optional(header_key)
        if key is None:
            raise Forbidden("api_key: required.")
        actor = await auth.actor_from_api_key(session, key, utcnow(), client_ip(request))
        if not actor.holds_scope(scope):
            raise Forbidden(f"api_key: the key lacks the scope {scope}.")
        return actor

    return dependency


Open311Writer = Annotated[Actor, Depends(open311_key(Scope.open311_write))]
Open311Updater = Annotated[Actor, Depends(open311_key(Scope.open311_updates))]
IdempotencyKey = Annotated[
    Annotated[str, StringConstraints(max_length=2000), PlainText] | None,
    Header(
        alias="Idempotency-Key",
        description="Send the same key again to get the same answer without a second request.",
    ),
]


# --- discovery and services ---------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    summary="Service discovery: this endpoint, its formats and specification",
    response_model=None,
    responses=json_and_xml(Discovery),
)
async def discovery(
    fmt: Fmt, request: Request, settings: SettingsDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    return render(fmt, "discovery", service.discovery(_base_url(request), settings))


@router.get(
    "/services.{fmt}",
    summary="Service list: every active reason with a service code",
    response_model=None,
    responses=json_and_xml(list[Service]),
)
async def services(
    fmt: Fmt,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = await service.list_services(session, _language(lang, accept_language))
    return render(fmt, "services", found)


@router.get(
    "/services/{service_code}.{fmt}",
    summary="Service definition: the reason's typed attributes",
    response_model=None,
    responses=json_and_xml(ServiceDefinition),
)
async def service_definition(
    service_code: Annotated[str, Path(max_length=64), PlainText],
    fmt: Fmt,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = await service.service_definition(
        session, service_code, _language(lang, accept_language)
    )
    return render(fmt, "service_definition", found)


# --- requests -------------------------------------------------------------------------------


@router.get(
    "/requests.{fmt}",
    summary="Service requests: public reports, newest first (90 days, 1,000 at most)",
    response_model=None,
    responses=json_and_xml(list[ServiceRequest]),
)
async def list_requests(
    fmt: Fmt,
    request: Request,
    session: SessionDep,
    service_request_id: Text = None,
    service_code: Text = None,
    start_date: Text = None,
    end_date: Text = None,
    status: Text = None,
    extensions: Annotated[
        Annotated[str, StringConstraints(max_length=5), PlainText] | None,
        Query(description="true adds extended_attributes"),
    ] = None,
    page: Annotated[
        Annotated[str, StringConstraints(max_length=6), PlainText] | None,
        Query(description="1, 2, …"),
    ] = None,
    page_size: Annotated[
        Annotated[str, StringConstraints(max_length=4), PlainText] | None,
        Query(description="At most 1000"),
    ] = None,
    bbox: Annotated[
        Annotated[str, StringConstraints(max_length=100), PlainText] | None,
        Query(description="min_lon,min_lat,max_lon,max_lat"),
    ] = None,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    now = utcnow()
    zone = await _zone(session)
    size = _integer("page_size", page_size, MAX_REQUESTS, 1, MAX_REQUESTS)
    number = _integer("page", page, 1, 1, 100_000)
    ids = _list(service_request_id)
    if ids is not None:
        query = RequestFilter(ids=ids[:MAX_REQUESTS], limit=MAX_REQUESTS)
    else:
        start, end = service.date_window(
            _date("start_date", start_date, zone), _date("end_date", end_date, zone), now
        )
        wanted = _statuses(status)
        query = RequestFilter(
            service_codes=_list(service_code),
            states=[s for w in wanted for s in states_of(w)] if wanted else None,
            start=start,
            end=end,
            bbox=_bbox(bbox),
            offset=(number - 1) * size,
            limit=size,
        )
    context = service.ReadContext(
        language=_language(lang, accept_language),
        base_url=_base_url(request),
        zone=zone,
        now=now,
        extensions=(_optional(extensions) or "").lower() == "true",
    )
    return render(fmt, "service_requests", await service.list_requests(session, query, context))


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="One service request: a public report by its tracking code",
    response_model=None,
    responses=json_and_xml(list[ServiceRequest]),
)
async def get_request(
    service_request_id: Annotated[str, Path(max_length=64), PlainText],
    fmt: Fmt,
    request: Request,
    session: SessionDep,
    extensions: Annotated[
        Annotated[str, StringConstraints(max_length=5), PlainText] | None, Query()
    ] = None,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    context = service.ReadContext(
        language=_language(lang, accept_language),
        base_url=_base_url(request),
        zone=await _zone(session),
        now=utcnow(),
        extensions=(_optional(extensions) or "").lower() == "true",
    )
    found = await service.get_request(session, service_request_id, context)
    return render(fmt, "service_requests", found)


@router.get(
    "/tokens/{token}.{fmt}",
    summary="The service_request_id of a token, once a moderator accepted the report",
    response_model=None,
    responses=json_and_xml(list[TokenAnswer]),
)
async def token(
    token: Annotated[str, Path(max_length=64), PlainText],
    fmt: Fmt,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    return render(fmt, "service_requests", await service.resolve_token(session, token))


ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
POST_FIELDS = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
)
REQUEST_FORM: dict[str, Any] = {
    "requestBody": {
        "content": {
            content_type: {
                "schema": {
                    "type": "object",
                    "properties": {
                        **{name: {"type": "string"} for name in ("api_key", *POST_FIELDS)},
                        "attribute[code]": {"type": "string", "description": "per attribute"},
                        "media_url": {"type": "string", "description": "one or more"},
                        "media": {"type": "string", "format": "binary"},
                    },
                    "required": ["service_code"],
                }
            }
            for content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        }
    }
}


def _parameters(request: Request, form: FormData) -> dict[str, list[Any]]:
    """Query and form parameters together (the form wins), each with all its values."""
    found: dict[str, list[Any]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    posted: dict[str, list[Any]] = {}
    for key, item in form.multi_items():
        posted.setdefault(key, []).append(item)
    found.update(posted)
    return found


def _first(parameters: dict[str, list[Any]], name: str) -> str | None:
    values = [v for v in parameters.get(name, []) if isinstance(v, str)]
    return _optional(values[0]) if values else None


def _new_request(parameters: dict[str, list[Any]]) -> service.NewRequest:
    fields: dict[str, Any] = {name: _first(parameters, name) for name in POST_FIELDS}
    new = service.NewRequest(**fields)
    for name in ("media_url", "media_url[]"):
        urls = [u.strip() for u in parameters.get(name, []) if isinstance(u, str)]
        new.media_urls += [u for u in urls if u]
    for key, values in parameters.items():
        match = ATTRIBUTE.match(key)
        if match is None:
            continue
        texts = [v for v in values if isinstance(v, str) and v != ""]
        if match.group(2) or len(texts) > 1:
            new.attributes[match.group(1)] = texts
        elif texts:
            new.attributes[match.group(1)] = texts[0]
    return new


def _quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(quota.limit),
        "RateLimit-Remaining": str(quota.remaining),
        "RateLimit-Reset": str(quota.reset_seconds),
    }


@router.post(
    "/requests.{fmt}",
    summary="File a service request (api_key with open311:write); answers with a token",
    response_model=None,
    responses={**json_and_xml(list[RequestCreated]), 429: {"content": {"text/xml": {}}}},
    openapi_extra=REQUEST_FORM,
)
async def create_request(
    fmt: Fmt,
    request: Request,
    actor: Open311Writer,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    idempotency_key: IdempotencyKey = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    await limiter.enforce(
        RateLimitItemPerMinute(settings.open311_posts_per_minute),
        "open311-post",
        str(actor.api_key_id),
        detail=f"At most {settings.open311_posts_per_minute} Open311 requests a minute.",
    )
    parameters = _parameters(request, await request.form())
    new = _new_request(parameters)
    uploads = []
    for name in ("media", "media[]"):
        for item in parameters.get(name, []):
            if isinstance(item, UploadFile):
                data = await item.read(settings.photo_max_bytes + 1)
                uploads.append(service.Upload(data, item.content_type))
    now = utcnow()
    quotas: list[Quota] = []

    async def work() -> idempotency.Answer:
        created = await service.create_request(
            session, settings, actor, new, uploads, now, _language(lang, accept_language)
        )
        quotas.append(created.quota)
        return idempotency.Answer(201, json.dumps(created.payload).encode())

    answer, replayed = await idempotency.run_once(
        session,
        request.app.state.redis,
        actor=actor,
        key=idempotency.parse_key(idempotency_key),
        method="POST",
        path="/open311/v2/requests",
        payload=new.fingerprint(uploads),
        now=now,
        hours=settings.idempotency_hours,
        work=work,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else _quota_headers(quotas[0])
    return render(
        fmt,
        "service_requests",
        json.loads(answer.body),
        status_code=answer.status_code,
        headers=headers,
    )


# --- mySociety's servicerequestupdates ------------------------------------------------------


@router.get(
    "/servicerequestupdates.{fmt}",
    summary="Updates of public reports in a window, oldest first (mySociety's extension)",
    response_model=None,
    responses=json_and_xml(list[RequestUpdate]),
)
async def list_updates(
    fmt: Fmt,
    session: SessionDep,
    start_date: Text = None,
    end_date: Text = None,
    page: Annotated[
        Annotated[str, StringConstraints(max_length=6), PlainText] | None, Query()
    ] = None,
    page_size: Annotated[
        Annotated[str, StringConstraints(max_length=4), PlainText] | None, Query()
    ] = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    zone = await _zone(session)
    start, end = service.date_window(
        _date("start_date", start_date, zone), _date("end_date", end_date, zone), utcnow()
    )
    size = _integer("page_size", page_size, MAX_REQUESTS, 1, MAX_REQUESTS)
    number = _integer("page", page, 1, 1, 100_000)
    found = await updates.list_updates(session, start, end, (number - 1) * size, size, zone)
    return render(fmt, "service_request_updates", found)


UPDATE_FORM: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"}
                        for name in (
                            "api_key",
                            "service_request_id",
                            "status",
                            "description",
                            "update_id",
                            "updated_datetime",
                        )
                    },
                    "required": ["service_request_id", "status"],
                }
            }
        }
    }
}


@router.post(
    "/servicerequestupdates.{fmt}",
    summary="A department's update from the city's case system (api_key with open311:updates)",
    response_model=None,
    responses=json_and_xml(list[UpdateCreated]),
    openapi_extra=UPDATE_FORM,
)
async def post_update(
    fmt: Fmt,
    request: Request,
    actor: Open311Updater,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    await limiter.enforce(
        RateLimitItemPerMinute(settings.open311_posts_per_minute),
        "open311-post",
        str(actor.api_key_id),
        detail=f"At most {settings.open311_posts_per_minute} Open311 requests a minute.",
    )
    parameters = _parameters(request, await request.form())
    zone = await _zone(session)
    new = updates.NewUpdate(
        service_request_id=_first(parameters, "service_request_id"),
        status=_first(parameters, "status"),
        description=_first(parameters, "description"),
        update_id=_first(parameters, "update_id"),
        updated_datetime=_date("updated_datetime", _first(parameters, "updated_datetime"), zone),
    )
    now = utcnow()

    async def work() -> idempotency.Answer:
        created = await updates.post_update(session, actor, new, now, settings)
        return idempotency.Answer(200, json.dumps(created).encode())

    # A case system sends its own update_id: a second post of it is the same update.
    key = idempotency.parse_key(idempotency_key) or (
        f"servicerequestupdate:{new.update_id}" if new.update_id else None
    )
    answer, replayed = await idempotency.run_once(
        session,
        request.app.state.redis,
        actor=actor,
        key=key,
        method="POST",
        path="/open311/v2/servicerequestupdates",
        payload={k: v for k, v in vars(new).items() if v is not None},
        now=now,
        hours=settings.idempotency_hours,
        work=work,
    )
    return render(
        fmt,
        "service_request_updates",
        json.loads(answer.body),
        headers={"Idempotent-Replayed": "true"} if replayed else None,
    )


@router.api_route(
    "/{unknown:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown(unknown: Annotated[str, PlainText]) -> Response:
    raise Open311NotFound(f"/open311/v2/{unknown} is not a GeoReport v2 resource.")

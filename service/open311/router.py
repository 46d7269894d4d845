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
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import StringConstraints
from starlette.datastructures import UploadFile

from service import idempotency
from service.auth.dependencies import SettingsDep
from service.auth.policy import PUBLIC
from service.catalog.schemas import AcceptLanguage, LangQuery
from service.clock import NowDep
from service.db import SessionDep
from service.fields import PlainText
from service.open311 import filing, media, service, updates_router
from service.open311.formats import (
    Format,
    Open311NotFound,
    Open311Route,
    render,
)
from service.open311.params import (
    ATTRIBUTE,
    POST_FIELDS,
    REQUEST_FORM,
    Fmt,
    IdempotencyKey,
    Jurisdiction,
    Open311Writer,
    Text,
    base_url,
    bbox_param,
    city_zone,
    comma_list,
    date_param,
    first_value,
    integer,
    language_of,
    optional,
    parameters_of,
    statuses,
)
from service.open311.repository import RequestFilter
from service.open311.schemas import (
    MAX_REQUESTS,
    Discovery,
    RequestCreated,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
    json_and_xml,
    states_of,
)
from service.ratelimit import RateLimiterDep, RateLimitItemPerMinute, rate_limit_fields
from service.replicas import ReadSessionDep
from service.reports.filing import Quota

router = APIRouter(
    prefix="/open311/v2", tags=["open311"], route_class=Open311Route, dependencies=[PUBLIC]
)


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
    return render(fmt, "discovery", service.discovery(base_url(request), settings))


@router.get(
    "/services.{fmt}",
    summary="Service list: every active reason with a service code",
    response_model=None,
    responses=json_and_xml(list[Service]),
)
async def services(
    fmt: Fmt,
    session: ReadSessionDep,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = await service.list_services(session, language_of(lang, accept_language))
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
    session: ReadSessionDep,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = await service.service_definition(
        session, service_code, language_of(lang, accept_language)
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
    session: ReadSessionDep,
    now: NowDep,
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
    zone = await city_zone(session)
    size = integer("page_size", page_size, MAX_REQUESTS, 1, MAX_REQUESTS)
    number = integer("page", page, 1, 1, 100_000)
    ids = comma_list(service_request_id)
    if ids is not None:
        query = RequestFilter(ids=ids[:MAX_REQUESTS], limit=MAX_REQUESTS)
    else:
        start, end = service.date_window(
            date_param("start_date", start_date, zone), date_param("end_date", end_date, zone), now
        )
        wanted = statuses(status)
        query = RequestFilter(
            service_codes=comma_list(service_code),
            states=[s for w in wanted for s in states_of(w)] if wanted else None,
            start=start,
            end=end,
            bbox=bbox_param(bbox),
            offset=(number - 1) * size,
            limit=size,
        )
    context = service.ReadContext(
        language=language_of(lang, accept_language),
        base_url=base_url(request),
        zone=zone,
        now=now,
        extensions=(optional(extensions) or "").lower() == "true",
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
    session: ReadSessionDep,
    now: NowDep,
    extensions: Annotated[
        Annotated[str, StringConstraints(max_length=5), PlainText] | None, Query()
    ] = None,
    jurisdiction_id: Jurisdiction = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    context = service.ReadContext(
        language=language_of(lang, accept_language),
        base_url=base_url(request),
        zone=await city_zone(session),
        now=now,
        extensions=(optional(extensions) or "").lower() == "true",
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


def _new_request(parameters: dict[str, list[Any]]) -> filing.NewRequest:
    fields: dict[str, Any] = {name: first_value(parameters, name) for name in POST_FIELDS}
    new = filing.NewRequest(**fields)
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
    return rate_limit_fields(quota.limit, quota.remaining, quota.reset_seconds)


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
    now: NowDep,
    once: idempotency.IdempotentPostDep,
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
    parameters = parameters_of(request, await request.form())
    new = _new_request(parameters)
    uploads = []
    for name in ("media", "media[]"):
        for item in parameters.get(name, []):
            if isinstance(item, UploadFile):
                data = await item.read(settings.photo_max_bytes + 1)
                uploads.append(filing.Upload(data, item.content_type))
    media.check_count(len(uploads), len(new.media_urls), settings)
    payload = new.fingerprint(uploads)
    if new.media_urls:
        # A repeated request answers as the first did, without fetching anything again.
        stored = await once.stored(actor, idempotency_key, path=POST_PATH, payload=payload)
        if stored is not None:
            return _answer(fmt, stored)
        await media.check_quota(session, settings, actor, new.email is not None, now)
        # Remote servers are waited for outside any transaction: what this request did so
        # far (the key's last use, the quota check's lock) is committed, the connection
        # returned; filing runs in a new transaction that takes the quota lock again.
        await session.commit()
        async with media.fetched_media(new.media_urls, settings) as fetched:
            for file in fetched:
                uploads.append(filing.Upload(await file.read(), file.content_type))

    async def work() -> idempotency.Answer:
        created = await filing.create_request(
            session, settings, actor, new, uploads, now, language_of(lang, accept_language)
        )
        return idempotency.Answer(
            201, json.dumps(created.payload).encode(), headers=_quota_headers(created.quota)
        )

    answer = await once.run(actor, idempotency_key, path=POST_PATH, payload=payload, work=work)
    return _answer(fmt, answer)


POST_PATH = "/open311/v2/requests"


def _answer(fmt: Format, answer: idempotency.Answer) -> Response:
    # The stored answer is the format-neutral payload, rendered in the format asked now.
    return render(
        fmt,
        "service_requests",
        json.loads(answer.body),
        status_code=answer.status_code,
        headers=answer.response_headers(),
    )


# After its own routes, before the catch-all below.
router.include_router(updates_router.router)


@router.api_route(
    "/{unknown:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown(unknown: Annotated[str, PlainText]) -> Response:
    raise Open311NotFound(f"/open311/v2/{unknown} is not a GeoReport v2 resource.")

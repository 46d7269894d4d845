"""Reports endpoints: filing, reading, the reporter's changes, photos, support and the map.
Moderation's endpoints are in ``moderation_router.py``.

Who may call what: reading is public (each caller sees what ``access.py`` allows); every
change is made by a signed-in person or by an API key holding the scope it needs
(``require_scope``); API keys never act through their owner's roles."""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    Header,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, StringConstraints

from service import idempotency, replicas
from service.auth import policy
from service.auth.actor import Actor
from service.auth.dependencies import (
    OPTIONAL_CREDENTIALS_DOC,
    OptionalActor,
    SettingsDep,
    actor_of_request,
    require_scope,
    resident_of_request,
)
from service.auth.scopes import Scope
from service.catalog.schemas import AcceptLanguage, LangQuery, pick_language
from service.city.schemas import Latitude, Longitude
from service.clock import NowDep, request_now
from service.db import SessionDep, transaction
from service.errors import ERRORS, PROBLEM, InvalidInput
from service.fields import PlainText, Text
from service.pagination import Cursor, PageSize
from service.ratelimit import rate_limit_fields
from service.replicas import ReadSessionDep
from service.reports import filing, lifecycle, mapview, views
from service.reports.access import PUBLIC, REPORTER, level_for
from service.reports.schemas import (
    NearbyReport,
    ReportCreate,
    ReportPage,
    ReportView,
    TimelineEvent,
)
from service.reports.states import ReportState

router = APIRouter(tags=["reports"])
# Filing and the reporter's own changes: a verified person, or a key with reports:write.
Writer = Annotated[Actor, Depends(require_scope(Scope.reports_write, verified=True))]
# The caller's own reports: a person, or a key with reports:read.
Reader = Annotated[Actor, Depends(require_scope(Scope.reports_read))]


def _language(actor: Actor | None, lang: str | None, accept_language: str | None) -> str:
    if lang is None and accept_language is None and actor is not None:
        return str(actor.language)
    return pick_language(lang, accept_language)


def etag(report: ReportView) -> str:
    """The report's version as an entity tag (``If-Match`` takes it back)."""
    return f'"{report.version}"'


def quota_headers(quota: filing.Quota) -> dict[str, str]:
    """The IETF RateLimit fields of the filing quota."""
    return rate_limit_fields(
        quota.limit, quota.remaining, quota.reset_seconds, quota.window_seconds
    )


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in raw.split(","))
    except ValueError:
        raise InvalidInput("bbox is min_lon,min_lat,max_lon,max_lat", field="bbox") from None
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise InvalidInput("bbox corners are out of range or in the wrong order", field="bbox")
    return min_lon, min_lat, max_lon, max_lat


BoxText = Annotated[str, StringConstraints(max_length=100), PlainText]
BBox = Annotated[BoxText | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS84)")]


# --- filing -------------------------------------------------------------------------------


@router.post(
    "/v1/reports",
    status_code=status.HTTP_201_CREATED,
    summary="File a report",
    response_model=ReportView,
    responses={**ERRORS, 429: PROBLEM},
)
async def file_report(
    body: ReportCreate,
    actor: Writer,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    once: idempotency.IdempotentPostDep,
    idempotency_key: Annotated[
        Text | None,
        Header(
            alias="Idempotency-Key",
            description="Send the same key again to get the same answer without a second report.",
        ),
    ] = None,
) -> Response:
    async def work() -> idempotency.Answer:
        filed = await filing.file_report(session, actor, body, now, settings=settings)
        # A partner filing for a resident sees the report as the public would, plus its
        # state; never the resident's account or name.
        result = await views.view(
            session,
            actor,
            now,
            str(actor.language),
            report_id=filed.report.id,
            level=PUBLIC if filed.on_behalf else max(REPORTER, level_for(actor, filed.report)),
        )
        return idempotency.Answer(
            201,
            result.model_dump_json().encode(),
            location=f"/v1/reports/{filed.report.id}",
            etag=etag(result),
            headers=quota_headers(filed.quota),
        )

    answer = await once.run(
        actor,
        idempotency_key,
        path="/v1/reports",
        payload=body.model_dump(mode="json"),
        work=work,
        version_member="version",
    )
    return Response(
        answer.body,
        status_code=answer.status_code,
        media_type="application/json",
        headers=answer.response_headers(),
    )


# --- a report filed for someone who did not ask for it ------------------------------------

DISOWN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Withdraw report {code}</title></head>
<body><h1>Withdraw report {code}?</h1>
<p>This report was filed for you by someone else. If you did not ask for it, withdraw it.</p>
<form method="post"><button type="submit">Withdraw the report</button></form></body></html>
"""


DisownReport = Annotated[uuid.UUID, Query(alias="report", description="The report to withdraw")]
DisownToken = Annotated[
    str, Query(min_length=16, max_length=256, description="From the email"), PlainText
]


@router.get(
    "/v1/reports/disown",
    dependencies=[policy.CREDENTIALS],
    summary='The page behind the link in a "filed for you" email (asks before withdrawing)',
    response_class=HTMLResponse,
    responses={404: PROBLEM},
)
async def disown_page(
    report_id: DisownReport, token: DisownToken, session: SessionDep, now: NowDep
) -> HTMLResponse:
    # Showing a page, not withdrawing: mail scanners follow links with GET.
    report = await lifecycle.disownable(session, report_id, token, now)
    return HTMLResponse(DISOWN_PAGE.format(code=html.escape(report.tracking_code)))


@router.post(
    "/v1/reports/disown",
    dependencies=[policy.CREDENTIALS],
    summary="Withdraw a report filed for you that you did not ask for (the emailed link)",
    responses={404: PROBLEM, 409: PROBLEM},
)
async def disown(
    report_id: DisownReport, token: DisownToken, session: SessionDep, now: NowDep
) -> HTMLResponse:
    report = await lifecycle.disown(session, report_id, token, now)
    return HTMLResponse(
        f"<!doctype html><html><body><p>Report {html.escape(report.tracking_code)} is "
        "withdrawn.</p></body></html>"
    )


# --- reading ------------------------------------------------------------------------------


def json_response(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """``model`` serialised once, by pydantic (the route's ``response_model`` still
    documents it): no second validation and conversion pass on a hot path."""
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)


@router.get(
    "/v1/reports",
    summary="Reports, newest first",
    response_model=ReportPage,
    responses={422: PROBLEM},
)
async def list_reports(
    actor: OptionalActor,
    session: ReadSessionDep,
    now: NowDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
    state: Annotated[list[ReportState] | None, Query()] = None,
    reason_id: uuid.UUID | None = None,
    category_id: uuid.UUID | None = None,
    district_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    bbox: BBox = None,
    since: datetime | None = None,
    overdue: bool | None = None,
    sort: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    q: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=100), PlainText] | None,
        Query(
            description="Text in the tracking code, the address or the description "
            "(case-insensitive, anywhere in them); the answer then counts the matches (`total`).",
        ),
    ] = None,
    with_total: Annotated[
        bool, Query(description="Count the matching reports on all pages (`total`).")
    ] = False,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    filters = views.ReportFilters(
        states=state,
        reason_id=reason_id,
        category_id=category_id,
        district_id=district_id,
        department_id=department_id,
        bbox=_bbox(bbox),
        since=since,
        overdue=overdue,
        text=q.strip() if q and q.strip() else None,
    )
    items, next_cursor, total = await views.search_reports(
        session,
        actor,
        filters,
        now=now,
        language=_language(actor, lang, accept_language),
        limit=min(limit, 100),
        cursor=cursor,
        oldest_first=sort == "oldest",
        with_total=with_total or filters.text is not None,
    )
    return json_response(ReportPage(items=items, next_cursor=next_cursor, total=total))


@router.get("/v1/me/reports", summary="My reports, newest first", responses=ERRORS)
async def my_reports(
    actor: Reader,
    session: SessionDep,
    now: NowDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
    state: Annotated[list[ReportState] | None, Query()] = None,
) -> ReportPage:
    items, next_cursor = await views.list_reports(
        session,
        actor,
        views.ReportFilters(states=state, reporter_id=actor.user_id),
        now=now,
        language=str(actor.language),
        limit=min(limit, 100),
        cursor=cursor,
    )
    return ReportPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/reports/nearby",
    dependencies=[policy.PUBLIC],
    summary="Open reports of the same category near a point (before filing a duplicate)",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def nearby(
    request: Request,
    lat: Latitude,
    lon: Longitude,
    reason: Annotated[uuid.UUID, Query(description="The reason about to be filed")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> list[NearbyReport]:
    # Public and read-only: on the read pool, without a session (service.rawsql.reading),
    # or on a replica for an anonymous caller (service.replicas.reading).
    async with replicas.reading(request) as db:
        return await views.nearby(db, reason, lat, lon, pick_language(lang, accept_language), limit)


@router.get(
    "/v1/map",
    dependencies=[policy.PUBLIC],
    summary="Reports in a bounding box as GeoJSON: points, or clusters above the budget",
    responses={200: {"content": {"application/geo+json": {}}}, 422: PROBLEM},
    response_class=JSONResponse,
)
async def report_map(
    request: Request,
    bbox: Annotated[BoxText, Query(description="min_lon,min_lat,max_lon,max_lat")],
    zoom: Annotated[int, Query(ge=0, le=22)] = 13,
    state: Annotated[list[ReportState] | None, Query()] = None,
) -> Response:
    # Public and read-only: on the read pool, without a session (service.rawsql.reading),
    # or on a replica for an anonymous caller (service.replicas.reading).
    box = _bbox(bbox)
    assert box is not None
    budget = request.app.state.settings.map_point_budget
    now = await request_now(request)
    async with replicas.reading(request) as db:
        collection = await mapview.map_features(db, box, zoom, budget, now, state)
    return Response(collection, media_type="application/geo+json")


@router.get(
    "/v1/reports/by-code/{tracking_code}", summary="A report by its tracking code", responses=ERRORS
)
async def by_code(
    tracking_code: Annotated[str, Path(max_length=16), PlainText],
    response: Response,
    actor: OptionalActor,
    session: ReadSessionDep,
    now: NowDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> ReportView:
    result = await views.view(
        session,
        actor,
        now,
        _language(actor, lang, accept_language),
        tracking_code=tracking_code,
    )
    response.headers["ETag"] = etag(result)
    return result


@router.get(
    "/v1/reports/{report_id}",
    summary="A report",
    response_model=ReportView,
    responses=ERRORS,
    dependencies=[policy.PUBLIC],
    openapi_extra=OPTIONAL_CREDENTIALS_DOC,
)
async def get_report(
    report_id: uuid.UUID,
    request: Request,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    # The hottest read: no FastAPI dependency is solved for it. An anonymous caller's read,
    # and a resident's, run on the read pool without a session or a transaction
    # (service.rawsql.reading; an anonymous one on a replica, service.replicas.reading);
    # anyone else (an API key, a person holding a role) is resolved and served in a
    # session, as OptionalActor would.
    now = await request_now(request)
    result: ReportView | None = None
    async with replicas.reading(request) as db:
        plain, actor = await resident_of_request(request, db)
        if plain:
            language = _language(actor, lang, accept_language)
            result = await views.view(db, actor, now, language, report_id=report_id)
    if result is None:
        async with transaction(request.app.state.sessionmaker) as session:
            actor = await actor_of_request(request, session, now)
            language = _language(actor, lang, accept_language)
            result = await views.view(session, actor, now, language, report_id=report_id)
    return json_response(result, {"ETag": etag(result)})


@router.get(
    "/v1/reports/{report_id}/timeline",
    summary="What happened to a report (public events only, for the public)",
    responses=ERRORS,
)
async def get_timeline(
    report_id: uuid.UUID, actor: OptionalActor, session: ReadSessionDep
) -> list[TimelineEvent]:
    return await views.timeline(session, actor, report_id)


# --- the reporter -------------------------------------------------------------------------


async def caller_view(
    session: Any, actor: Actor, report_id: uuid.UUID, response: Response, now: datetime
) -> ReportView:
    """The report as the caller sees it at ``now``, with its ``ETag``."""
    result = await views.view(session, actor, now, str(actor.language), report_id=report_id)
    response.headers["ETag"] = etag(result)
    return result

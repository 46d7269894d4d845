"""Reports endpoints: filing, reading, the reporter's changes, photos, support, the map and
moderation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Header,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse, JSONResponse
from pydantic import StringConstraints

from service import idempotency
from service.auth.actor import Actor
from service.auth.dependencies import (
    CurrentActor,
    OptionalActor,
    SettingsDep,
    VerifiedActor,
    require_roles,
)
from service.auth.models import Role
from service.catalog.schemas import AcceptLanguage, LangQuery, pick_language
from service.city.schemas import Latitude, Longitude
from service.db import SessionDep, utcnow
from service.errors import ERRORS, PROBLEM, Forbidden, InvalidInput
from service.fields import PlainText, Text
from service.pagination import Cursor, PageSize
from service.reports import mapview, moderation, photos
from service.reports import service as reports
from service.reports.models import ReportSubscription, ReportSupport
from service.reports.schemas import (
    AcceptRequest,
    BulkRequest,
    BulkResult,
    DuplicateRequest,
    Engagement,
    NearbyReport,
    PhotoRef,
    QueuePage,
    RejectRequest,
    ReportCreate,
    ReportPage,
    ReportUpdate,
    ReportView,
    TimelineEvent,
)
from service.reports.states import ReportState

WRITE_SCOPE = "reports:write"

router = APIRouter(tags=["reports"])


def _language(actor: Actor | None, lang: str | None, accept_language: str | None) -> str:
    if lang is None and accept_language is None and actor is not None:
        return str(actor.language)
    return pick_language(lang, accept_language)


def _writer(actor: Actor) -> Actor:
    if not actor.allows(WRITE_SCOPE):
        raise Forbidden(f"The API key lacks the scope {WRITE_SCOPE}.")
    return actor


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
    request: Request,
    actor: VerifiedActor,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        Text | None,
        Header(
            alias="Idempotency-Key",
            description="Send the same key again to get the same answer without a second report.",
        ),
    ] = None,
) -> Response:
    _writer(actor)
    now = utcnow()
    key = idempotency.parse_key(idempotency_key)
    context = None
    redis = request.app.state.redis
    if key is not None:
        owner = f"key:{actor.api_key_id}" if actor.api_key_id else f"user:{actor.user_id}"
        context = idempotency.IdempotencyContext(
            owner=owner,
            key=key,
            fingerprint=idempotency.fingerprint(
                "POST", "/v1/reports", body.model_dump(mode="json")
            ),
        )
        stored = await idempotency.begin(session, redis, context, now)
        if stored is not None:
            headers = {"Idempotent-Replayed": "true"}
            if stored.location:
                headers["Location"] = stored.location
            return Response(
                stored.body,
                status_code=stored.status_code,
                media_type="application/json",
                headers=headers,
            )
    try:
        report, quota = await reports.file_report(
            session, actor, body, now, quota_limit=settings.report_quota_per_day
        )
        result = await reports.view(
            session, actor, now, str(actor.language), report_id=report.id, as_filer=True
        )
        payload = result.model_dump_json().encode()
        location = f"/v1/reports/{report.id}"
        if context is not None:
            await idempotency.remember(
                session,
                context,
                status_code=201,
                body=payload,
                location=location,
                now=now,
                hours=settings.idempotency_hours,
            )
    except BaseException:
        if context is not None:
            await idempotency.release(redis, context)
        raise
    return Response(
        payload,
        status_code=201,
        media_type="application/json",
        headers={"Location": location, **quota.headers()},
    )


# --- reading ------------------------------------------------------------------------------


@router.get("/v1/reports", summary="Reports, newest first", responses={422: PROBLEM})
async def list_reports(
    actor: OptionalActor,
    session: SessionDep,
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
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> ReportPage:
    filters = reports.ReportFilters(
        states=state,
        reason_id=reason_id,
        category_id=category_id,
        district_id=district_id,
        department_id=department_id,
        bbox=_bbox(bbox),
        since=since,
        overdue=overdue,
    )
    items, next_cursor = await reports.list_reports(
        session,
        actor,
        filters,
        now=utcnow(),
        language=_language(actor, lang, accept_language),
        limit=min(limit, 100),
        cursor=cursor,
        oldest_first=sort == "oldest",
    )
    return ReportPage(items=items, next_cursor=next_cursor)


@router.get("/v1/me/reports", summary="My reports, newest first", responses=ERRORS)
async def my_reports(
    actor: CurrentActor,
    session: SessionDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
    state: Annotated[list[ReportState] | None, Query()] = None,
) -> ReportPage:
    items, next_cursor = await reports.list_reports(
        session,
        actor,
        reports.ReportFilters(states=state, reporter_id=actor.user_id),
        now=utcnow(),
        language=str(actor.language),
        limit=min(limit, 100),
        cursor=cursor,
    )
    return ReportPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/reports/nearby",
    summary="Open reports of the same category near a point (before filing a duplicate)",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def nearby(
    session: SessionDep,
    lat: Latitude,
    lon: Longitude,
    reason: Annotated[uuid.UUID, Query(description="The reason about to be filed")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> list[NearbyReport]:
    return await reports.nearby(
        session, reason, lat, lon, pick_language(lang, accept_language), limit
    )


@router.get(
    "/v1/map",
    summary="Reports in a bounding box as GeoJSON: points, or clusters above the budget",
    responses={200: {"content": {"application/geo+json": {}}}, 422: PROBLEM},
    response_class=JSONResponse,
)
async def report_map(
    session: SessionDep,
    settings: SettingsDep,
    bbox: Annotated[BoxText, Query(description="min_lon,min_lat,max_lon,max_lat")],
    zoom: Annotated[int, Query(ge=0, le=22)] = 13,
    state: Annotated[list[ReportState] | None, Query()] = None,
) -> JSONResponse:
    box = _bbox(bbox)
    assert box is not None
    collection = await mapview.map_features(
        session, box, zoom, settings.map_point_budget, utcnow(), state
    )
    return JSONResponse(collection, media_type="application/geo+json")


@router.get(
    "/v1/reports/by-code/{tracking_code}", summary="A report by its tracking code", responses=ERRORS
)
async def by_code(
    tracking_code: Annotated[str, Path(max_length=16), PlainText],
    actor: OptionalActor,
    session: SessionDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> ReportView:
    return await reports.view(
        session,
        actor,
        utcnow(),
        _language(actor, lang, accept_language),
        tracking_code=tracking_code,
    )


@router.get("/v1/reports/{report_id}", summary="A report", responses=ERRORS)
async def get_report(
    report_id: uuid.UUID,
    actor: OptionalActor,
    session: SessionDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> ReportView:
    return await reports.view(
        session, actor, utcnow(), _language(actor, lang, accept_language), report_id=report_id
    )


@router.get(
    "/v1/reports/{report_id}/timeline",
    summary="What happened to a report (public events only, for the public)",
    responses=ERRORS,
)
async def get_timeline(
    report_id: uuid.UUID, actor: OptionalActor, session: SessionDep
) -> list[TimelineEvent]:
    return await reports.timeline(session, actor, report_id)


# --- the reporter -------------------------------------------------------------------------


async def _caller_view(session: Any, actor: Actor, report_id: uuid.UUID) -> ReportView:
    return await reports.view(session, actor, utcnow(), str(actor.language), report_id=report_id)


@router.patch(
    "/v1/reports/{report_id}", summary="Change my report until it is accepted", responses=ERRORS
)
async def update_report(
    report_id: uuid.UUID, body: ReportUpdate, actor: CurrentActor, session: SessionDep
) -> ReportView:
    await reports.update_report(session, _writer(actor), report_id, body, utcnow())
    return await _caller_view(session, actor, report_id)


@router.post(
    "/v1/reports/{report_id}/submit",
    summary="Send a draft (one waiting for its photo) to moderation",
    responses=ERRORS,
)
async def submit_report(
    report_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> ReportView:
    await reports.submit_draft(session, _writer(actor), report_id, utcnow())
    return await _caller_view(session, actor, report_id)


@router.post(
    "/v1/reports/{report_id}/withdraw",
    summary="Withdraw my report (until it is answered)",
    responses=ERRORS,
)
async def withdraw_report(
    report_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> ReportView:
    await reports.withdraw(session, _writer(actor), report_id, utcnow())
    return await _caller_view(session, actor, report_id)


@router.post(
    "/v1/reports/{report_id}/photos",
    status_code=status.HTTP_201_CREATED,
    summary="Add a photo (JPEG, PNG, WebP or HEIC) to my report",
    responses={**ERRORS, 413: PROBLEM, 415: PROBLEM},
)
async def upload_photo(
    report_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The photo")],
    actor: CurrentActor,
    session: SessionDep,
    settings: SettingsDep,
) -> PhotoRef:
    raw = await file.read(settings.photo_max_bytes + 1)
    photo = await photos.add_photo(
        session, settings, _writer(actor), report_id, raw, file.content_type, utcnow()
    )
    base = f"/v1/reports/{report_id}/photos/{photo.id}"
    return PhotoRef(
        id=photo.id,
        url=base,
        thumbnail_url=f"{base}?variant=thumbnail",
        width=photo.width,
        height=photo.height,
    )


@router.get(
    "/v1/reports/{report_id}/photos/{photo_id}",
    summary="A photo of a report the caller may see",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 404: PROBLEM},
)
async def get_photo(
    report_id: uuid.UUID,
    photo_id: uuid.UUID,
    actor: OptionalActor,
    session: SessionDep,
    settings: SettingsDep,
    variant: Annotated[str, Query(pattern="^(full|thumbnail)$")] = "full",
) -> FileResponse:
    path = await photos.photo_file(
        session, settings, actor, report_id, photo_id, variant == "thumbnail"
    )
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


@router.delete(
    "/v1/reports/{report_id}/photos/{photo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a photo from my report until it is accepted",
    responses=ERRORS,
)
async def delete_photo(
    report_id: uuid.UUID,
    photo_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    await photos.remove_photo(session, settings, _writer(actor), report_id, photo_id, utcnow())


# --- support and subscriptions ------------------------------------------------------------


def _engagement_route(kind: type[ReportSupport] | type[ReportSubscription], on: bool) -> Any:
    async def endpoint(
        report_id: uuid.UUID, actor: VerifiedActor, session: SessionDep
    ) -> Engagement:
        return await reports.set_engagement(session, actor, report_id, kind, on, utcnow())

    return endpoint


for _path, _kind, _noun in (
    ("support", ReportSupport, "Support (“me too”)"),
    ("subscription", ReportSubscription, "Subscribe to"),
):
    router.add_api_route(
        f"/v1/reports/{{report_id}}/{_path}",
        _engagement_route(_kind, True),
        methods=["PUT"],
        summary=f"{_noun} a report (idempotent)",
        responses=ERRORS,
        response_model=Engagement,
        name=f"put_{_path}",
    )
    router.add_api_route(
        f"/v1/reports/{{report_id}}/{_path}",
        _engagement_route(_kind, False),
        methods=["DELETE"],
        summary=f"Undo: {_noun.lower()} a report",
        responses=ERRORS,
        response_model=Engagement,
        name=f"delete_{_path}",
    )


# --- moderation ---------------------------------------------------------------------------

Moderator = Annotated[Actor, Depends(require_roles(Role.moderator, Role.admin))]
moderation_router = APIRouter(prefix="/v1/moderation", tags=["moderation"])


@moderation_router.get(
    "/queue", summary="Reports awaiting moderation, oldest first", responses=ERRORS
)
async def moderation_queue(
    actor: Moderator,
    session: SessionDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> QueuePage:
    items, next_cursor = await moderation.queue(
        session,
        actor,
        now=utcnow(),
        language=str(actor.language),
        limit=min(limit, 100),
        cursor=cursor,
    )
    return QueuePage(items=items, next_cursor=next_cursor)


@moderation_router.post(
    "/reports/{report_id}/accept",
    summary="Accept (optionally correcting the reason or place, which routes it again)",
    responses=ERRORS,
)
async def accept_report(
    report_id: uuid.UUID, actor: Moderator, session: SessionDep, body: AcceptRequest | None = None
) -> ReportView:
    await moderation.accept(session, actor, report_id, body or AcceptRequest(), utcnow())
    return await _caller_view(session, actor, report_id)


@moderation_router.post(
    "/reports/{report_id}/reject", summary="Reject with a reason code and text", responses=ERRORS
)
async def reject_report(
    report_id: uuid.UUID, body: RejectRequest, actor: Moderator, session: SessionDep
) -> ReportView:
    await moderation.reject(session, actor, report_id, body, utcnow())
    return await _caller_view(session, actor, report_id)


@moderation_router.post(
    "/reports/{report_id}/duplicate",
    summary="Mark as a duplicate of another report (supporters and subscribers move over)",
    responses=ERRORS,
)
async def duplicate_report(
    report_id: uuid.UUID, body: DuplicateRequest, actor: Moderator, session: SessionDep
) -> ReportView:
    await moderation.mark_duplicate(session, actor, report_id, body.of, utcnow())
    return await _caller_view(session, actor, report_id)


@moderation_router.post(
    "/bulk",
    summary="Accept or reject several reports; each succeeds or fails alone",
    responses=ERRORS,
)
async def bulk_moderation(body: BulkRequest, actor: Moderator, session: SessionDep) -> BulkResult:
    return BulkResult(results=await moderation.bulk(session, actor, body, utcnow()))


router.include_router(moderation_router)

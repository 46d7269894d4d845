"""The reporter's and supporters' endpoints: changing, sending and withdrawing one's own
report, its photos, and support and subscriptions. Each needs a verified person or an API
key with ``reports:write``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile, status
from fastapi.responses import FileResponse

from service.auth.dependencies import OptionalActor, SettingsDep
from service.auth.policy import OWN
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM
from service.ratelimit import RateLimiterDep, RateLimitItemPerHour
from service.reports import engagement, lifecycle, photos
from service.reports.models import ReportSubscription, ReportSupport
from service.reports.router import Writer, caller_view
from service.reports.schemas import Engagement, PhotoRef, ReportUpdate, ReportView

router = APIRouter(tags=["reports"])


@router.patch(
    "/v1/reports/{report_id}",
    dependencies=[OWN],
    summary="Change my report until it is accepted",
    responses=ERRORS,
)
async def update_report(
    report_id: uuid.UUID,
    body: ReportUpdate,
    response: Response,
    actor: Writer,
    session: SessionDep,
    now: NowDep,
) -> ReportView:
    await lifecycle.update_report(session, actor, report_id, body, now)
    return await caller_view(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/submit",
    dependencies=[OWN],
    summary="Send a draft (one waiting for its photo) to moderation",
    responses=ERRORS,
)
async def submit_report(
    report_id: uuid.UUID, response: Response, actor: Writer, session: SessionDep, now: NowDep
) -> ReportView:
    await lifecycle.submit_draft(session, actor, report_id, now)
    return await caller_view(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/withdraw",
    dependencies=[OWN],
    summary="Withdraw my report (until it is answered)",
    responses=ERRORS,
)
async def withdraw_report(
    report_id: uuid.UUID, response: Response, actor: Writer, session: SessionDep, now: NowDep
) -> ReportView:
    await lifecycle.withdraw(session, actor, report_id, now)
    return await caller_view(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/photos",
    dependencies=[OWN],
    status_code=status.HTTP_201_CREATED,
    summary="Add a photo (JPEG, PNG, WebP or HEIC) to my report",
    responses={**ERRORS, 413: PROBLEM, 415: PROBLEM},
)
async def upload_photo(
    report_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The photo")],
    actor: Writer,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    now: NowDep,
) -> PhotoRef:
    await limiter.enforce(
        RateLimitItemPerHour(settings.photo_uploads_per_hour),
        "photo-upload",
        str(actor.user_id),
        detail=f"At most {settings.photo_uploads_per_hour} photo uploads an hour.",
    )
    raw = await file.read(settings.photo_max_bytes + 1)
    photo = await photos.add_photo(session, settings, actor, report_id, raw, file.content_type, now)
    return PhotoRef.of(photo)


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
    dependencies=[OWN],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a photo from my report until it is accepted",
    responses=ERRORS,
)
async def delete_photo(
    report_id: uuid.UUID,
    photo_id: uuid.UUID,
    actor: Writer,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> None:
    await photos.remove_photo(session, settings, actor, report_id, photo_id, now)


# --- support and subscriptions ------------------------------------------------------------


def _engagement_route(kind: type[ReportSupport] | type[ReportSubscription], on: bool) -> Any:
    async def endpoint(
        report_id: uuid.UUID,
        actor: Writer,
        session: SessionDep,
        settings: SettingsDep,
        limiter: RateLimiterDep,
        now: NowDep,
    ) -> Engagement:
        # Each change notifies and recounts: a script toggling support must not flood that.
        await limiter.enforce(
            RateLimitItemPerHour(settings.engagement_changes_per_hour),
            "engagement",
            str(actor.user_id),
            detail=f"At most {settings.engagement_changes_per_hour} support or subscription "
            "changes an hour.",
        )
        return await engagement.set_engagement(session, actor, report_id, kind, on, now)

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
        responses={**ERRORS, 429: PROBLEM},
        response_model=Engagement,
        name=f"put_{_path}",
    )
    router.add_api_route(
        f"/v1/reports/{{report_id}}/{_path}",
        _engagement_route(_kind, False),
        methods=["DELETE"],
        summary=f"Undo: {_noun.lower()} a report",
        responses={**ERRORS, 429: PROBLEM},
        response_model=Engagement,
        name=f"delete_{_path}",
    )

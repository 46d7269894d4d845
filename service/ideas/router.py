"""The idea bank's public and authors' endpoints.

Who may call what: the lists, map, statistics, an idea, its timeline and the files of a
public idea are open to anyone; proposing, editing, attachments, submitting, withdrawing and
supporting need a verified person or an API key with ``ideas:write`` (acting as its owner);
``/v1/me/ideas`` shows the caller's own ideas (a person, or a key with ``ideas:write``).
Experts' endpoints are in ``review_router.py``; the project office's, the committees' and
the admins' in ``office_router.py``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse

from service.auth.actor import Actor
from service.auth.dependencies import OptionalActor, SettingsDep, require_scope
from service.auth.policy import OWN, PUBLIC
from service.auth.scopes import Scope
from service.clock import NowDep
from service.config import Settings
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM
from service.ideas import access, attachments, public, repository, submissions, views
from service.ideas.areas import area_public
from service.ideas.models import AttachmentKind, IdeaState
from service.ideas.schemas import (
    AreaPublic,
    AreaStats,
    AttachmentRef,
    IdeaCreate,
    IdeaOwn,
    IdeaPage,
    IdeaPublic,
    IdeaUpdate,
    OwnIdeaPage,
    SupportState,
    TimelineEvent,
)
from service.pagination import Cursor, PageSize
from service.ratelimit import RateLimiterDep, RateLimitItemPerHour, rate_limit_headers

# Public reading; a route that asks for a caller states its own (see service.auth.policy).
router = APIRouter(tags=["ideas"], dependencies=[PUBLIC])
# Proposing and supporting: a verified person, or a key with ideas:write acting as its owner.
Author = Annotated[Actor, Depends(require_scope(Scope.ideas_write, verified=True))]
# Reading one's own ideas: a person, or a key with ideas:write.
OwnReader = Annotated[Actor, Depends(require_scope(Scope.ideas_write))]
GEOJSON = "application/geo+json"
UPLOAD_ERRORS = {**ERRORS, 413: PROBLEM, 415: PROBLEM, 429: PROBLEM}


@router.get("/v1/idea-areas", summary="The functional areas ideas are proposed in")
async def list_areas(session: SessionDep) -> list[AreaPublic]:
    return [area_public(a) for a in await repository.list_areas(session, active_only=True)]


@router.get(
    "/v1/ideas",
    summary="Public ideas (past the automatic checks), newest first",
    responses={422: PROBLEM},
)
async def list_ideas(
    session: SessionDep,
    area_id: uuid.UUID | None = None,
    state: IdeaState | None = None,
    district_id: uuid.UUID | None = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> IdeaPage:
    return await public.list_ideas(
        session,
        area_id=area_id,
        state=state,
        district_id=district_id,
        cursor=cursor,
        limit=min(limit, 100),
    )


@router.get(
    "/v1/ideas/map",
    summary="Located public ideas as GeoJSON",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}, 422: PROBLEM},
)
async def ideas_map(
    session: SessionDep, area_id: uuid.UUID | None = None, state: IdeaState | None = None
) -> JSONResponse:
    features = await public.map_features(session, area_id=area_id, state=state)
    return JSONResponse(features, media_type=GEOJSON)


@router.get("/v1/ideas/stats", summary="Per area: ideas submitted, passing each stage, decided")
async def ideas_stats(session: SessionDep) -> list[AreaStats]:
    return await public.stats(session)


@router.post(
    "/v1/ideas",
    status_code=status.HTTP_201_CREATED,
    summary="Propose an idea (a draft until submitted)",
    responses=ERRORS,
)
async def create_idea(body: IdeaCreate, actor: Author, session: SessionDep, now: NowDep) -> IdeaOwn:
    idea = await submissions.create_idea(session, actor, body, now)
    return (await views.own_views(session, [idea]))[0]


@router.get("/v1/ideas/{idea_id}", summary="A public idea", responses=ERRORS)
async def get_idea(idea_id: uuid.UUID, session: SessionDep) -> IdeaPublic:
    return await public.get_idea(session, idea_id)


@router.get("/v1/ideas/{idea_id}/timeline", summary="A public idea's stages", responses=ERRORS)
async def idea_timeline(idea_id: uuid.UUID, session: SessionDep) -> list[TimelineEvent]:
    return await public.timeline(session, idea_id)


@router.patch(
    "/v1/ideas/{idea_id}",
    summary="Change my draft or returned idea",
    responses=ERRORS,
    dependencies=[OWN],
)
async def update_idea(
    idea_id: uuid.UUID, body: IdeaUpdate, actor: Author, session: SessionDep, now: NowDep
) -> IdeaOwn:
    idea = await submissions.update_idea(session, actor, idea_id, body, now)
    return (await views.own_views(session, [idea]))[0]


@router.post(
    "/v1/ideas/{idea_id}/submit",
    summary="Submit my idea to the automatic checks (stage 1)",
    responses=ERRORS,
    dependencies=[OWN],
)
async def submit_idea(
    idea_id: uuid.UUID, actor: Author, session: SessionDep, now: NowDep
) -> IdeaOwn:
    idea = await submissions.submit_idea(session, actor, idea_id, now)
    return (await views.own_views(session, [idea]))[0]


@router.post(
    "/v1/ideas/{idea_id}/withdraw",
    summary="Withdraw my idea (before a decision)",
    responses=ERRORS,
    dependencies=[OWN],
)
async def withdraw_idea(
    idea_id: uuid.UUID, actor: Author, session: SessionDep, now: NowDep
) -> IdeaOwn:
    idea = await submissions.withdraw_idea(session, actor, idea_id, now)
    return (await views.own_views(session, [idea]))[0]


async def _upload(
    kind: AttachmentKind,
    idea_id: uuid.UUID,
    file: UploadFile,
    actor: Actor,
    session: SessionDep,
    settings: Settings,
    limiter: RateLimiterDep,
    now: NowDep,
) -> AttachmentRef:
    # Photos and documents share the photo upload budget: the same cleaning cost.
    await limiter.enforce(
        RateLimitItemPerHour(settings.photo_uploads_per_hour),
        "photo-upload",
        str(actor.user_id),
        detail=f"At most {settings.photo_uploads_per_hour} uploads an hour.",
    )
    raw = await file.read(settings.photo_max_bytes + 1)
    attachment = await attachments.add_attachment(
        session, settings, actor, idea_id, kind, raw, file.content_type, now
    )
    return views.attachment_ref(attachment)


@router.post(
    "/v1/ideas/{idea_id}/photos",
    status_code=status.HTTP_201_CREATED,
    summary="Add a photo (JPEG, PNG, WebP or HEIC; re-encoded without metadata) to my idea",
    responses=UPLOAD_ERRORS,
    dependencies=[OWN],
)
async def upload_photo(
    idea_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The photo")],
    actor: Author,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    now: NowDep,
) -> AttachmentRef:
    return await _upload(
        AttachmentKind.photo, idea_id, file, actor, session, settings, limiter, now
    )


@router.post(
    "/v1/ideas/{idea_id}/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Add a PDF document (rewritten without its metadata) to my idea",
    responses=UPLOAD_ERRORS,
    dependencies=[OWN],
)
async def upload_document(
    idea_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The PDF document")],
    actor: Author,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    now: NowDep,
) -> AttachmentRef:
    return await _upload(
        AttachmentKind.document, idea_id, file, actor, session, settings, limiter, now
    )


@router.get(
    "/v1/ideas/{idea_id}/attachments/{attachment_id}",
    summary="A photo or document of an idea the caller may see",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "application/pdf": {}}}, 404: PROBLEM},
)
async def get_attachment(
    idea_id: uuid.UUID,
    attachment_id: uuid.UUID,
    actor: OptionalActor,
    session: SessionDep,
    settings: SettingsDep,
    variant: Annotated[str, Query(pattern="^(full|thumbnail)$")] = "full",
) -> FileResponse:
    path, media_type = await attachments.attachment_file(
        session, settings, actor, idea_id, attachment_id, variant == "thumbnail"
    )
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=300"}
    )


@router.delete(
    "/v1/ideas/{idea_id}/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a photo or document from my editable idea",
    responses=ERRORS,
    dependencies=[OWN],
)
async def delete_attachment(
    idea_id: uuid.UUID, attachment_id: uuid.UUID, actor: Author, session: SessionDep, now: NowDep
) -> None:
    await attachments.remove_attachment(session, actor, idea_id, attachment_id, now)


@router.get(
    "/v1/ideas/{idea_id}/support", summary="Whether I support a public idea", responses=ERRORS
)
async def get_support(idea_id: uuid.UUID, actor: OwnReader, session: SessionDep) -> SupportState:
    return await submissions.support_state(session, actor, idea_id)


async def _support_budget(
    actor: Actor, settings: Settings, limiter: RateLimiterDep, response: Response
) -> None:
    """Supports of ideas count with those of reports (one hourly budget of changes a person
    makes): a script toggling support must not flood the counts. The RateLimit-* fields
    tell what is left (a 429 adds Retry-After)."""
    state = await limiter.enforce(
        RateLimitItemPerHour(settings.engagement_changes_per_hour),
        "engagement",
        str(actor.user_id),
        detail=f"At most {settings.engagement_changes_per_hour} support or subscription "
        "changes an hour.",
    )
    response.headers.update(rate_limit_headers(state))


@router.put(
    "/v1/ideas/{idea_id}/support",
    summary="Support a public idea (once per person)",
    responses={**ERRORS, 429: PROBLEM},
)
async def put_support(
    idea_id: uuid.UUID,
    actor: Author,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    response: Response,
) -> SupportState:
    await _support_budget(actor, settings, limiter, response)
    return await submissions.support(session, actor, idea_id, True)


@router.delete(
    "/v1/ideas/{idea_id}/support",
    summary="Take my support back",
    responses={**ERRORS, 429: PROBLEM},
)
async def delete_support(
    idea_id: uuid.UUID,
    actor: Author,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    response: Response,
) -> SupportState:
    await _support_budget(actor, settings, limiter, response)
    return await submissions.support(session, actor, idea_id, False)


@router.get(
    "/v1/me/ideas",
    summary="My ideas, in every state, with the results addressed to me",
    responses=ERRORS,
)
async def my_ideas(actor: OwnReader, session: SessionDep) -> OwnIdeaPage:
    ideas = await repository.ideas_of_author(session, actor.user_id)
    return OwnIdeaPage(items=await views.own_views(session, ideas))


@router.get(
    "/v1/me/ideas/{idea_id}", summary="One of my ideas", responses=ERRORS, dependencies=[OWN]
)
async def my_idea(idea_id: uuid.UUID, actor: OwnReader, session: SessionDep) -> IdeaOwn:
    idea = await access.own_idea(session, actor, idea_id)
    return (await views.own_views(session, [idea]))[0]

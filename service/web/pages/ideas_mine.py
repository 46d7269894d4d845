"""The author's side of the idea bank: proposing an idea with photos and documents
(``/ideas/new``), my ideas with their stage and what to fix (``/my/ideas``), editing,
submitting, withdrawing and removing a file, and an idea's files (``/ideas/{id}/files/{a}``,
under the API's rule: a public idea's for anyone, a draft's for its author). The pages call the
services and upload steps the API's idea routes call.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi import UploadFile as FastApiUpload
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, RedirectResponse, Response

from service.errors import AppError
from service.ideas import access, attachments, repository, submissions, views
from service.ideas.models import AttachmentKind, CostBand
from service.ideas.router import _upload
from service.ideas.schemas import IdeaCreate, IdeaOwn, IdeaUpdate
from service.ideas.states import EDITABLE_STATES, TRANSITIONS, IdeaAction
from service.web.dependencies import CSRF, Page, PageContext, PersonPage
from service.web.forms import FormErrors, field_errors, parse, text_fields
from service.web.i18n import translate
from service.web.pages.ideas import (
    AUTHOR,
    FORM_FIELDS,
    TEXT_FIELDS,
    UPLOAD_FALLBACK,
    UPLOAD_MESSAGES,
    active_areas,
    idea_words,
    refusal_of,
    stage_progress,
)
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# --- proposing and editing ------------------------------------------------------------------


def _values(form: Mapping[str, str], *, update: bool) -> dict[str, Any]:
    """A form's fields as the API's JSON body: empty optional fields are left out (a new idea)
    or cleared (an edit, for the fields the API lets one clear)."""
    values: dict[str, Any] = {name: form.get(name, "") for name in TEXT_FIELDS}
    lat, lon = form.get("lat", "").strip(), form.get("lon", "").strip()
    values["location"] = {"lat": lat, "lon": lon} if lat or lon else None
    values["tags"] = [t for t in (part.strip() for part in form.get("tags", "").split(",")) if t]
    values["organisation"] = form.get("organisation", "").strip() or None
    values["cost_band"] = values["cost_band"] or None
    if not update:
        return {k: v for k, v in values.items() if v is not None}
    if not values["area_id"]:
        values.pop("area_id")
    return values


def _files(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and (f.filename or f.size)]


def _upload_error(page: PageContext, exc: AppError, field: str) -> FormErrors:
    message = translate(page.language, exc.detail)
    if message == exc.detail and page.language.value != "en":
        message = translate(page.language, UPLOAD_MESSAGES.get(exc.status, UPLOAD_FALLBACK))
    return FormErrors({field: message})


async def _attach(page: PageContext, request: Request, form: FormData, idea_id: uuid.UUID) -> None:
    """The form's photos and documents through the API's upload step (``AppError`` with the
    file field as its ``field`` on a refusal)."""
    actor = await AUTHOR(page.person)
    limiter = request.app.state.rate_limiter
    for name, kind in (("photos", AttachmentKind.photo), ("documents", AttachmentKind.document)):
        for upload in _files(form, name):
            try:
                # The API's step reads the file and its declared type, as a form's part has them.
                file = cast(FastApiUpload, upload)
                await _upload(
                    kind, idea_id, file, actor, page.session, page.settings, limiter, page.now
                )
            except AppError as exc:
                exc.extensions["_web_field"] = name
                raise


async def _form(
    page: PageContext,
    template: str,
    values: Mapping[str, str],
    errors: FormErrors,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    return render(
        page,
        template,
        status_code=status_code,
        areas=await active_areas(page),
        values=values,
        errors=errors,
        cost_bands=list(CostBand),
        **idea_words(),
        **extra,
    )


def _failure(page: PageContext, exc: AppError) -> FormErrors:
    field = str(exc.extensions.pop("_web_field", ""))
    if field:
        return _upload_error(page, exc, field)
    found = refusal_of(page, exc, str(exc.extensions.get("field") or ""))
    return FormErrors({("lat" if k == "location" else k): v for k, v in found.items()})


# Before the public pages' ``/ideas/{idea_id}`` (service.web.pages.ROUTERS keeps the order).
@router.get("/ideas/new")
async def new_idea_form(page: PersonPage) -> Response:
    return await _form(page, "ideas/new.html", {}, FormErrors())


@router.post("/ideas/new", dependencies=[CSRF])
async def propose(page: PersonPage, request: Request) -> Response:
    """A draft (``POST /v1/ideas``), its files, and — when asked — its submission
    (``POST /v1/ideas/{id}/submit``)."""
    actor = await AUTHOR(page.person)
    form = await request.form()
    fields = text_fields(form, *FORM_FIELDS)
    try:
        body = parse(IdeaCreate, _values(fields, update=False))
    except ValidationError as exc:
        return await _form(
            page, "ideas/new.html", fields, field_errors(exc, page.language), status_code=422
        )
    try:
        created = await submissions.create_idea(page.session, actor, body, page.now)
        await _attach(page, request, form, created.id)
        if form.get("action") == "submit":
            await submissions.submit_idea(page.session, actor, created.id, page.now)
    except AppError as exc:
        # Nothing of a refused proposal is kept: the form comes back as it was sent.
        await page.session.rollback()
        return await _form(
            page, "ideas/new.html", fields, _failure(page, exc), status_code=exc.status
        )
    return RedirectResponse(f"/my/ideas/{created.id}", status_code=303)


@router.get("/my/ideas")
async def my_ideas(page: PersonPage) -> Response:
    """My ideas in every state (``GET /v1/me/ideas``) with what to fix."""
    ideas = await repository.ideas_of_author(page.session, page.person.user_id)
    own = await views.own_views(page.session, ideas)
    areas = {a.id: a.name for a in await repository.list_areas(page.session, active_only=False)}
    return render(page, "ideas/mine.html", ideas=own, area_names=areas, **idea_words())


def _own_values(idea: IdeaOwn) -> dict[str, str]:
    return {
        "area_id": str(idea.area_id),
        "title": idea.title,
        "summary": idea.summary,
        "problem": idea.problem,
        "solution": idea.solution,
        "benefit": idea.benefit,
        "cost_band": idea.cost_band.value if idea.cost_band else "",
        "lat": f"{idea.location.lat:.6f}" if idea.location else "",
        "lon": f"{idea.location.lon:.6f}" if idea.location else "",
        "tags": ", ".join(idea.tags),
        "organisation": idea.organisation or "",
    }


async def _own_page(
    page: PageContext,
    idea_id: uuid.UUID,
    *,
    values: Mapping[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    found = await access.own_idea(page.session, page.person, idea_id)
    idea = (await views.own_views(page.session, [found]))[0]
    withdrawable = idea.state in TRANSITIONS[IdeaAction.withdraw][0]
    return await _form(
        page,
        "ideas/own.html",
        values if values is not None else _own_values(idea),
        errors or FormErrors(),
        status_code=status_code,
        idea=idea,
        editable=idea.state in EDITABLE_STATES,
        withdrawable=withdrawable,
        stages=stage_progress(idea.state),
    )


@router.get("/my/ideas/{idea_id}")
async def my_idea(page: PersonPage, idea_id: uuid.UUID) -> Response:
    """One of my ideas (``GET /v1/me/ideas/{id}``): 404 for anyone else's."""
    return await _own_page(page, idea_id)


@router.post("/my/ideas/{idea_id}", dependencies=[CSRF])
async def edit_idea(page: PersonPage, request: Request, idea_id: uuid.UUID) -> Response:
    """Change my draft or returned idea (``PATCH /v1/ideas/{id}``), add files, and submit it
    when asked."""
    actor = await AUTHOR(page.person)
    await access.own_idea(page.session, actor, idea_id)
    form = await request.form()
    fields = text_fields(form, *FORM_FIELDS)
    try:
        body = parse(IdeaUpdate, _values(fields, update=True))
    except ValidationError as exc:
        return await _own_page(
            page, idea_id, values=fields, errors=field_errors(exc, page.language), status_code=422
        )
    try:
        await submissions.update_idea(page.session, actor, idea_id, body, page.now)
        await _attach(page, request, form, idea_id)
        if form.get("action") == "submit":
            await submissions.submit_idea(page.session, actor, idea_id, page.now)
    except AppError as exc:
        if exc.status == 404:
            raise
        await page.session.rollback()
        return await _own_page(
            page, idea_id, values=fields, errors=_failure(page, exc), status_code=exc.status
        )
    return RedirectResponse(f"/my/ideas/{idea_id}", status_code=303)


async def _act(page: PageContext, idea_id: uuid.UUID, action: Any) -> Response:
    try:
        await action
    except AppError as exc:
        if exc.status == 404:
            raise
        await page.session.rollback()
        return await _own_page(page, idea_id, errors=refusal_of(page, exc), status_code=exc.status)
    return RedirectResponse(f"/my/ideas/{idea_id}", status_code=303)


@router.post("/my/ideas/{idea_id}/submit", dependencies=[CSRF])
async def submit(page: PersonPage, idea_id: uuid.UUID) -> Response:
    """Submit my idea to the automatic checks (``POST /v1/ideas/{id}/submit``)."""
    actor = await AUTHOR(page.person)
    return await _act(
        page, idea_id, submissions.submit_idea(page.session, actor, idea_id, page.now)
    )


@router.post("/my/ideas/{idea_id}/withdraw", dependencies=[CSRF])
async def withdraw(page: PersonPage, idea_id: uuid.UUID) -> Response:
    """Withdraw my idea before a decision (``POST /v1/ideas/{id}/withdraw``)."""
    actor = await AUTHOR(page.person)
    return await _act(
        page, idea_id, submissions.withdraw_idea(page.session, actor, idea_id, page.now)
    )


@router.post("/my/ideas/{idea_id}/attachments/{attachment_id}/remove", dependencies=[CSRF])
async def remove_attachment(
    page: PersonPage, idea_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    """Remove a file from my editable idea (``DELETE /v1/ideas/{id}/attachments/{a}``)."""
    actor = await AUTHOR(page.person)
    return await _act(
        page,
        idea_id,
        attachments.remove_attachment(page.session, actor, idea_id, attachment_id, page.now),
    )


@router.get("/ideas/{idea_id}/files/{attachment_id}")
async def attachment(
    page: Page,
    idea_id: uuid.UUID,
    attachment_id: uuid.UUID,
    variant: Annotated[str, Query(pattern="^(full|thumbnail)$")] = "full",
) -> Response:
    """A file of an idea the reader may see (as ``GET /v1/ideas/{id}/attachments/{a}``): a
    public idea's for everyone, a draft's for its author."""
    path, media_type = await attachments.attachment_file(
        page.session, page.settings, page.actor, idea_id, attachment_id, variant == "thumbnail"
    )
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=300"}
    )

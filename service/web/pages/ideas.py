"""The idea bank's pages: browse and map public ideas, an idea's stages and decision,
supporting it, proposing one with photos and PDF documents, and the author's own ideas with
what to fix.

Every page calls what the API's idea routes call (``service.ideas.router``): the public list,
map and timeline of ``service.ideas.public``, the author's view of ``service.ideas.views``,
drafts, edits, submission and supports of ``service.ideas.submissions``, and the API's own
upload step for attachments, with its hourly budget and cleaning. Forms are checked by the
API's schemas (``IdeaCreate``, ``IdeaUpdate``). The public side never names an author or an
expert; the author's side counts reviews and never names a reviewer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi import UploadFile as FastApiUpload
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, RedirectResponse, Response

from service.auth.dependencies import require_scope
from service.auth.scopes import Scope
from service.city.districts import service as city
from service.errors import AppError
from service.ideas import access, attachments, public, repository, submissions, views
from service.ideas.areas import area_public
from service.ideas.models import AttachmentKind, CostBand, IdeaState
from service.ideas.router import _support_budget, _upload
from service.ideas.schemas import AreaPublic, IdeaCreate, IdeaOwn, IdeaUpdate
from service.ideas.states import EDITABLE_STATES, SUPPORTABLE_STATES, TRANSITIONS, IdeaAction
from service.web.dependencies import CSRF, Page, PageContext, PersonPage
from service.web.forms import FormErrors, app_error, field_errors, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
# The districts' outlines are not drawn: the coarsest the API offers is the cheapest.
DISTRICT_SIMPLIFY_M = 500
TEXT_FIELDS = ("area_id", "title", "summary", "problem", "solution", "benefit", "cost_band")
FORM_FIELDS = (*TEXT_FIELDS, "lat", "lon", "tags", "organisation")

STATE_NAMES = {
    IdeaState.draft: N_("Draft"),
    IdeaState.submitted: N_("Automatic checks"),
    IdeaState.returned: N_("Returned to the author"),
    IdeaState.experts: N_("Expert assessment"),
    IdeaState.design: N_("Design assessment"),
    IdeaState.committee: N_("Committee"),
    IdeaState.rejected: N_("Rejected"),
    IdeaState.decided: N_("Decided"),
    IdeaState.withdrawn: N_("Withdrawn"),
}
# The four stages in their order, and the states in which each is done or under way.
STAGES = (
    (IdeaState.submitted, N_("Automatic checks")),
    (IdeaState.experts, N_("Expert assessment")),
    (IdeaState.design, N_("Design assessment")),
    (IdeaState.committee, N_("Committee's priority")),
)
ORDER = [IdeaState.submitted, IdeaState.experts, IdeaState.design, IdeaState.committee]
DECISION_NAMES = {
    "implement": N_("To be implemented"),
    "pilot": N_("To be piloted"),
    "declined": N_("Declined"),
}
COST_NAMES = {
    CostBand.under_10k: N_("Under 10,000 euros"),
    CostBand.from_10k_to_50k: N_("10,000–50,000 euros"),
    CostBand.from_50k_to_250k: N_("50,000–250,000 euros"),
    CostBand.from_250k_to_1m: N_("250,000 euros to 1 million"),
    CostBand.over_1m: N_("Over 1 million euros"),
}
EVENT_NAMES = {
    "submitted": N_("Submitted"),
    "checks_passed": N_("Passed the automatic checks and published"),
    "reviews_closed": N_("Experts' assessment complete"),
    "design_approve": N_("Approved by the project office for the committee"),
    "design_return": N_("Returned to the author for revision"),
    "design_reject": N_("Rejected by the project office"),
    "decided": N_("The committee decided"),
    "withdrawn": N_("Withdrawn by the author"),
}
FIELD_NAMES = {
    "title": N_("Title"),
    "summary": N_("Summary"),
    "problem": N_("Problem"),
    "solution": N_("Solution"),
    "benefit": N_("Benefit"),
    "cost_band": N_("Estimated cost"),
    "location": N_("Place"),
}
# The automatic checks' rules (``service.ideas.checks``), said for the author.
RULE_TEXTS = {
    "required": N_("This is required in this area."),
    "length": N_("The length is outside the bounds this area sets."),
    "location": N_("The place is outside the city."),
    "duplicate": N_("A public idea is very similar: support it, or say how yours differs."),
}
# A file the services refused, said per kind of refusal when its own sentence has no
# translation.
UPLOAD_MESSAGES = {
    413: N_("The file is too large."),
    415: N_("Attach photos as JPEG, PNG, WebP or HEIC images and documents as PDF files."),
}
REFUSALS = {
    409: N_("This is not possible in the idea's present stage."),
    422: N_("Some of what was sent is not valid."),
    429: N_("Too many attempts; wait a moment and try again."),
}
REFUSAL_FALLBACK = N_("This could not be done.")
UPLOAD_FALLBACK = N_("The file could not be read; attach another one.")
UUID = TypeAdapter(uuid.UUID)
STATE = TypeAdapter(IdeaState)
AUTHOR = require_scope(Scope.ideas_write, verified=True)


def _stages(state: IdeaState) -> list[dict[str, str]]:
    """The four stages with how far the idea is (``done``, ``current``, ``upcoming``)."""
    reached = {
        IdeaState.submitted: 0,
        IdeaState.experts: 1,
        IdeaState.design: 2,
        IdeaState.committee: 3,
        IdeaState.decided: 4,
        IdeaState.rejected: 2,
    }.get(state, -1)
    stages = []
    for index, (_, name) in enumerate(STAGES):
        if state is IdeaState.rejected and index == 2:
            status = "stopped"
        elif index < reached:
            status = "done"
        elif index == reached:
            status = "current"
        else:
            status = "upcoming"
        stages.append({"name": name, "status": status})
    return stages


async def _areas(page: PageContext) -> list[AreaPublic]:
    return [area_public(a) for a in await repository.list_areas(page.session, active_only=True)]


def _names() -> dict[str, Any]:
    return {
        "state_names": STATE_NAMES,
        "decision_names": DECISION_NAMES,
        "cost_names": COST_NAMES,
        "event_names": EVENT_NAMES,
        "field_names": FIELD_NAMES,
        "rule_texts": RULE_TEXTS,
    }


# --- browsing -------------------------------------------------------------------------------


@router.get("/ideas")
async def browse(
    page: Page,
    area_id: Annotated[str | None, Query(max_length=40)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    district_id: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Public ideas (as ``GET /v1/ideas``), newest first, filtered by area and stage, with
    the located ones on a map (``GET /v1/ideas/map``) and the list as its alternative."""
    errors = FormErrors()
    area: uuid.UUID | None = None
    stage: IdeaState | None = None
    try:
        area = UUID.validate_python(area_id) if area_id else None
    except ValidationError:
        errors["area_id"] = _choose(page)
    try:
        stage = STATE.validate_python(state) if state else None
    except ValidationError:
        errors["state"] = _choose(page)
    district: uuid.UUID | None = None
    try:
        district = UUID.validate_python(district_id) if district_id else None
    except ValidationError:
        errors["district_id"] = _choose(page)
    areas = await _areas(page)
    if errors:
        ideas = None
    else:
        ideas = await public.list_ideas(
            page.session,
            area_id=area,
            state=stage,
            district_id=district,
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
    query = {
        "area_id": str(area) if area else "",
        "state": stage.value if stage else "",
        "district_id": str(district) if district else "",
    }
    # The API's map takes the area and the stage (not the district).
    map_query = "&".join(f"{k}={v}" for k, v in query.items() if v and k != "district_id")
    paging = "&".join(f"{k}={v}" for k, v in query.items() if v)
    return render(
        page,
        "ideas/browse.html",
        status_code=422 if errors else 200,
        ideas=ideas,
        areas=areas,
        area_names={a.id: a.name for a in areas},
        chosen=query,
        map_query=map_query,
        paging=paging,
        districts=await _districts(page),
        errors=errors,
        public_states=[s for s in IdeaState if s not in (IdeaState.draft, IdeaState.returned)],
        **_names(),
    )


async def _districts(page: PageContext) -> list[tuple[str, str]]:
    """The city's districts (id, name) by name, for the filter (as ``GET /v1/districts``)."""
    collection = await city.districts_geojson(page.session, DISTRICT_SIMPLIFY_M)
    found = [(str(f["id"]), str(f["properties"]["name"])) for f in collection["features"]]
    return sorted(found, key=lambda item: item[1])


def _choose(page: PageContext) -> str:
    return translate(page.language, "Choose one of the options.")


async def _idea_page(
    page: PageContext,
    idea_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
) -> Response:
    idea = await public.get_idea(page.session, idea_id)
    timeline = await public.timeline(page.session, idea_id)
    support = None
    if page.actor is not None:
        support = await submissions.support_state(page.session, page.actor, idea_id)
    area = await repository.get_area(page.session, idea.area_id)
    return render(
        page,
        "ideas/idea.html",
        status_code=status_code,
        idea=idea,
        area_name=area.name if area else "",
        timeline=timeline,
        stages=_stages(idea.state),
        support=support,
        supportable=idea.state in SUPPORTABLE_STATES,
        errors=errors or FormErrors(),
        **_names(),
    )


@router.get("/ideas/new")
async def new_idea_form(page: PersonPage) -> Response:
    return await _form(page, "ideas/new.html", {}, FormErrors())


@router.get("/ideas/{idea_id}")
async def idea(page: Page, idea_id: uuid.UUID) -> Response:
    """A public idea (as ``GET /v1/ideas/{id}`` and its timeline): 404 before its checks."""
    return await _idea_page(page, idea_id)


@router.post("/ideas/{idea_id}/support", dependencies=[CSRF])
async def support(page: PersonPage, request: Request, idea_id: uuid.UUID) -> Response:
    """Support the idea, or take the support back (``PUT``/``DELETE /v1/ideas/{id}/support``)."""
    actor = await AUTHOR(page.person)
    form = await request.form()
    wanted = form.get("support") != "withdraw"
    try:
        await _support_budget(actor, page.settings, request.app.state.rate_limiter, Response())
        await submissions.support(page.session, actor, idea_id, wanted)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _idea_page(page, idea_id, status_code=exc.status, errors=_refusal(page, exc))
    return RedirectResponse(f"/ideas/{idea_id}#support", status_code=303)


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


def _refusal(page: PageContext, exc: AppError, field: str = "") -> FormErrors:
    """A service's refusal in the reader's language: its own sentence where the catalogue
    has it, else what a refusal of its kind means (a sentence naming a state or a number
    has no fixed translation)."""
    errors = app_error(exc, page.language, field)
    if page.language.value != "en" and errors.get(field) == exc.detail:
        errors[field] = translate(page.language, REFUSALS.get(exc.status, REFUSAL_FALLBACK))
    return errors


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
        areas=await _areas(page),
        values=values,
        errors=errors,
        cost_bands=list(CostBand),
        **_names(),
        **extra,
    )


def _failure(page: PageContext, exc: AppError) -> FormErrors:
    field = str(exc.extensions.pop("_web_field", ""))
    if field:
        return _upload_error(page, exc, field)
    found = _refusal(page, exc, str(exc.extensions.get("field") or ""))
    return FormErrors({("lat" if k == "location" else k): v for k, v in found.items()})


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
    return render(page, "ideas/mine.html", ideas=own, area_names=areas, **_names())


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
        stages=_stages(idea.state),
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
        return await _own_page(page, idea_id, errors=_refusal(page, exc), status_code=exc.status)
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

"""The idea bank's public pages: browsing public ideas with their map (``/ideas``), an idea's
page with its stages and decision (``/ideas/{id}``) and supporting it. Proposing, editing and
the author's own ideas are ``service.web.pages.ideas_mine``. The pages call the services the
API's idea routes call and show exactly what the public API shows.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.dependencies import require_scope
from service.auth.scopes import Scope
from service.city.districts import service as city
from service.errors import AppError
from service.ideas import public, repository, submissions
from service.ideas.areas import area_public
from service.ideas.models import CostBand, IdeaState
from service.ideas.router import _support_budget
from service.ideas.schemas import AreaPublic
from service.ideas.states import SUPPORTABLE_STATES
from service.web.dependencies import CSRF, Page, PageContext, PersonPage
from service.web.forms import FormErrors, app_error
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


def stage_progress(state: IdeaState) -> list[dict[str, str]]:
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


async def active_areas(page: PageContext) -> list[AreaPublic]:
    return [area_public(a) for a in await repository.list_areas(page.session, active_only=True)]


def idea_words() -> dict[str, Any]:
    return {
        "state_names": STATE_NAMES,
        "decision_names": DECISION_NAMES,
        "cost_names": COST_NAMES,
        "event_names": EVENT_NAMES,
        "field_names": FIELD_NAMES,
        "rule_texts": RULE_TEXTS,
    }


def refusal_of(page: PageContext, exc: AppError, field: str = "") -> FormErrors:
    """A service's refusal in the reader's language: its own sentence where the catalogue
    has it, else what a refusal of its kind means (a sentence naming a state or a number
    has no fixed translation)."""
    errors = app_error(exc, page.language, field)
    if page.language.value != "en" and errors.get(field) == exc.detail:
        errors[field] = translate(page.language, REFUSALS.get(exc.status, REFUSAL_FALLBACK))
    return errors


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
    areas = await active_areas(page)
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
        **idea_words(),
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
        stages=stage_progress(idea.state),
        support=support,
        supportable=idea.state in SUPPORTABLE_STATES,
        errors=errors or FormErrors(),
        **idea_words(),
    )


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
        return await _idea_page(page, idea_id, status_code=exc.status, errors=refusal_of(page, exc))
    return RedirectResponse(f"/ideas/{idea_id}#support", status_code=303)

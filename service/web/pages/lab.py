"""The living lab in the browser, the resident's side: what the test panel is and its
consent text, joining with an optional profile, changing it and leaving (``/lab``), the
pilots one was invited to with accept and decline, and a pilot's tasks with their forms
(``/lab/participations/{id}``).

The same services as ``/v1/me/lab``: joining needs a verified email address (the API's
``verified_person``); a participation is its tester's only (404 for anyone else).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from service.auth.policy import Caller, Policy, declare
from service.city.districts import service as districts
from service.clock import NowDep
from service.db import SessionDep
from service.errors import AppError, Forbidden, NotFound
from service.lab import consent, panel, recruiting, tasks
from service.lab.models import AccessibilityNeed, AgeBand, Device, QuestionKind
from service.lab.schemas import PanelJoin
from service.lab.task_schemas import ResponseCreate, TaskForTester
from service.web.dependencies import CSRF, Page, PageContext, PersonPage, person_page
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

STATUSES = {
    "invited": N_("Invited"),
    "accepted": N_("Testing"),
    "declined": N_("Declined"),
    "expired": N_("Not answered in time"),
    "withdrawn": N_("Left"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}
DEVICES = {
    Device.smartphone: N_("Smartphone"),
    Device.tablet: N_("Tablet"),
    Device.computer: N_("Computer"),
    Device.smart_tv: N_("Smart TV"),
    Device.smartwatch: N_("Smartwatch"),
}
NEEDS = {
    AccessibilityNeed.vision: N_("Seeing"),
    AccessibilityNeed.hearing: N_("Hearing"),
    AccessibilityNeed.mobility: N_("Moving about"),
    AccessibilityNeed.cognitive: N_("Understanding or remembering"),
    AccessibilityNeed.other: N_("Something else"),
}
LIKERT = {
    1: N_("Strongly disagree"),
    2: N_("Disagree"),
    3: N_("Neither agree nor disagree"),
    4: N_("Agree"),
    5: N_("Strongly agree"),
}


@declare(Policy(Caller.verified_person))
async def verified_person_page(request: Request, session: SessionDep, now: NowDep) -> PageContext:
    """A signed-in person whose email address is verified (only they may consent)."""
    context = await person_page(request, session, now)
    if not context.person.email_verified:
        raise Forbidden("Verify your email address first.", reason="email_not_verified")
    return context


ResidentPage = Annotated[PageContext, Depends(verified_person_page)]


async def _lab_page(
    page: PageContext, *, status_code: int = 200, errors: FormErrors | None = None
) -> Response:
    member = None
    participations: list[Any] = []
    if page.actor is not None:
        try:
            member = panel.membership_public(await panel.membership(page.session, page.actor))
        except AppError:
            member = None
        participations = await tasks.my_participations(page.session, page.actor, page.now)
    text = consent.current()
    collection = await districts.districts_geojson(page.session, 500)
    return render(
        page,
        "lab/index.html",
        status_code=status_code,
        consent=text,
        consent_text=getattr(text.text, page.language.value),
        purpose=getattr(text.purpose, page.language.value),
        member=member,
        participations=participations,
        statuses=STATUSES,
        age_bands=[band.value for band in AgeBand],
        devices=DEVICES,
        needs=NEEDS,
        districts=sorted(
            ((str(f["id"]), str(f["properties"]["name"])) for f in collection["features"]),
            key=lambda choice: choice[1],
        ),
        errors=errors or FormErrors(),
    )


@router.get("/lab")
async def lab(page: Page) -> Response:
    return await _lab_page(page)


def _profile(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "consent_version": form.get("consent_version", ""),
        "devices": form.getlist("devices"),
        "accessibility_needs": form.getlist("accessibility_needs"),
        "languages": [str(x) for x in form.getlist("languages")],
    }
    for name in ("age_band", "household_size", "building_id", "district_id"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


@router.post("/lab/panel", dependencies=[CSRF])
async def join(page: ResidentPage, request: Request) -> Response:
    form = await request.form()
    if not form.get("consent"):
        message = N_("Agree to the consent text to join.")
        return await _lab_page(
            page, status_code=422, errors=FormErrors({"consent": translate(page.language, message)})
        )
    try:
        body = parse(PanelJoin, _profile(form))
        await panel.join(page.session, page.person, body, page.now)
    except ValidationError as exc:
        return await _lab_page(page, status_code=422, errors=field_errors(exc, page.language))
    except AppError as exc:
        return await _lab_page(page, status_code=exc.status, errors=app_error(exc, page.language))
    return RedirectResponse("/lab#panel", status_code=303)


@router.post("/lab/panel/leave", dependencies=[CSRF])
async def leave_panel(page: PersonPage) -> Response:
    try:
        await panel.withdraw(page.session, page.person, page.now)
    except AppError as exc:
        return await _lab_page(page, status_code=exc.status, errors=app_error(exc, page.language))
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/participations/{participation_id}/{answer}", dependencies=[CSRF])
async def respond(page: PersonPage, participation_id: uuid.UUID, answer: str) -> Response:
    try:
        if answer in ("accept", "decline"):
            await recruiting.respond(
                page.session, page.person, participation_id, answer == "accept", page.now
            )
        elif answer == "leave":
            await recruiting.leave(page.session, page.person, participation_id, page.now)
        else:
            raise NotFound("No such page.")
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _lab_page(page, status_code=exc.status, errors=app_error(exc, page.language))
    return RedirectResponse(f"/lab/participations/{participation_id}", status_code=303)


async def _participation_page(
    page: PageContext,
    participation_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    answered: bool = False,
) -> Response:
    detail = await tasks.participation_detail(page.session, page.person, participation_id, page.now)
    return render(
        page,
        "lab/participation.html",
        status_code=status_code,
        participation=detail,
        statuses=STATUSES,
        likert=LIKERT,
        errors=errors or FormErrors(),
        answered=answered,
    )


@router.get("/lab/participations/{participation_id}")
async def participation(page: PersonPage, participation_id: uuid.UUID, done: str = "") -> Response:
    return await _participation_page(page, participation_id, answered=done == "1")


def _answers(task: TaskForTester, form: FormData) -> list[dict[str, Any]]:
    """The form's answers as the API's body: blank ones left out (the service names the
    required ones missing)."""
    answers: list[dict[str, Any]] = []
    for question in task.questions:
        name = f"q-{question.id}"
        if question.kind == QuestionKind.multiple:
            chosen = [str(v) for v in form.getlist(name)]
            if chosen:
                answers.append({"question_id": str(question.id), "value": chosen})
            continue
        raw = form.get(name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        value: Any = raw.strip()
        if question.kind == QuestionKind.likert and value.isdigit():
            value = int(value)
        elif question.kind == QuestionKind.number:
            try:
                value = float(value.replace(",", "."))
            except ValueError:
                pass
            else:
                value = int(value) if value.is_integer() else value
        answers.append({"question_id": str(question.id), "value": value})
    return answers


@router.post("/lab/participations/{participation_id}/tasks/{task_id}", dependencies=[CSRF])
async def answer_task(
    page: PersonPage, participation_id: uuid.UUID, task_id: uuid.UUID, request: Request
) -> Response:
    detail = await tasks.participation_detail(page.session, page.person, participation_id, page.now)
    task = next((t for t in detail.tasks if t.id == task_id), None)
    if task is None:
        return await _participation_page(page, participation_id, status_code=404)
    form = await request.form()
    try:
        body = parse(
            ResponseCreate,
            {"answers": _answers(task, form), "share_text": bool(form.get("share_text"))},
        )
        await tasks.submit(page.session, page.person, task_id, body, page.now)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _participation_page(page, participation_id, status_code=422, errors=errors)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = app_error(exc, page.language)
        return await _participation_page(
            page, participation_id, status_code=exc.status, errors=errors
        )
    return RedirectResponse(f"/lab/participations/{participation_id}?done=1", status_code=303)

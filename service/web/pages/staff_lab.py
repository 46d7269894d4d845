"""The living lab in the staff console, for lab managers, the idea office and admins: the
panel's size, the pilots, creating one, a pilot's draws (with their seeds), recruitment per
stratum, tasks, the suppressed results and their CSV export (``/staff/lab``).

The same services as ``/v1/lab``: nothing here names a tester. Tasks are written through
the API (their questions come in three languages).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from service.city.districts import service as districts
from service.errors import AppError
from service.lab import access, panel, pilots, recruiting, results, tasks
from service.lab.models import Dimension, OrganisationKind, PilotState
from service.lab.schemas import DrawCreate, PilotCreate
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, filled, parse, text_fields
from service.web.i18n import N_, translate
from service.web.pages.lab import DEVICES, LIKERT
from service.web.templating import render

router = APIRouter(include_in_schema=False)
LabPage = Depends(role_page(*access.MANAGERS))

STATES = {
    PilotState.draft: N_("Draft"),
    PilotState.recruiting: N_("Recruiting"),
    PilotState.running: N_("Running"),
    PilotState.finished: N_("Finished"),
    PilotState.cancelled: N_("Cancelled"),
}
DIMENSIONS = {
    Dimension.district: N_("District"),
    Dimension.age_band: N_("Age band"),
    Dimension.household: N_("Household size"),
}
ACTIONS = {
    "start": N_("Start the pilot"),
    "finish": N_("Finish the pilot"),
    "cancel": N_("Cancel the pilot"),
}
FIELDS = (
    *("code", "title", "description", "organisation", "organisation_kind", "starts_on"),
    *("ends_on", "target_size", "invitation_days"),
)


async def _district_choices(page: PageContext) -> list[tuple[str, str]]:
    collection = await districts.districts_geojson(page.session, 500)
    return sorted(
        ((str(f["id"]), str(f["properties"]["name"])) for f in collection["features"]),
        key=lambda choice: choice[1],
    )


async def _index(
    page: PageContext,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    return render(
        page,
        "staff/lab/index.html",
        status_code=status_code,
        pilots=[pilots.describe(p) for p in await pilots.list_pilots(page.session)],
        summary=await panel.summary(page.session),
        states=STATES,
        dimensions=DIMENSIONS,
        kinds=[kind.value for kind in OrganisationKind],
        districts=await _district_choices(page),
        devices=DEVICES,
        errors=errors or FormErrors(),
        values=values or {},
    )


@router.get("/staff/lab")
async def lab(page: PageContext = LabPage) -> Response:
    return await _index(page)


def _pilot_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = filled(text_fields(form, *FIELDS))
    values["dimensions"] = [str(d) for d in form.getlist("dimensions")]
    values["district_ids"] = [str(d) for d in form.getlist("district_ids")]
    values["required_devices"] = [str(d) for d in form.getlist("required_devices")]
    values["pilot_buildings_only"] = bool(form.get("pilot_buildings_only"))
    values["allow_overlap"] = bool(form.get("allow_overlap"))
    return values


@router.post("/staff/lab/pilots", dependencies=[CSRF])
async def create(request: Request, page: PageContext = LabPage) -> Response:
    values = _pilot_values(await request.form())
    try:
        created = await pilots.create(
            page.session, page.person, parse(PilotCreate, values), page.now
        )
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _index(page, status_code=422, errors=errors, values=values)
    except AppError as exc:
        errors = app_error(exc, page.language, str(exc.extensions.get("field", "")))
        return await _index(page, status_code=exc.status, errors=errors, values=values)
    return RedirectResponse(f"/staff/lab/pilots/{created.id}", status_code=303)


async def _pilot_page(
    page: PageContext,
    pilot_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
) -> Response:
    pilot = pilots.describe(await access.managed_pilot(page.session, page.person, pilot_id))
    found = await tasks.pilot_tasks(page.session, page.person, pilot_id)
    language = page.language.value
    # What each answer option is called, in the reader's language (results carry codes).
    labels = {
        (task_number, question.position): {
            option.code: getattr(option.text, language) for option in question.options
        }
        for task_number, task in enumerate(found)
        for question in task.questions
    }
    return render(
        page,
        "staff/lab/pilot.html",
        status_code=status_code,
        pilot=pilot,
        draws=await recruiting.pilot_draws(page.session, page.person, pilot_id),
        recruitment=await recruiting.recruitment(page.session, page.person, pilot_id),
        tasks=found,
        labels=labels,
        likert=LIKERT,
        results=await results.pilot_results(page.session, page.person, pilot_id, page.now),
        states=STATES,
        dimensions=DIMENSIONS,
        actions={
            action: label
            for action, label in ACTIONS.items()
            if pilot.state in pilots.TRANSITIONS[action][0]
        },
        drawable=pilot.state in recruiting.DRAWABLE,
        errors=errors or FormErrors(),
    )


@router.get("/staff/lab/pilots/{pilot_id}")
async def pilot_page(pilot_id: uuid.UUID, page: PageContext = LabPage) -> Response:
    return await _pilot_page(page, pilot_id)


@router.post("/staff/lab/pilots/{pilot_id}/draws", dependencies=[CSRF])
async def draw(pilot_id: uuid.UUID, request: Request, page: PageContext = LabPage) -> Response:
    seed = filled(text_fields(await request.form(), "seed")).get("seed")
    try:
        body = parse(DrawCreate, {"seed": seed} if seed else {})
        await recruiting.make_draw(page.session, page.person, pilot_id, body, page.now)
    except ValidationError as exc:
        return await _pilot_page(
            page, pilot_id, status_code=422, errors=field_errors(exc, page.language)
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _pilot_page(
            page, pilot_id, status_code=exc.status, errors=app_error(exc, page.language)
        )
    return RedirectResponse(f"/staff/lab/pilots/{pilot_id}#draws", status_code=303)


@router.post("/staff/lab/pilots/{pilot_id}/transitions", dependencies=[CSRF])
async def transition(
    pilot_id: uuid.UUID, request: Request, page: PageContext = LabPage
) -> Response:
    action = text_fields(await request.form(), "action").get("action", "")
    if action not in ACTIONS:
        errors = FormErrors({"": translate(page.language, N_("Choose one of the options."))})
        return await _pilot_page(page, pilot_id, status_code=422, errors=errors)
    try:
        await pilots.transition(page.session, page.person, pilot_id, action, page.now)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _pilot_page(
            page, pilot_id, status_code=exc.status, errors=app_error(exc, page.language)
        )
    return RedirectResponse(f"/staff/lab/pilots/{pilot_id}", status_code=303)


@router.get("/staff/lab/pilots/{pilot_id}/results.csv")
async def results_csv(pilot_id: uuid.UUID, page: PageContext = LabPage) -> Response:
    found = await results.pilot_results(page.session, page.person, pilot_id, page.now)
    return Response(
        results.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pilot-{pilot_id}-results.csv"'},
    )

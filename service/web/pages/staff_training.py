"""The coordinators' part of the staff console: their programmes (``/staff/training``) and a
new programme with its pilot area (a district or a polygon drawn on the map), its rule and its
sessions. One programme's page is ``service.web.pages.staff_programme``, a session's roster
and screen ``service.web.pages.staff_training_sessions``. The pages call the services the
API's training routes call, for coordinators and admins, as the API admits them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from service.auth.models import Role
from service.city.buildings import service as buildings
from service.city.districts import service as districts
from service.errors import AppError
from service.training import programmes
from service.training.schemas import (
    ProgrammeCreate,
    ProgrammePublic,
    SessionCreate,
)
from service.training.states import ProgrammeAction
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# The roles of the API's coordinator routes.
COORDINATORS = (Role.coordinator, Role.admin)
CoordinatorPage = Depends(role_page(*COORDINATORS))

SESSION_ROWS = 3
SESSION_FIELDS = ("topic", "starts_at", "ends_at", "venue", "capacity")
PROGRAMME_FIELDS = (
    "code",
    "title",
    "description",
    "min_sessions",
    "capacity",
    "enrolment_opens_at",
    "enrolment_closes_at",
    "pilot_district_id",
    "pilot_area",
    "allow_outsiders",
)
STATES = {
    "draft": N_("Draft"),
    "open": N_("Open for enrolment"),
    "running": N_("Running"),
    "finished": N_("Finished"),
}
ENROLMENT_STATES = {
    "enrolled": N_("Has a place"),
    "waitlisted": N_("Waiting for a place"),
    "withdrawn": N_("Withdrew"),
}
METHODS = {"check_in": N_("Checked in with the code"), "roster": N_("Marked by the coordinator")}
# A programme's next step and its button, by state.
NEXT_STEP = {
    "draft": (ProgrammeAction.publish, N_("Publish for enrolment")),
    "open": (ProgrammeAction.start, N_("Start the programme")),
    "running": (ProgrammeAction.finish, N_("Finish the programme")),
}
DONE = {
    "created": N_("The programme was created as a draft."),
    "session": N_("The session was added."),
    "publish": N_("The programme is published: residents may enrol."),
    "start": N_("The programme has started."),
    "finish": N_("The programme is finished; everyone who qualified was awarded."),
    "awarded": N_("Everyone who qualified is awarded."),
    "revoked": N_("The ambassadorship was revoked."),
    "roster": N_("The attendance was saved."),
}
# The training services' refusals a form may meet, said in the reader's language.
REFUSALS = (
    N_("A programme with this code exists already."),
    N_("No such district."),
    N_("No such buildings."),
    N_("The programme has no sessions yet."),
    N_("The session has not begun."),
    N_("Only participants with a place can be marked present."),
    N_("This ambassadorship was revoked already."),
    N_("Only coordinators may run a programme."),
)
PILOT_AREA_RULE = N_("Choose a district or draw the area on the map, not both.")
ENROLMENT_ORDER = N_("Enrolment must close after it opens.")
SESSION_ORDER = N_("A session must end after it starts.")
NO_BUILDINGS = N_("No building lies inside the area drawn.")
BAD_AREA = N_("Draw the area on the map or give it as a GeoJSON polygon.")
STATE_REFUSED = N_("This is not possible in the programme's present state.")


# --- form values --------------------------------------------------------------------------


def _zoned(value: str, zone: ZoneInfo) -> str:
    """A ``datetime-local`` value (the city's wall clock) as an instant for the schema; any
    other text is passed on for the schema to refuse."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _polygon(text: str) -> dict[str, Any] | None:
    """The polygon of a GeoJSON text: a Polygon, a Feature of one, or a FeatureCollection
    whose first feature is one; None when it is none of these."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features") or []
        document = features[0] if features else None
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = document.get("geometry")
    if isinstance(document, dict) and document.get("type") == "Polygon":
        return document
    return None


def model_errors(exc: ValidationError, language: Any, whole: str, message: str) -> FormErrors:
    """Field errors, with the schema's rule across fields (no field of its own) put by
    ``whole`` and said as ``message``."""
    errors = field_errors(exc, language)
    if "" in errors:
        del errors[""]
        errors.setdefault(whole, translate(language, message))
    return errors


def _session_values(form: Mapping[str, str], prefix: str, zone: ZoneInfo) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in SESSION_FIELDS:
        raw = str(form.get(prefix + name) or "").strip()
        if not raw:
            continue
        values[name] = _zoned(raw, zone) if name in ("starts_at", "ends_at") else raw
    return values


def parse_session(
    form: Mapping[str, str], prefix: str, page: PageContext, errors: FormErrors
) -> SessionCreate | None:
    zone = ZoneInfo(page.settings.timezone)
    try:
        return parse(SessionCreate, _session_values(form, prefix, zone))
    except ValidationError as exc:
        found = field_errors(exc, page.language)
        for name, text in found.items():
            if name == "":
                errors.setdefault(prefix + "ends_at", translate(page.language, SESSION_ORDER))
            else:
                errors.setdefault(prefix + name, text)
        return None


def refusal(exc: AppError, page: PageContext, default: str) -> FormErrors:
    field = str(exc.extensions.get("field") or default)
    return app_error(exc, page.language, field)


# --- the list and the new programme -------------------------------------------------------


async def _mine(page: PageContext, cursor: str | None) -> tuple[list[ProgrammePublic], str | None]:
    """The programmes of the API's list that the person runs (the API's programme view names
    the coordinators only to those who run it)."""
    items, next_cursor = await programmes.list_programmes(
        page.session, page.person, cursor=cursor, limit=50
    )
    views = [await programmes.programme_view(page.session, page.person, item.id) for item in items]
    return [view for view in views if view.coordinator_ids is not None], next_cursor


async def _district_choices(page: PageContext) -> list[tuple[str, str]]:
    collection = await districts.districts_geojson(page.session, 500)
    return sorted(
        ((str(f["id"]), str(f["properties"]["name"])) for f in collection["features"]),
        key=lambda choice: choice[1],
    )


async def _index(
    page: PageContext,
    cursor: str | None = None,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    mine, next_cursor = await _mine(page, cursor)
    return render(
        page,
        "staff/training/index.html",
        status_code=status_code,
        programmes=mine,
        next_cursor=next_cursor,
        states=STATES,
        districts=await _district_choices(page),
        errors=errors or FormErrors(),
        values=values or {},
        session_rows=range(SESSION_ROWS),
    )


@router.get("/staff/training")
async def training_console(
    page: PageContext = CoordinatorPage,
    cursor: str | None = Query(default=None, max_length=200),
) -> Response:
    return await _index(page, cursor)


def _form_strings(form: FormData) -> dict[str, str]:
    names = list(PROGRAMME_FIELDS)
    for row in range(SESSION_ROWS):
        names.extend(f"session-{row}-{name}" for name in SESSION_FIELDS)
    return text_fields(form, *names)


@router.post("/staff/training/programmes", dependencies=[CSRF])
async def create_programme(request: Request, page: PageContext = CoordinatorPage) -> Response:
    actor = page.person
    zone = ZoneInfo(page.settings.timezone)
    values = _form_strings(await request.form())
    errors = FormErrors()
    body: dict[str, Any] = {"allow_outsiders": values.get("allow_outsiders") == "yes"}
    for name in ("code", "title", "description", "min_sessions", "capacity", "pilot_district_id"):
        if values.get(name, "").strip():
            body[name] = values[name].strip()
    for name in ("enrolment_opens_at", "enrolment_closes_at"):
        if values.get(name, "").strip():
            body[name] = _zoned(values[name].strip(), zone)
    area_text = values.get("pilot_area", "").strip()
    if area_text:
        polygon = _polygon(area_text)
        if polygon is None:
            errors["pilot_area"] = translate(page.language, BAD_AREA)
        else:
            try:
                inside = await buildings.buildings_within(page.session, polygon)
            except AppError:
                inside = []
                errors["pilot_area"] = translate(page.language, BAD_AREA)
            if not inside and "pilot_area" not in errors:
                errors["pilot_area"] = translate(page.language, NO_BUILDINGS)
            body["pilot_building_ids"] = [str(building) for building in inside]
    created: ProgrammeCreate | None = None
    try:
        created = parse(ProgrammeCreate, body)
    except ValidationError as exc:
        found = field_errors(exc, page.language)
        found.pop("", None)
        for item in exc.errors():
            if not item.get("loc"):
                # The schema's rules across fields: one pilot area, enrolment in order.
                pilot = "pilot" in str(item.get("msg", ""))
                found.setdefault(
                    "pilot_area" if pilot else "enrolment_closes_at",
                    translate(page.language, PILOT_AREA_RULE if pilot else ENROLMENT_ORDER),
                )
        if "pilot_building_ids" in found:
            found["pilot_area"] = found.pop("pilot_building_ids")
        for name, text in found.items():
            errors.setdefault(name, text)
    sessions: list[SessionCreate] = []
    for row in range(SESSION_ROWS):
        prefix = f"session-{row}-"
        if not any(values.get(prefix + name, "").strip() for name in SESSION_FIELDS):
            continue
        parsed = parse_session(values, prefix, page, errors)
        if parsed is not None:
            sessions.append(parsed)
    if errors or created is None:
        return await _index(page, errors=errors, values=values, status_code=422)
    try:
        async with page.session.begin_nested():
            programme = await programmes.create_programme(page.session, actor, created, page.now)
            for one in sessions:
                await programmes.add_session(page.session, actor, programme.id, one, page.now)
    except AppError as exc:
        if exc.status in (401, 403):
            raise
        errors = refusal(exc, page, "code")
        if "pilot_building_ids" in errors:
            errors["pilot_area"] = errors.pop("pilot_building_ids")
        return await _index(page, errors=errors, values=values, status_code=exc.status)
    return RedirectResponse(
        f"/staff/training/programmes/{programme.id}?done=created", status_code=303
    )

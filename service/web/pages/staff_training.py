"""The coordinators' part of the staff console: training programmes.

``/staff/training`` lists the programmes the person runs (the API's list, each read through
the API's programme view, which names its coordinators only to those who run it) and the
form that creates one: the pilot area as a district or a polygon drawn on the map (or typed
as GeoJSON), the qualification rule and the first sessions. A programme's page holds its
sessions, participants with their progress, the awards and revocations and the coverage of
its pilot buildings; a session's page is its roster editor, and its screen shows the
check-in code at the venue with the count of who checked in.

The same services as ``/v1/training``: ``ProgrammeCreate``, ``SessionCreate``, ``Roster``
and ``Revocation`` check the forms; a draft is 404 for anyone who does not run it, and a
published programme 403 for another coordinator, as the API answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
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
from service.errors import AppError, NotFound
from service.training import access, attendance, awards, programmes, progress
from service.training.schemas import (
    ProgrammeCreate,
    ProgrammePublic,
    Revocation,
    Roster,
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


def _model_errors(exc: ValidationError, language: Any, whole: str, message: str) -> FormErrors:
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


def _parse_session(
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


def _refusal(exc: AppError, page: PageContext, default: str) -> FormErrors:
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
        parsed = _parse_session(values, prefix, page, errors)
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
        errors = _refusal(exc, page, "code")
        if "pilot_building_ids" in errors:
            errors["pilot_area"] = errors.pop("pilot_building_ids")
        return await _index(page, errors=errors, values=values, status_code=exc.status)
    return RedirectResponse(
        f"/staff/training/programmes/{programme.id}?done=created", status_code=303
    )


# --- one programme ------------------------------------------------------------------------


async def _programme(
    page: PageContext,
    programme_id: uuid.UUID,
    *,
    action: str = "",
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    actor = page.person
    view = await programmes.programme_view(page.session, actor, programme_id)
    # 403 for a coordinator who sees a published programme but does not run it (the API's).
    participants = await progress.participants(page.session, actor, programme_id)
    listed = await awards.list_awards(page.session, actor, programme_id)
    stats = await progress.stats(page.session, actor, programme_id)
    coverage = await progress.coverage(page.session, actor, programme_id)
    attended = {item.session_id: item.attended for item in stats.sessions}
    done = page.request.query_params.get("done", "")
    return render(
        page,
        "staff/training/programme.html",
        status_code=status_code,
        programme=view,
        participants=participants,
        awards=listed,
        stats=stats,
        coverage=coverage,
        attended=attended,
        states=STATES,
        enrolment_states=ENROLMENT_STATES,
        next_step=NEXT_STEP.get(str(view.state)),
        done=DONE.get(done, "") if not errors else "",
        action=action,
        errors=errors or FormErrors(),
        values=values or {},
    )


@router.get("/staff/training/programmes/{programme_id}")
async def programme_page(programme_id: uuid.UUID, page: PageContext = CoordinatorPage) -> Response:
    return await _programme(page, programme_id)


@router.post("/staff/training/programmes/{programme_id}/sessions", dependencies=[CSRF])
async def add_session(
    programme_id: uuid.UUID, request: Request, page: PageContext = CoordinatorPage
) -> Response:
    form = await request.form()
    values = text_fields(form, *(f"session-{name}" for name in SESSION_FIELDS))
    errors = FormErrors()
    parsed = _parse_session(values, "session-", page, errors)
    if parsed is None:
        # The programme checked first: 404/403 before any word about the form.
        await progress.participants(page.session, page.person, programme_id)
        return await _programme(
            page, programme_id, action="session", errors=errors, values=values, status_code=422
        )
    try:
        async with page.session.begin_nested():
            await programmes.add_session(page.session, page.person, programme_id, parsed, page.now)
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _programme(
            page,
            programme_id,
            action="session",
            errors=_state_refusal(exc, page, "session-topic"),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/staff/training/programmes/{programme_id}?done=session", status_code=303
    )


def _state_refusal(exc: AppError, page: PageContext, field: str) -> FormErrors:
    """A refusal by the programme's state (409) said plainly; others as the service says."""
    if exc.status == 409 and exc.extensions.get("state"):
        return FormErrors({field: translate(page.language, STATE_REFUSED)})
    return _refusal(exc, page, field)


@router.post("/staff/training/programmes/{programme_id}/awards", dependencies=[CSRF])
async def award_qualified(programme_id: uuid.UUID, page: PageContext = CoordinatorPage) -> Response:
    return await _programme_step(
        page,
        programme_id,
        "awards",
        "awarded",
        lambda: awards.award_command(page.session, page.person, programme_id, page.now),
    )


@router.post("/staff/training/programmes/{programme_id}/{step}", dependencies=[CSRF])
async def change_state(
    programme_id: uuid.UUID, step: str, page: PageContext = CoordinatorPage
) -> Response:
    try:
        action = ProgrammeAction(step)
    except ValueError:
        raise NotFound("No such action.") from None
    return await _programme_step(
        page,
        programme_id,
        "state",
        str(action),
        lambda: programmes.change_state(page.session, page.person, programme_id, action, page.now),
    )


async def _programme_step(
    page: PageContext,
    programme_id: uuid.UUID,
    form: str,
    done: str,
    command: Callable[[], Awaitable[Any]],
) -> Response:
    """Run a programme's command in a savepoint: its refusal next to ``form`` on the
    programme's page (nothing half-done kept), else back to the page with ``done``."""
    try:
        async with page.session.begin_nested():
            await command()
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _programme(
            page,
            programme_id,
            action=form,
            errors=_state_refusal(exc, page, ""),
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/staff/training/programmes/{programme_id}?done={done}", status_code=303
    )


@router.post("/staff/training/ambassadors/{ambassador_id}/revoke", dependencies=[CSRF])
async def revoke(
    ambassador_id: uuid.UUID, request: Request, page: PageContext = CoordinatorPage
) -> Response:
    form = await request.form()
    values = text_fields(form, "reason", "programme")
    try:
        programme_id = uuid.UUID(values.get("programme", ""))
    except ValueError:
        raise NotFound("No such ambassador.") from None
    form_name = f"revoke-{ambassador_id}"
    try:
        body = parse(Revocation, {"reason": values.get("reason", "")})
    except ValidationError as exc:
        await progress.participants(page.session, page.person, programme_id)
        return await _programme(
            page,
            programme_id,
            action=form_name,
            errors=field_errors(exc, page.language),
            values=values,
            status_code=422,
        )
    try:
        async with page.session.begin_nested():
            ambassador = await awards.revoke(
                page.session, page.person, ambassador_id, body.reason, page.now
            )
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _programme(
            page,
            programme_id,
            action=form_name,
            errors=_refusal(exc, page, "reason"),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/staff/training/programmes/{ambassador.programme_id}?done=revoked#awards",
        status_code=303,
    )


# --- a session: its roster and its screen -------------------------------------------------


async def _session(
    page: PageContext,
    session_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    chosen: set[str] | None = None,
    status_code: int = 200,
) -> Response:
    actor = page.person
    found, programme = await access.run_session(page.session, actor, session_id)
    view = await programmes.programme_view(page.session, actor, programme.id)
    present = await attendance.session_attendance(page.session, actor, session_id)
    participants = await progress.participants(page.session, actor, programme.id)
    training = next(item for item in view.sessions if item.id == found.id)
    marked = {str(item.user_id) for item in present.attendees}
    done = page.request.query_params.get("done", "")
    return render(
        page,
        "staff/training/session.html",
        status_code=status_code,
        programme=view,
        training=training,
        present=present,
        participants=[p for p in participants if p.status == "enrolled"],
        chosen=chosen if chosen is not None else marked,
        methods=METHODS,
        errors=errors or FormErrors(),
        done=DONE.get(done, "") if not errors else "",
    )


@router.get("/staff/training/sessions/{session_id}")
async def session_page(session_id: uuid.UUID, page: PageContext = CoordinatorPage) -> Response:
    return await _session(page, session_id)


@router.post("/staff/training/sessions/{session_id}/roster", dependencies=[CSRF])
async def set_roster(
    session_id: uuid.UUID, request: Request, page: PageContext = CoordinatorPage
) -> Response:
    form = await request.form()
    chosen = [str(value) for value in form.getlist("user_ids")]
    try:
        body = parse(Roster, {"user_ids": chosen})
    except ValidationError as exc:
        return await _session(
            page,
            session_id,
            errors=_model_errors(exc, page.language, "user_ids", N_("This value is not valid.")),
            chosen=set(chosen),
            status_code=422,
        )
    try:
        async with page.session.begin_nested():
            await attendance.set_roster(
                page.session, page.person, session_id, body.user_ids, page.now
            )
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _session(
            page,
            session_id,
            errors=_state_refusal(exc, page, "user_ids"),
            chosen=set(chosen),
            status_code=exc.status,
        )
    return RedirectResponse(f"/staff/training/sessions/{session_id}?done=roster", status_code=303)


async def _checked_in(page: PageContext, session_id: uuid.UUID) -> tuple[Any, int]:
    """The session (for its coordinators) and how many are recorded at it: the programme's
    public counts, no names."""
    found, programme = await access.run_session(page.session, page.person, session_id)
    stats = await progress.stats(page.session, page.person, programme.id)
    count = next((s.attended for s in stats.sessions if s.session_id == found.id), 0)
    return found, count


@router.get("/staff/training/sessions/{session_id}/screen")
async def session_screen(session_id: uuid.UUID, page: PageContext = CoordinatorPage) -> Response:
    present = await attendance.session_attendance(page.session, page.person, session_id)
    found, count = await _checked_in(page, session_id)
    view = await programmes.programme_view(page.session, page.person, found.programme_id)
    training = next(item for item in view.sessions if item.id == found.id)
    return render(
        page,
        "staff/training/screen.html",
        programme=view,
        training=training,
        code=present.checkin_code,
        count=count,
    )


@router.get("/staff/training/sessions/{session_id}/screen/count")
async def session_screen_count(
    session_id: uuid.UUID, page: PageContext = CoordinatorPage
) -> Response:
    """The screen's count alone, as an HTML fragment its script fetches every few seconds."""
    _, count = await _checked_in(page, session_id)
    return render(page, "staff/training/_count.html", count=count)

"""Training (Tartu's Smart House programme) in the browser: the programmes and their
sessions, enrolling with one's building (a place, or the waiting list), the check-in page
made for a phone at the venue, one's progress and diploma, and the public page that
verifies a diploma — the diploma's QR code leads there.

The same services as ``/v1/training``, ``/v1/me/training`` and ``/v1/diplomas``: enrolling
and checking in need a verified email address (the API's ``verified_person`` policy); the
diploma's PDF goes to its holder and the programme's coordinators; the verification page
shows only what the API's public verification shows.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.policy import Caller, Policy, declare
from service.city.buildings import service as buildings
from service.clock import NowDep
from service.db import SessionDep
from service.errors import AppError, Forbidden
from service.readable import readable_time
from service.training import attendance, diplomas, enrolment, programmes, progress
from service.training.attendance import OutsideWindow
from service.training.schemas import (
    CheckIn,
    EnrolmentCreate,
    ProgrammeProgress,
    ProgrammeSummary,
    SessionProgress,
)
from service.web.dependencies import CSRF, Page, PageContext, PersonPage, person_page
from service.web.forms import FormErrors, app_error, field_errors, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)
DiplomaCode = Annotated[str, Path(min_length=1, max_length=24)]
Cursor = Annotated[str | None, Query(max_length=200)]
PAGE_SIZE = 20
ADDRESS_CHOICES = 8

STATES = {
    "draft": N_("Draft"),
    "open": N_("Open for enrolment"),
    "running": N_("Running"),
    "finished": N_("Finished"),
}


@declare(Policy(Caller.verified_person))
async def verified_person_page(request: Request, session: SessionDep, now: NowDep) -> PageContext:
    """A signed-in person whose email address is verified (as the API's enrolment and
    check-in routes require)."""
    context = await person_page(request, session, now)
    if not context.person.email_verified:
        raise Forbidden("Verify your email address first.", reason="email_not_verified")
    return context


ResidentPage = Annotated[PageContext, Depends(verified_person_page)]


async def _mine(page: PageContext) -> dict[uuid.UUID, ProgrammeProgress]:
    if page.actor is None:
        return {}
    found = await progress.my_training(page.session, page.settings, page.actor)
    return {item.programme.id: item for item in found.programmes}


@router.get("/training")
async def training(page: Page, cursor: Cursor = None) -> Response:
    items, next_cursor = await programmes.list_programmes(
        page.session, page.actor, cursor=cursor, limit=PAGE_SIZE
    )
    details = [await programmes.programme_view(page.session, page.actor, item.id) for item in items]
    return render(
        page,
        "training/index.html",
        programmes=details,
        next_cursor=next_cursor,
        progress_of=await _mine(page),
        states=STATES,
    )


async def _programme_page(
    page: PageContext,
    programme_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    address: str = "",
    choices: list[object] | None = None,
) -> Response:
    programme = await programmes.programme_view(page.session, page.actor, programme_id)
    mine = (await _mine(page)).get(programme_id)
    return render(
        page,
        "training/programme.html",
        status_code=status_code,
        programme=programme,
        mine=mine,
        states=STATES,
        errors=errors or FormErrors(),
        address=address,
        choices=choices or [],
    )


@router.get("/training/programmes/{programme_id}")
async def programme(page: Page, programme_id: uuid.UUID) -> Response:
    return await _programme_page(page, programme_id)


@router.post("/training/programmes/{programme_id}/enrol", dependencies=[CSRF])
async def enrol(page: ResidentPage, programme_id: uuid.UUID, request: Request) -> Response:
    """Enrol with the building chosen among the addresses found for what was typed (two
    steps without scripts: the address, then the building)."""
    form = await request.form()
    fields = text_fields(form, "address", "building_id")
    address = fields.get("address", "").strip()[:200]
    if not fields.get("building_id"):
        if not address:
            errors = FormErrors({"address": translate(page.language, N_("Fill in this field."))})
            return await _programme_page(
                page, programme_id, status_code=422, errors=errors, address=address
            )
        found = await buildings.search_buildings(page.session, address, ADDRESS_CHOICES)
        if not found:
            message = N_("No building has this address; check the street and the number.")
            errors = FormErrors({"address": translate(page.language, message)})
            return await _programme_page(
                page, programme_id, status_code=422, errors=errors, address=address
            )
        return await _programme_page(page, programme_id, address=address, choices=list(found))
    try:
        body = parse(EnrolmentCreate, {"building_id": fields["building_id"]})
        await enrolment.enrol(page.session, page.person, programme_id, body, page.now)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _programme_page(
            page, programme_id, status_code=422, errors=errors, address=address
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = _enrolment_error(page, exc)
        return await _programme_page(
            page, programme_id, status_code=exc.status, errors=errors, address=address
        )
    return RedirectResponse(f"/training/programmes/{programme_id}#enrolment", status_code=303)


def _enrolment_error(page: PageContext, exc: AppError) -> FormErrors:
    reason = exc.extensions.get("reason")
    if reason == "outside_pilot_area":
        message = N_(
            "The programme is for residents of its pilot area; this building is outside it."
        )
        return FormErrors({"address": translate(page.language, message)})
    if exc.extensions.get("field") == "building_id":
        return FormErrors({"address": translate(page.language, N_("Choose one of the options."))})
    when = exc.extensions.get("opens_at") or exc.extensions.get("closed_at")
    if when:
        instant = readable_time(
            datetime.fromisoformat(str(when)), page.language, page.settings.timezone
        )
        message = (
            N_("Enrolment opens at {time}.")
            if exc.extensions.get("opens_at")
            else N_("Enrolment closed at {time}.")
        )
        return FormErrors({"": translate(page.language, message, time=instant)})
    return app_error(exc, page.language)


@router.post("/training/programmes/{programme_id}/leave", dependencies=[CSRF])
async def leave(page: ResidentPage, programme_id: uuid.UUID) -> Response:
    try:
        await enrolment.withdraw(page.session, page.person, programme_id, page.now)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _programme_page(
            page, programme_id, status_code=exc.status, errors=app_error(exc, page.language)
        )
    return RedirectResponse(f"/training/programmes/{programme_id}#enrolment", status_code=303)


# --- checking in at the venue --------------------------------------------------------------


def _sessions_to_check_in(
    page: PageContext, mine: dict[uuid.UUID, ProgrammeProgress]
) -> list[tuple[ProgrammeSummary, SessionProgress]]:
    """The sessions of programmes the person has a place in, the one to check in to now
    first (open for check-in, else the next, else the latest)."""
    margin = attendance.CHECKIN_MARGIN
    found: list[tuple[ProgrammeSummary, SessionProgress]] = []
    for item in mine.values():
        if item.status != "enrolled" or item.programme.state not in ("open", "running"):
            continue
        for part in item.sessions:
            found.append((item.programme, part))

    def rank(entry: tuple[ProgrammeSummary, SessionProgress]) -> tuple[int, float]:
        starts = entry[1].starts_at
        distance = (starts - page.now).total_seconds()
        if starts - margin <= page.now <= starts + timedelta(hours=6):
            return (0, abs(distance))
        return (1, distance) if distance > 0 else (2, -distance)

    return sorted(found, key=rank)


async def _check_in_page(
    page: PageContext,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    code: str = "",
    chosen: str = "",
) -> Response:
    candidates = _sessions_to_check_in(page, await _mine(page))
    return render(
        page,
        "training/check_in.html",
        status_code=status_code,
        candidates=candidates,
        errors=errors or FormErrors(),
        code=code,
        chosen=chosen or (str(candidates[0][1].session_id) if candidates else ""),
    )


@router.get("/training/check-in")
async def check_in_form(page: PersonPage) -> Response:
    return await _check_in_page(page)


@router.post("/training/check-in", dependencies=[CSRF])
async def check_in(page: ResidentPage, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "code", "session_id")
    code = fields.get("code", "")[:32]
    chosen = fields.get("session_id", "")
    if not chosen:
        candidates = _sessions_to_check_in(page, await _mine(page))
        chosen = str(candidates[0][1].session_id) if candidates else ""
    try:
        body = parse(CheckIn, {"code": code})
    except ValidationError as exc:
        return await _check_in_page(
            page, status_code=422, errors=field_errors(exc, page.language), code=code
        )
    try:
        session_id = uuid.UUID(chosen)
    except ValueError:
        message = translate(page.language, N_("Choose one of the options."))
        return await _check_in_page(
            page, status_code=422, errors=FormErrors({"session_id": message}), code=code
        )
    try:
        await attendance.check_in(
            page.session,
            page.person,
            session_id,
            body.code,
            page.now,
            request.app.state.rate_limiter,
        )
    except OutsideWindow as exc:
        zone = page.settings.timezone
        opens = readable_time(
            datetime.fromisoformat(exc.extensions["opens_at"]), page.language, zone
        )
        closes = readable_time(
            datetime.fromisoformat(exc.extensions["closes_at"]), page.language, zone
        )
        message = N_("Check-in is not open now: it is open from {opens} to {closes}.")
        errors = FormErrors({"code": translate(page.language, message, opens=opens, closes=closes)})
        return await _check_in_page(page, status_code=409, errors=errors, code=code, chosen=chosen)
    except AppError as exc:
        errors = app_error(exc, page.language, "code")
        return await _check_in_page(
            page, status_code=exc.status, errors=errors, code=code, chosen=chosen
        )
    return RedirectResponse("/my/training?checked_in=true", status_code=303)


# --- my progress and my diploma ---------------------------------------------------------


@router.get("/my/training")
async def my_training(page: PersonPage, checked_in: Annotated[bool, Query()] = False) -> Response:
    found = await progress.my_training(page.session, page.settings, page.person)
    return render(
        page,
        "training/mine.html",
        items=found.programmes,
        checked_in=checked_in,
        states=STATES,
    )


@router.get("/my/diplomas/{code}.pdf")
async def diploma_pdf(page: PersonPage, code: DiplomaCode) -> Response:
    """The diploma's PDF, for its holder and the programme's coordinators (as the API)."""
    path, filename = await diplomas.diploma_file(page.session, page.settings, page.person, code)
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=filename,
        headers={"Cache-Control": "no-store"},
    )


# --- the public verification --------------------------------------------------------------


@router.get("/diplomas/{code}")
async def verify_diploma(page: Page, code: DiplomaCode) -> Response:
    """Whether a diploma is genuine, with the name, programme and date it states: what
    ``GET /v1/diplomas/{code}`` shows anyone holding the code, and no more."""
    verification = await diplomas.verify(page.session, code)
    return render(page, "training/diploma.html", diploma=verification)

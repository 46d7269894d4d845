"""A training session in the staff console: its roster (``/staff/training/sessions/{id}``) and
its screen for the venue's projector (``…/screen``: the check-in code in large type and the
live count of who checked in, refreshed from ``…/screen/count``), through the services the
API's training routes call, for the programme's coordinators and admins.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.errors import AppError
from service.training import access, attendance, programmes, progress
from service.training.schemas import (
    Roster,
)
from service.web.dependencies import CSRF, PageContext
from service.web.forms import FormErrors, parse
from service.web.i18n import N_
from service.web.pages.staff_programme import state_refusal
from service.web.pages.staff_training import (
    DONE,
    METHODS,
    CoordinatorPage,
    model_errors,
)
from service.web.templating import render

router = APIRouter(include_in_schema=False)

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
            errors=model_errors(exc, page.language, "user_ids", N_("This value is not valid.")),
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
            errors=state_refusal(exc, page, "user_ids"),
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

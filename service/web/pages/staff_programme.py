"""One programme in the staff console (``/staff/training/programmes/{id}``): its sessions
(and a new one), its next step (publish, start, finish), participants and their progress,
awards and revocations, and the pilot buildings without an ambassador; through the services
the API's training routes call, for the programme's coordinators and admins.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.errors import AppError, NotFound
from service.training import awards, programmes, progress
from service.training.schemas import (
    Revocation,
)
from service.training.states import ProgrammeAction
from service.web.dependencies import CSRF, PageContext
from service.web.forms import FormErrors, field_errors, parse, text_fields
from service.web.i18n import translate
from service.web.pages.staff_training import (
    DONE,
    ENROLMENT_STATES,
    NEXT_STEP,
    SESSION_FIELDS,
    STATE_REFUSED,
    STATES,
    CoordinatorPage,
    parse_session,
    refusal,
)
from service.web.templating import render

router = APIRouter(include_in_schema=False)

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
    parsed = parse_session(values, "session-", page, errors)
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
            errors=state_refusal(exc, page, "session-topic"),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/staff/training/programmes/{programme_id}?done=session", status_code=303
    )


def state_refusal(exc: AppError, page: PageContext, field: str) -> FormErrors:
    """A refusal by the programme's state (409) said plainly; others as the service says."""
    if exc.status == 409 and exc.extensions.get("state"):
        return FormErrors({field: translate(page.language, STATE_REFUSED)})
    return refusal(exc, page, field)


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
            errors=state_refusal(exc, page, ""),
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
            errors=refusal(exc, page, "reason"),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/staff/training/programmes/{ambassador.programme_id}?done=revoked#awards",
        status_code=303,
    )

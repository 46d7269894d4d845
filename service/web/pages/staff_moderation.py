"""The moderators' part of the staff console: the report moderation queue
(``/staff/moderation``: accept, reject with a reason, mark a duplicate of a report nearby)
and the answer moderation queue (``/staff/moderation/answers``: approve, return with a
comment).

The pages call the services the API's moderation routes call (``service.reports.moderation``,
``service.feedback.answer_moderation``), with the API's request schemas. A decision names the
version of the report the moderator saw (a hidden ``version`` field, the form's If-Match): a
report changed since answers the API's 412, one decided by someone else the API's 409, shown
as a message above the queue as it is now, and nothing changes. The queues name the reporter
by id only, as the API's do: no name, no email.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.models import Role
from service.errors import AppError, Conflict, NotFound, PreconditionFailed
from service.feedback import answer_moderation
from service.feedback.schemas import ReturnRequest
from service.reports import moderation, views
from service.reports.moderation_router import seen_version
from service.reports.schemas import AcceptRequest, DuplicateRequest, RejectCode, RejectRequest
from service.reports.states import ReportState
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, filled, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

ModeratorPage = Depends(role_page(Role.moderator, Role.admin))
CursorQuery = Annotated[str | None, Query(max_length=500)]
PAGE_SIZE = 20
CANDIDATES = 10

REJECT_CODES = {
    RejectCode.out_of_scope: N_("Not the city's matter"),
    RejectCode.duplicate: N_("Reported already"),
    RejectCode.abusive: N_("Abusive"),
    RejectCode.not_enough_information: N_("Not enough information"),
    RejectCode.private_property: N_("Private property"),
    RejectCode.already_fixed: N_("Fixed already"),
    RejectCode.other: N_("Other"),
}

STATES = {
    ReportState.draft: N_("a draft"),
    ReportState.submitted: N_("waiting for moderation"),
    ReportState.accepted: N_("accepted"),
    ReportState.in_progress: N_("in progress"),
    ReportState.awaiting_info: N_("waiting for the reporter's answer"),
    ReportState.answered: N_("answered"),
    ReportState.reopened: N_("reopened"),
    ReportState.transferred: N_("transferred"),
    ReportState.closed: N_("closed"),
    ReportState.rejected: N_("rejected"),
    ReportState.duplicate: N_("a duplicate"),
    ReportState.withdrawn: N_("withdrawn"),
}

ANSWER_STATES = {
    "pending_moderation": N_("waiting for moderation"),
    "published": N_("published"),
    "returned": N_("returned to the department"),
    "withdrawn": N_("withdrawn"),
}

OUTCOMES = {
    "fixed": N_("Fixed"),
    "scheduled": N_("Scheduled"),
    "not_ours": N_("Not the department's"),
    "no_action": N_("No action"),
}

DONE = {
    "accepted": N_("The report was accepted: its deadline runs from now."),
    "rejected": N_("The report was rejected; the reporter is told why."),
    "duplicate": N_("The report was merged into the one it repeats."),
    "approved": N_("The answer was approved and published."),
    "returned": N_("The answer was returned to the department with your comment."),
}


@dataclass
class Refusal:
    """A refused decision: the message above the queue, errors and values by item."""

    message: str = ""
    errors: dict[str, FormErrors] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    open_form: str = ""


def _state_name(page: PageContext, state: object, names: dict[Any, str]) -> str:
    text = names.get(str(state))
    return translate(page.language, text) if text else str(state)


def conflict_message(page: PageContext, exc: AppError, seen: int | None) -> str:
    """The API's 412 or 409, said for the moderator, with the report's current state."""
    if isinstance(exc, PreconditionFailed):
        return translate(
            page.language,
            N_(
                "The report changed since you opened it: you saw version {seen}, it is now "
                "version {current}. Nothing was changed; check the report below as it is now "
                "and decide again."
            ),
            seen=seen if seen is not None else "–",
            current=exc.extensions.get("current_version", "–"),
        )
    state = exc.extensions.get("current_state")
    if state is not None:
        return translate(
            page.language,
            N_("Someone decided on this already: the report is {state} now. Nothing was changed."),
            state=_state_name(page, state, {str(k): v for k, v in STATES.items()}),
        )
    return translate(page.language, exc.detail)


def duplicate_refusal(page: PageContext, exc: AppError) -> FormErrors | None:
    """Why two reports cannot be merged, next to the duplicate form."""
    reason = exc.extensions.get("reason")
    if reason == "too_far_apart":
        text = translate(
            page.language,
            N_(
                "The reports are {distance} m apart, beyond the duplicate radius of {radius} m. "
                "Give a justification to merge them anyway."
            ),
            distance=round(float(exc.extensions.get("distance_m", 0))),
            radius=exc.extensions.get("radius_m", ""),
        )
        return FormErrors({"override": text})
    if reason == "unrelated_reasons":
        text = translate(
            page.language,
            N_(
                "The reports are about unrelated problems. Give a justification to merge "
                "them anyway."
            ),
        )
        return FormErrors({"override": text})
    return None


# --- reports --------------------------------------------------------------------------------


async def queue_page(
    page: PageContext,
    cursor: str | None = None,
    *,
    outcome: Refusal | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    items, next_cursor = await moderation.queue(
        page.session,
        now=page.now,
        language=page.language.value,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    candidates = {}
    for item in items:
        report = item.report
        nearby = await views.nearby(
            page.session,
            report.reason.id,
            report.location.lat,
            report.location.lon,
            page.language.value,
            CANDIDATES,
        )
        candidates[report.id] = [c for c in nearby if c.id != report.id]
    outcome = outcome or Refusal()
    return render(
        page,
        "staff/moderation.html",
        status_code=status_code,
        items=items,
        candidates=candidates,
        next_cursor=next_cursor,
        reject_codes=REJECT_CODES,
        message=outcome.message,
        errors=outcome.errors,
        values=outcome.values,
        open_form=outcome.open_form,
        done=translate(page.language, DONE[done]) if done in DONE else "",
        tiles=page.settings.map_tile_url,
        attribution=page.settings.map_tile_attribution,
    )


@router.get("/staff/moderation")
async def reports_queue(
    cursor: CursorQuery = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
    page: PageContext = ModeratorPage,
) -> Response:
    return await queue_page(page, cursor, done=done)


def _version(fields: dict[str, str]) -> int | None:
    raw = fields.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 11 else None


async def _decided(
    page: PageContext,
    report_id: uuid.UUID,
    form_name: str,
    fields: dict[str, str],
    exc: ValidationError | AppError,
) -> Response:
    """The queue again: a form's errors next to its fields, a stale or taken decision as a
    message above the queue as it is now (what the decision wrote is undone)."""
    key = str(report_id)
    outcome = Refusal(values={key: fields}, open_form=f"{form_name}-{key}")
    if isinstance(exc, ValidationError):
        outcome.errors[key] = field_errors(exc, page.language)
        return await queue_page(page, outcome=outcome, status_code=422)
    await page.session.rollback()
    refusal = duplicate_refusal(page, exc) if form_name == "duplicate" else None
    if refusal is not None:
        outcome.errors[key] = refusal
    elif isinstance(exc, PreconditionFailed | Conflict):
        outcome.message = conflict_message(page, exc, _version(fields))
    else:
        outcome.errors[key] = app_error(
            exc, page.language, "of" if form_name == "duplicate" else ""
        )
    return await queue_page(page, outcome=outcome, status_code=exc.status)


def _shown(exc: Exception) -> bool:
    """Refusals shown on the queue; 401/403/404 are the API's error pages."""
    if isinstance(exc, ValidationError):
        return True
    return isinstance(exc, AppError) and exc.status not in (401, 403, 404)


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/moderation?done={what}", status_code=303)


@dataclass(frozen=True)
class Decision:
    """A moderator's decision on a report: its form's fields, the API's request schema, the
    moderation service's function, and what the queue then says was done."""

    fields: tuple[str, ...]
    schema: type[AcceptRequest | RejectRequest | DuplicateRequest]
    decide: Any
    done: str


DECISIONS = {
    "accept": Decision(("version", "note"), AcceptRequest, moderation.accept, "accepted"),
    "reject": Decision(("version", "code", "text"), RejectRequest, moderation.reject, "rejected"),
    "duplicate": Decision(
        ("version", "of", "override"), DuplicateRequest, moderation.mark_duplicate, "duplicate"
    ),
}


@router.post("/staff/moderation/reports/{report_id}/{decision}", dependencies=[CSRF])
async def decide(
    report_id: uuid.UUID, decision: str, request: Request, page: PageContext = ModeratorPage
) -> Response:
    """Accept, reject or mark a duplicate, through the same service as the API's routes."""
    chosen = DECISIONS.get(decision)
    if chosen is None:
        raise NotFound("No such decision.")
    fields = text_fields(await request.form(), *chosen.fields)
    try:
        body = parse(chosen.schema, filled(fields))
        version = seen_version(None, body.version)
        await chosen.decide(page.session, page.person, report_id, body, page.now, version=version)
    except (ValidationError, AppError) as exc:
        if not _shown(exc):
            raise
        return await _decided(page, report_id, decision, fields, exc)
    return _done(chosen.done)


# --- answers --------------------------------------------------------------------------------


async def answers_page(
    page: PageContext,
    cursor: str | None = None,
    *,
    outcome: Refusal | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    items, next_cursor = await answer_moderation.answer_queue(
        page.session,
        page.settings,
        now=page.now,
        language=page.language.value,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    outcome = outcome or Refusal()
    return render(
        page,
        "staff/moderation_answers.html",
        status_code=status_code,
        outcomes=OUTCOMES,
        items=items,
        next_cursor=next_cursor,
        message=outcome.message,
        errors=outcome.errors,
        values=outcome.values,
        done=translate(page.language, DONE[done]) if done in DONE else "",
    )


@router.get("/staff/moderation/answers")
async def answers_queue(
    cursor: CursorQuery = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
    page: PageContext = ModeratorPage,
) -> Response:
    return await answers_page(page, cursor, done=done)


async def _answer_refused(
    page: PageContext, response_id: uuid.UUID, fields: dict[str, str], exc: Exception
) -> Response:
    key = str(response_id)
    outcome = Refusal(values={key: fields})
    if isinstance(exc, ValidationError):
        outcome.errors[key] = field_errors(exc, page.language)
        return await answers_page(page, outcome=outcome, status_code=422)
    assert isinstance(exc, AppError)
    await page.session.rollback()
    state = exc.extensions.get("current_state")
    if isinstance(exc, Conflict) and state is not None:
        outcome.message = translate(
            page.language,
            N_("Someone decided on this answer already: it is {state} now. Nothing was changed."),
            state=_state_name(page, state, ANSWER_STATES),
        )
    elif isinstance(exc, Conflict):
        outcome.message = translate(
            page.language,
            N_("The report has moved on since the answer was written. Nothing was changed."),
        )
    else:
        outcome.errors[key] = app_error(exc, page.language, "comment")
    return await answers_page(page, outcome=outcome, status_code=exc.status)


@router.post("/staff/moderation/answers/{response_id}/approve", dependencies=[CSRF])
async def approve_answer(response_id: uuid.UUID, page: PageContext = ModeratorPage) -> Response:
    try:
        await answer_moderation.approve(
            page.session, page.person, response_id, page.now, page.settings
        )
    except AppError as exc:
        if not _shown(exc):
            raise
        return await _answer_refused(page, response_id, {}, exc)
    return RedirectResponse("/staff/moderation/answers?done=approved", status_code=303)


@router.post("/staff/moderation/answers/{response_id}/return", dependencies=[CSRF])
async def return_answer(
    response_id: uuid.UUID, request: Request, page: PageContext = ModeratorPage
) -> Response:
    fields = text_fields(await request.form(), "comment")
    try:
        body = parse(ReturnRequest, fields)
        await answer_moderation.return_answer(
            page.session, page.person, response_id, body, page.now
        )
    except (ValidationError, AppError) as exc:
        if not _shown(exc):
            raise
        return await _answer_refused(page, response_id, fields, exc)
    return RedirectResponse("/staff/moderation/answers?done=returned", status_code=303)

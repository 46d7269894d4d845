"""The report workspace of the staff console: ``/staff/reports/{id}`` is one report as its
department works on it, with every action of the department work API as a form posting to
the same service function. Forms carry the version of the report they were rendered with; a
form for a report that changed since is refused with the life cycle's 412 and the page shown
again with the report as it now is, so nobody's change is lost. The reporter's contact is
shown only on demand, through the API's audited staff read.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import FileResponse, RedirectResponse, Response

from service.city import service as city
from service.errors import AppError, NotFound, PreconditionRequired
from service.feedback import responses, templates
from service.feedback.schemas import ResponseCreate
from service.queues import clarification, extensions, priorities, queue, transfers, work
from service.queues.access import Power, require_power
from service.queues.schemas import (
    AssignRequest,
    ClarificationRequest,
    ExtensionRequestCreate,
    NoteCreate,
    PrioritySet,
    TransferCreate,
    TransferRequestCreate,
)
from service.reports import lifecycle, photos, views
from service.reports import repository as reports
from service.reports.access import STAFF
from service.reports.states import OPEN_STATES
from service.web.dependencies import CSRF, PageContext
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.pages import report_words
from service.web.pages.staff_queue import OUTCOME_NAMES, STATE_NAMES, WorkPage, given_values
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# --- the report workspace -----------------------------------------------------------------

# The residents' names of timeline events, and the events only the department sees.
EVENT_NAMES = report_words.EVENT_NAMES | {
    "created": N_("Filed"),
    "answer_submitted": N_("Answer sent for moderation"),
    "clarification": N_("The reporter's answer"),
    "note": N_("Internal note"),
    "status_note": N_("Public status note"),
    "claimed": N_("Claimed"),
    "assigned": N_("Assigned"),
    "unassigned": N_("Nobody works on it"),
    "priority": N_("Priority set"),
    "extension_requested": N_("More time asked for"),
    "extension_approved": N_("More time given"),
    "extension_declined": N_("More time refused"),
    "transfer_requested": N_("Transfer asked for"),
    "transfer_declined": N_("Transfer refused"),
    "transfer_cancelled": N_("Transfer request withdrawn"),
    "contact_details": N_("Contact details sent with the report"),
}
# What a timeline event's data may say, in words.
EVENT_TEXTS = ("text", "question", "answer", "reason", "note", "comment", "justification")
DONE = {
    "claim": N_("You took the report."),
    "assign": N_("The report was given to your colleague."),
    "unassign": N_("Nobody works on the report now."),
    "start": N_("Work on the report started."),
    "note": N_("The note was added."),
    "ask": N_("The question was sent to the reporter."),
    "answer": N_("The answer was saved."),
    "transfer": N_("The report was transferred."),
    "transfer-request": N_("The transfer request was sent."),
    "extension": N_("The extension request was sent to the supervisor."),
    "priority": N_("The priority was set."),
}
# The department work services' refusals a form may meet, so ``app_error`` shows them in the
# reader's language (the services say them in English).
REFUSALS = (
    N_("Someone else works on this report; assign it to take it over."),
    N_("The assignee must hold staff or supervisor in the report's department."),
    N_("Not an active priority of the report's department."),
    N_("No such template for this report."),
    N_("Say the outcome (the template names none)."),
    N_("A scheduled answer needs its date."),
    N_("The scheduled date is in the past."),
    N_("Only a scheduled answer has a date."),
    N_("Say why nothing will be done."),
    N_("An answer of this round waits for moderation; it is approved or returned first."),
    N_("This needs the department's supervisor."),
)
CHANGED = N_(
    "Someone changed this report while you had it open. It is shown below as it is now; "
    "check it and send the form again if it still applies."
)
CONFLICT = N_("This cannot be done to the report as it is now. It is shown below as it is now.")


# How many reports close by the workspace lists.
NEARBY = 5


async def _workspace(
    page: PageContext,
    report_id: uuid.UUID,
    *,
    contact: bool = False,
    action: str = "",
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    message: str = "",
    problem: str = "",
    status_code: int = 200,
) -> Response:
    actor = page.person
    # The report as its department works on it; 404 for anyone who may not work it.
    item = await queue.work_item(page.session, actor, report_id, page.now)
    department_id = item.report.department.id
    power = await require_power(page.session, actor, department_id)
    if contact:
        # The API's staff read: shows the reporter's name and email and audits the read.
        shown = await views.view(
            page.session, actor, page.now, str(page.language), report_id=report_id
        )
    else:
        shown = await views.view(
            page.session, actor, page.now, str(page.language), report_id=report_id, level=STAFF
        )
    reporter = shown.private.reporter if contact and shown.private else None
    timeline = await views.timeline(page.session, actor, report_id)
    report_row = await reports.get(page.session, report_id)
    assert report_row is not None
    fitting = await templates.templates_for_report(page.session, report_row)
    # Open reports of the same kind within the reason's duplicate radius (the API's nearby).
    close_by = [
        found
        for found in await views.nearby(
            page.session,
            item.report.reason.id,
            item.report.location.lat,
            item.report.location.lon,
            str(page.language),
            NEARBY + 1,
        )
        if found.id != report_id
    ][:NEARBY]
    return render(
        page,
        "staff/report.html",
        status_code=status_code,
        item=item,
        report=item.report,
        photos=shown.photos or [],
        nearby=close_by,
        reporter=reporter,
        contact=contact,
        supervisor=power >= Power.supervisor,
        timeline=[e for e in timeline if contact or e.type != "contact_details"],
        event_names=EVENT_NAMES,
        event_texts=EVENT_TEXTS,
        state_names=STATE_NAMES,
        outcome_names=OUTCOME_NAMES,
        templates=fitting,
        colleagues=await queue.colleagues(page.session, actor, department_id),
        priorities=await priorities.list_priorities(
            page.session, actor, department_id, include_inactive=False
        ),
        departments=[d for d in await city.list_departments(page.session) if d.id != department_id],
        action=action,
        errors=errors or FormErrors(),
        values=values or {},
        message=message,
        problem=problem,
        is_open=item.report.state in OPEN_STATES,
        power=power,
    )


@router.get("/staff/reports/{report_id}")
async def workspace(
    report_id: uuid.UUID, request: Request, page: PageContext = WorkPage
) -> Response:
    done = request.query_params.get("done", "")
    message = translate(page.language, DONE[done]) if done in DONE else ""
    return await _workspace(
        page,
        report_id,
        contact=request.query_params.get("contact") == "show",
        message=message,
    )


# --- the workspace's actions: each the API's schema and service ----------------------------

Handler = Callable[[PageContext, uuid.UUID, dict[str, Any]], Awaitable[Any]]


async def _claim(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    await work.claim(page.session, page.person, report_id, page.now)


async def _assign(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    body = parse(AssignRequest, values)
    await work.assign(page.session, page.person, report_id, body.user_id, page.now)


async def _unassign(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    await work.unassign(page.session, page.person, report_id, page.now)


async def _start(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    await work.start(page.session, page.person, report_id, page.now)


async def _note(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    body = parse(NoteCreate, values)
    await work.add_note(page.session, page.person, report_id, body.text, body.public, page.now)


async def _ask(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    body = parse(ClarificationRequest, values)
    await clarification.ask(page.session, page.person, report_id, body.question, page.now)


async def _answer(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    body = parse(ResponseCreate, values)
    await responses.answer(page.session, page.person, report_id, body, page.now, page.settings)


async def _transfer(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    body = parse(TransferCreate, values)
    await transfers.transfer(
        page.session,
        page.person,
        report_id,
        body.to_department_id,
        body.reason,
        body.reset_clock,
        page.now,
    )


async def _transfer_request(
    page: PageContext, report_id: uuid.UUID, values: dict[str, Any]
) -> None:
    body = parse(TransferRequestCreate, values)
    await transfers.request_transfer(
        page.session, page.person, report_id, body.to_department_id, body.reason, page.now
    )


async def _extension(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    raw = values.get("due_at")
    if isinstance(raw, str):
        # A browser's date and time field has no offset: it is the city's local time.
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if local.tzinfo is None:
                values["due_at"] = local.replace(tzinfo=ZoneInfo(page.settings.timezone))
    body = parse(ExtensionRequestCreate, values)
    await extensions.request_extension(
        page.session, page.person, report_id, body.due_at, body.justification, page.now
    )


async def _priority(page: PageContext, report_id: uuid.UUID, values: dict[str, Any]) -> None:
    body = parse(PrioritySet, {"priority_id": values.get("priority_id") or None})
    await work.set_priority(page.session, page.person, report_id, body.priority_id, page.now)


# Each action: its handler, the form's fields, the field a refusal is shown by, and whether
# the form's version is checked (a note changes nothing others could have changed).
ACTIONS: dict[str, tuple[Handler, tuple[str, ...], str, bool]] = {
    "claim": (_claim, (), "", True),
    "assign": (_assign, ("user_id",), "user_id", True),
    "unassign": (_unassign, (), "", True),
    "start": (_start, (), "", True),
    "note": (_note, ("text", "public"), "text", False),
    "ask": (_ask, ("question",), "question", True),
    "answer": (
        _answer,
        ("outcome", "template_id", "text", "scheduled_for", "justification"),
        "outcome",
        True,
    ),
    "transfer": (
        _transfer,
        ("to_department_id", "reason", "reset_clock"),
        "to_department_id",
        True,
    ),
    "transfer-request": (
        _transfer_request,
        ("to_department_id", "reason"),
        "to_department_id",
        True,
    ),
    "extension": (_extension, ("due_at", "justification"), "due_at", True),
    "priority": (_priority, ("priority_id",), "priority_id", True),
}


def _seen_version(form: FormData) -> int:
    """The version of the report the form was rendered with (428 without one, as the API's
    decisions answer a request that names none)."""
    try:
        return int(str(form.get("version") or ""))
    except ValueError:
        raise PreconditionRequired("Say which version of the report you saw.") from None


@router.post("/staff/reports/{report_id}/{action}", dependencies=[CSRF])
async def act(
    report_id: uuid.UUID, action: str, request: Request, page: PageContext = WorkPage
) -> Response:
    if action not in ACTIONS:
        raise NotFound("No such action.")
    handler, names, field, versioned = ACTIONS[action]
    form = await request.form()
    values = given_values(form, names)
    department_id = None
    try:
        async with page.session.begin_nested():
            # The report locked and the caller's power over it checked first (404 for a report
            # they may not work), then the version they saw, then the action's own service.
            report, _ = await work.workable(page.session, page.person, report_id)
            department_id = report.department_id
            if versioned:
                lifecycle.check_version(report, _seen_version(form))
            await handler(page, report_id, dict(values))
    except ValidationError as exc:
        return await _workspace(
            page,
            report_id,
            action=action,
            errors=field_errors(exc, page.language),
            values=values,
            status_code=422,
        )
    except AppError as exc:
        if exc.status == 404 and department_id is None:
            raise
        if exc.status == 428:
            raise
        problem = ""
        if exc.status == 412:
            problem = translate(page.language, CHANGED)
        elif exc.status == 409:
            problem = translate(page.language, CONFLICT)
        return await _workspace(
            page,
            report_id,
            action=action,
            errors=app_error(exc, page.language, field),
            values=values,
            problem=problem,
            status_code=exc.status,
        )
    if action == "transfer":
        # The report left the department: back to the queue it was in.
        return RedirectResponse(f"/staff/queue?department={department_id}", status_code=303)
    return RedirectResponse(f"/staff/reports/{report_id}?done={action}", status_code=303)


@router.get("/staff/reports/{report_id}/photos/{photo_id}")
async def workspace_photo(
    report_id: uuid.UUID,
    photo_id: uuid.UUID,
    variant: Annotated[str, Query(pattern="^(full|thumbnail)$")] = "full",
    page: PageContext = WorkPage,
) -> FileResponse:
    """A photo of a report in the workspace, with the page's session (the API's photo
    addresses take a bearer token, which a browser does not send)."""
    path = await photos.photo_file(
        page.session, page.settings, page.actor, report_id, photo_id, variant == "thumbnail"
    )
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )

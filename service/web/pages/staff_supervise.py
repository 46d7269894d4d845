"""The supervisors' part of the staff console: the requests of their departments to decide
(``/staff/requests``: extension and transfer requests, referred reports to close). The
department's figures by week are ``service.web.pages.staff_kpis``.

The pages call the services the API's routes call (``service.queues.extensions``,
``service.queues.transfers``, ``service.feedback.ratings``) with the API's request schemas,
so a decision here is the decision the API makes: a request of a department the supervisor
does not supervise answers 404, as the API does. Supervisors and admins open these pages
(admins act as supervisors everywhere, as in the API).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.models import Role
from service.city import service as city
from service.city.models import Department
from service.errors import AppError, Conflict, InvalidInput
from service.feedback import ratings
from service.feedback.schemas import ReferralClose
from service.queues import extensions, transfers
from service.queues.access import Power, powers
from service.queues.models import RequestState
from service.queues.schemas import ExtensionDecision, TransferDecision
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, filled, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

SupervisorPage = Depends(role_page(Role.supervisor, Role.admin))
DepartmentQuery = Annotated[uuid.UUID | None, Query()]
CursorQuery = Annotated[str | None, Query(max_length=500)]
PAGE_SIZE = 50

# What a finished decision tells the supervisor on the page it returns to.
DONE = {
    "extension-approved": N_("The extension was approved: the new deadline is public."),
    "extension-declined": N_("The extension was declined; the deadline stays."),
    "transfer-accepted": N_("The transfer was accepted: the report is in your department now."),
    "transfer-declined": N_("The transfer was declined; the report stays where it is."),
    "referral-closed": N_("The report was closed with your closing word."),
}


REQUEST_STATES = {
    RequestState.pending: N_("waiting for a decision"),
    RequestState.accepted: N_("accepted"),
    RequestState.declined: N_("declined"),
    RequestState.cancelled: N_("cancelled"),
}


async def refused(page: PageContext) -> None:
    """What a refused decision wrote before it was refused is undone, as the API's request
    would be rolled back, before the page is shown again."""
    await page.session.rollback()


# --- departments ----------------------------------------------------------------------------


async def supervised_departments(page: PageContext) -> list[Department]:
    """The departments the person supervises (admins: every department), in the city's
    order: the choices of the pages' department picker."""
    listed = await city.list_departments(page.session)
    if page.person.is_admin:
        return listed
    held = await powers(page.session, page.person)
    return [d for d in listed if held.get(d.id) == Power.supervisor]


def chosen(
    page: PageContext, departments: list[Department], wanted: uuid.UUID | None
) -> uuid.UUID | None:
    """The department asked for (the services check it), or the first the person was made
    supervisor of (whose lists cover those below it), or the first of the choices."""
    if wanted is not None:
        return wanted
    own = page.person.departments(Role.supervisor)
    for department in departments:
        if department.id in own:
            return department.id
    return departments[0].id if departments else None


# --- requests -------------------------------------------------------------------------------


@dataclass
class Decisions:
    """What a form sent back and its errors, by the request's (or report's) id."""

    errors: dict[str, FormErrors] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    message: str = ""


async def requests_page(
    page: PageContext,
    department: uuid.UUID | None,
    *,
    extensions_after: str | None = None,
    transfers_after: str | None = None,
    decisions: Decisions | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    departments = await supervised_departments(page)
    department_id = chosen(page, departments, department)
    names = {d.id: d.name for d in await city.list_departments(page.session, include_inactive=True)}
    values: dict[str, Any] = {
        "departments": departments,
        "department_id": department_id,
        "names": names,
        "extension_requests": [],
        "transfer_requests": [],
        "referrals": [],
        "extensions_next": None,
        "transfers_next": None,
    }
    if department_id is not None:
        rows, values["extensions_next"] = await extensions.requests_page(
            page.session,
            page.person,
            department_id,
            subtree=True,
            state=RequestState.pending,
            limit=PAGE_SIZE,
            cursor=extensions_after,
        )
        values["extension_requests"] = [extensions.to_request_view(row) for row in rows]
        incoming, values["transfers_next"] = await transfers.requests_page(
            page.session,
            page.person,
            department_id,
            incoming=True,
            state=RequestState.pending,
            limit=PAGE_SIZE,
            cursor=transfers_after,
        )
        values["transfer_requests"] = [
            transfers.to_request_view(request, code) for request, code in incoming
        ]
        values["referrals"] = await ratings.referred_reports(
            page.session,
            page.person,
            department_id,
            language=page.language.value,
            now=page.now,
        )
    decisions = decisions or Decisions()
    return render(
        page,
        "staff/requests.html",
        status_code=status_code,
        errors=decisions.errors,
        values=decisions.values,
        message=decisions.message,
        done=translate(page.language, DONE[done]) if done in DONE else "",
        **values,
    )


@router.get("/staff/requests")
async def requests(
    request: Request,
    department: DepartmentQuery = None,
    extensions_after: CursorQuery = None,
    transfers_after: CursorQuery = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
    page: PageContext = SupervisorPage,
) -> Response:
    return await requests_page(
        page,
        department,
        extensions_after=extensions_after,
        transfers_after=transfers_after,
        done=done,
    )


def _back(department: str | None, done: str) -> RedirectResponse:
    try:
        query = f"department={uuid.UUID(department or '')}&" if department else ""
    except ValueError:
        query = ""
    return RedirectResponse(f"/staff/requests?{query}done={done}", status_code=303)


def _department_of(form_department: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(form_department) if form_department else None
    except ValueError:
        return None


async def _decided_again(
    page: PageContext, key: str, fields: dict[str, str], exc: ValidationError | AppError
) -> Response:
    """The requests page again with the refusal next to the decision's form."""
    department = _department_of(fields.get("department"))
    if isinstance(exc, ValidationError):
        errors, status_code = field_errors(exc, page.language), 422
    else:
        await refused(page)
        errors, status_code = app_error(exc, page.language, "note"), exc.status
        state = exc.extensions.get("state")
        if isinstance(exc, Conflict) and state in REQUEST_STATES:
            errors["note"] = translate(
                page.language,
                N_("Someone decided this already: the request is {state}."),
                state=translate(page.language, REQUEST_STATES[state]),
            )
    decisions = Decisions(errors={key: errors}, values={key: fields})
    return await requests_page(page, department, decisions=decisions, status_code=status_code)


def _decision_refused(exc: Exception) -> bool:
    """Refusals shown next to the form (a 403 too: resetting the clock of a declined
    transfer); a 404 is the error page the API's 404 is (a request of another department
    is not theirs to know of)."""
    if isinstance(exc, ValidationError):
        return True
    return isinstance(exc, AppError) and exc.status not in (401, 404)


@router.post("/staff/requests/extensions/{request_id}/{decision}", dependencies=[CSRF])
async def decide_extension(
    request_id: uuid.UUID,
    decision: str,
    request: Request,
    page: PageContext = SupervisorPage,
) -> Response:
    if decision not in ("approve", "decline"):
        raise InvalidInput("Approve or decline.", field="decision")
    form = await request.form()
    fields = text_fields(form, "note", "department")
    try:
        body = parse(ExtensionDecision, filled({"note": fields.get("note", "")}))
        act = extensions.approve if decision == "approve" else extensions.decline
        await act(page.session, page.person, request_id, body.note, page.now)
    except (ValidationError, AppError) as exc:
        if not _decision_refused(exc):
            raise
        return await _decided_again(page, str(request_id), fields, exc)
    done = "extension-approved" if decision == "approve" else "extension-declined"
    return _back(fields.get("department"), done)


@router.post("/staff/requests/transfers/{request_id}/{decision}", dependencies=[CSRF])
async def decide_transfer(
    request_id: uuid.UUID,
    decision: str,
    request: Request,
    page: PageContext = SupervisorPage,
) -> Response:
    if decision not in ("accept", "decline"):
        raise InvalidInput("Accept or decline.", field="decision")
    form = await request.form()
    fields = text_fields(form, "note", "reset_clock", "department")
    try:
        body = parse(
            TransferDecision,
            filled({"note": fields.get("note", ""), "reset_clock": fields.get("reset_clock", "")}),
        )
        await transfers.decide(
            page.session,
            page.person,
            request_id,
            accept=decision == "accept",
            note=body.note,
            reset_clock=body.reset_clock,
            now=page.now,
        )
    except (ValidationError, AppError) as exc:
        if not _decision_refused(exc):
            raise
        return await _decided_again(page, str(request_id), fields, exc)
    done = "transfer-accepted" if decision == "accept" else "transfer-declined"
    return _back(fields.get("department"), done)


@router.post("/staff/requests/referrals/{report_id}/close", dependencies=[CSRF])
async def close_referral(
    report_id: uuid.UUID, request: Request, page: PageContext = SupervisorPage
) -> Response:
    form = await request.form()
    fields = text_fields(form, "note", "department")
    try:
        body = parse(ReferralClose, {"note": fields.get("note", "")})
        await ratings.close_referred(page.session, page.person, report_id, body, page.now)
    except (ValidationError, AppError) as exc:
        if not _decision_refused(exc):
            raise
        return await _decided_again(page, str(report_id), fields, exc)
    return _back(fields.get("department"), "referral-closed")

"""Extension requests: staff ask for a later deadline with a justification; a supervisor of
the report's department approves (the round's and the report's deadline move, the round
counts one more extension, and the new deadline is public with its justification) or
declines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.city import service as city
from service.errors import Conflict, InvalidInput, NotFound
from service.queues import repository
from service.queues.access import Power, require_power
from service.queues.models import ExtensionRequest, RequestState
from service.queues.queue import queue_departments
from service.queues.schemas import ExtensionRequestView
from service.queues.work import require_open, workable
from service.readable import error_time, time_value
from service.reports import lifecycle
from service.reports.lifecycle import notices
from service.reports.models import Report


async def request_extension(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    due_at: datetime,
    justification: str,
    now: datetime,
) -> ExtensionRequest:
    report, _ = await workable(session, actor, report_id)
    require_open(report, "extended")
    if due_at <= now or (report.due_at is not None and due_at <= report.due_at):
        zone = await city.city_timezone(session)
        current = f" ({error_time(report.due_at, zone)})" if report.due_at else ""
        raise InvalidInput(
            f"The new deadline must be later than the current one{current} and in the future.",
            field="due_at",
        )
    if await repository.pending_request(session, ExtensionRequest, report.id) is not None:
        raise Conflict("An extension of this report is waiting for a decision already.")
    request = ExtensionRequest(
        report_id=report.id,
        round_number=report.round,
        requested_due_at=due_at,
        justification=justification,
        requested_by_id=actor.user_id,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    lifecycle.record_event(
        session,
        report,
        actor,
        "extension_requested",
        now,
        public=False,
        request_id=str(request.id),
        due_at=due_at.isoformat(),
        justification=justification,
    )
    calendar = await city.load_working_calendar(session, report.department_id)
    await notices.tell(
        session,
        report,
        "extension_requested",
        str(request.id),
        await notices.department_heads(session, report.department_id),
        now=now,
        due=time_value(due_at, calendar.zone),
        current_due=time_value(report.due_at, calendar.zone) if report.due_at else "",
        justification=justification,
    )
    await session.flush()
    return request


async def _tell_requester(
    session: AsyncSession,
    report: Report,
    request: ExtensionRequest,
    template: str,
    note: str | None,
    now: datetime,
) -> None:
    """The staff member who asked is told the decision."""
    await notices.tell_user(
        session,
        report,
        "extension_decided",
        str(request.id),
        request.requested_by_id,
        now=now,
        template=template,
        due=await lifecycle.due_value(session, report),
        note=f"\n\n{note}" if note else "",
    )


async def _locked(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID
) -> tuple[ExtensionRequest, Report]:
    """The request and its report, locked (report first); 404 unless the caller works the
    report, 403 for staff (deciding needs a supervisor)."""
    found = await session.get(ExtensionRequest, request_id)
    if found is None:
        raise NotFound("No such extension request.")
    report = await lifecycle.lock(session, found.report_id)
    try:
        await require_power(session, actor, report.department_id, at_least=Power.supervisor)
    except NotFound:
        raise NotFound("No such extension request.") from None
    request = await repository.lock_request(session, ExtensionRequest, request_id)
    assert request is not None
    if request.state != RequestState.pending:
        raise Conflict(f"This extension request was {request.state} already.", state=request.state)
    return request, report


async def approve(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, note: str | None, now: datetime
) -> ExtensionRequest:
    request, report = await _locked(session, actor, request_id)
    require_open(report, "extended")
    if request.round_number != report.round:
        raise Conflict("The request was for an earlier round of this report.")
    if report.due_at is not None and request.requested_due_at <= report.due_at:
        raise Conflict(
            "The deadline is at or after the one asked for already; decline the request.",
            current_due_at=report.due_at.isoformat(),
        )
    await lifecycle.extend(
        session, report, actor, request.requested_due_at, request.justification, now
    )
    request.state = RequestState.accepted
    request.decided_by_id, request.decided_at, request.decision_note = actor.user_id, now, note
    await _tell_requester(session, report, request, "extension_approved", note, now)
    await session.flush()
    return request


async def decline(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, note: str | None, now: datetime
) -> ExtensionRequest:
    request, report = await _locked(session, actor, request_id)
    request.state = RequestState.declined
    request.decided_by_id, request.decided_at, request.decision_note = actor.user_id, now, note
    lifecycle.record_event(
        session,
        report,
        actor,
        "extension_declined",
        now,
        public=False,
        request_id=str(request.id),
        note=note,
    )
    await _tell_requester(session, report, request, "extension_declined", note, now)
    await session.flush()
    return request


async def requests_page(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    *,
    subtree: bool,
    state: RequestState | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Extension requests of the reports in the department's queue (and its subtree for
    supervisors)."""
    departments = await queue_departments(session, actor, department_id, subtree=subtree)
    return await repository.extension_page(
        session, departments, state=state, limit=limit, cursor=cursor
    )


def to_request_view(row: Any) -> ExtensionRequestView:
    """A row of ``repository.extension_page`` / ``extension_row``."""
    request = row.ExtensionRequest
    return ExtensionRequestView(
        **{name: getattr(request, name) for name in ExtensionRequest.model_fields},
        tracking_code=row.tracking_code,
        department_id=row.department_id,
        current_due_at=row.current_due_at,
    )


async def request_view(session: AsyncSession, request_id: uuid.UUID) -> ExtensionRequestView:
    return to_request_view(await repository.extension_row(session, request_id))

"""Moving a report to another department, with a reason.

A supervisor of the report's department transfers directly. Staff ask: a transfer request
that the target department's staff or supervisor, or the dispatcher, accepts or declines;
the requesting department may cancel it while it waits. The move goes through the state
table: ``transfer`` (→ transferred) and at once ``receive_transfer`` (→ accepted in the new
department). The round moves with the report; its deadline is kept unless a supervisor
resets the clock, which starts a fresh deadline from now on the reason's SLA and the new
department's calendar. Every step is on the report's timeline: the move in public, the
requests and decisions for the departments.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.calendar import add_working_time
from service.catalog.models import Reason
from service.city import service as city
from service.city.models import Department
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.queues import repository
from service.queues.access import Power, power_in, require_power
from service.queues.models import ExtensionRequest, RequestState, TransferRequest
from service.queues.schemas import TransferRequestView
from service.queues.work import workable
from service.reports import lifecycle
from service.reports.lifecycle import notices
from service.reports.models import Report
from service.reports.states import Action, transition


async def _target(session: AsyncSession, report: Report, department_id: uuid.UUID) -> Department:
    department = await session.get(Department, department_id)
    if department is None or not department.active:
        raise InvalidInput("No such active department.", field="to_department_id")
    if department.id == report.department_id:
        raise InvalidInput("The report is in this department already.", field="to_department_id")
    return department


async def _cancel_pending(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    now: datetime,
    note: str,
    *,
    keep: uuid.UUID | None,
) -> None:
    """What the old department asked for dies with the move (but the request being
    accepted, ``keep``)."""
    for pending in (
        await repository.pending_request(session, TransferRequest, report.id),
        await repository.pending_request(session, ExtensionRequest, report.id),
    ):
        if pending is not None and pending.id != keep:
            pending.state = RequestState.cancelled
            pending.decided_at = now
            pending.decided_by_id = actor.user_id
            pending.decision_note = note


async def move(
    session: AsyncSession,
    actor: Actor,
    report: Report,
    target: Department,
    reason: str,
    now: datetime,
    *,
    reset_clock: bool,
    request_id: uuid.UUID | None = None,
) -> None:
    """transfer + receive_transfer: the report (and its round) now belong to ``target``."""
    source = await city.get_department(session, report.department_id)
    await _cancel_pending(
        session, report, actor, now, "The report moved to another department.", keep=request_id
    )
    reset_due_at = None
    if reset_clock:
        found = await session.get(Reason, report.reason_id)
        assert found is not None
        calendar = await city.load_working_calendar(session, target.id)
        reset_due_at = add_working_time(now, found.sla_amount, found.sla_unit, calendar)
    await lifecycle.move(
        session,
        report,
        actor,
        source,
        target,
        reason,
        now,
        reset_due_at=reset_due_at,
        request_id=request_id,
    )


async def transfer(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    to_department_id: uuid.UUID,
    reason: str,
    reset_clock: bool,
    now: datetime,
) -> Report:
    """A supervisor's direct transfer (staff: 403, ask with a transfer request)."""
    report, _ = await workable(session, actor, report_id, at_least=Power.supervisor)
    transition(report.state, Action.transfer)
    target = await _target(session, report, to_department_id)
    await move(session, actor, report, target, reason, now, reset_clock=reset_clock)
    await session.flush()
    return report


async def request_transfer(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    to_department_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> TransferRequest:
    """Staff ask the target department (or the dispatcher) to take the report."""
    report, _ = await workable(session, actor, report_id)
    transition(report.state, Action.transfer)
    target = await _target(session, report, to_department_id)
    if await repository.pending_request(session, TransferRequest, report.id) is not None:
        raise Conflict("A transfer of this report is waiting for a decision already.")
    request = TransferRequest(
        report_id=report.id,
        from_department_id=report.department_id,
        to_department_id=target.id,
        reason=reason,
        requested_by_id=actor.user_id,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    lifecycle.record_event(
        session,
        report,
        actor,
        "transfer_requested",
        now,
        public=False,
        request_id=str(request.id),
        to_department=target.code,
        reason=reason,
    )
    source = await city.get_department(session, report.department_id)
    await notices.tell(
        session,
        report,
        "transfer_requested",
        str(request.id),
        await notices.department_team(session, target.id),
        now=now,
        from_department=source.name,
        department=target.name,
        reason=reason,
    )
    await session.flush()
    return request


async def _decider_power(
    session: AsyncSession, actor: Actor, request: TransferRequest
) -> Power | None:
    """The caller's power to decide: over the target department or the dispatcher."""
    found = [await power_in(session, actor, request.to_department_id)]
    dispatcher = await city.dispatcher_department(session)
    if dispatcher is not None:
        found.append(await power_in(session, actor, dispatcher.id))
    held = [power for power in found if power is not None]
    return max(held) if held else None


async def _pending_request(
    session: AsyncSession, request_id: uuid.UUID
) -> tuple[TransferRequest, Report]:
    """The request and its report, both locked: the report first, as every change of a
    report's requests does, so two of them cannot wait on each other."""
    found = await session.get(TransferRequest, request_id)
    if found is None:
        raise NotFound("No such transfer request.")
    report = await lifecycle.lock(session, found.report_id)
    request = await repository.lock_request(session, TransferRequest, request_id)
    assert request is not None  # requests go only with their report, which is locked
    return request, report


def _still_pending(request: TransferRequest) -> None:
    if request.state != RequestState.pending:
        raise Conflict(f"This transfer request was {request.state} already.", state=request.state)


async def decide(
    session: AsyncSession,
    actor: Actor,
    request_id: uuid.UUID,
    *,
    accept: bool,
    note: str | None,
    reset_clock: bool,
    now: datetime,
) -> TransferRequest:
    """The target department (or the dispatcher) accepts — the report moves — or declines
    — it stays. Resetting the clock needs a supervisor."""
    request, report = await _pending_request(session, request_id)
    power = await _decider_power(session, actor, request)
    if power is None:
        if await power_in(session, actor, request.from_department_id) is not None:
            raise Forbidden("The target department or the dispatcher decides this request.")
        raise NotFound("No such transfer request.")
    _still_pending(request)
    if reset_clock and (not accept or power < Power.supervisor):
        raise Forbidden(
            "Only a supervisor accepting a transfer may reset the clock.",
            reason="needs_supervisor",
        )
    request.decided_by_id = actor.user_id
    request.decided_at = now
    request.decision_note = note
    if accept:
        if report.department_id != request.from_department_id:
            raise Conflict("The report has moved since the request was made.")
        transition(report.state, Action.transfer)
        target = await _target(session, report, request.to_department_id)
        request.state = RequestState.accepted
        request.reset_clock = reset_clock
        await move(
            session,
            actor,
            report,
            target,
            request.reason,
            now,
            reset_clock=reset_clock,
            request_id=request.id,
        )
    else:
        request.state = RequestState.declined
        lifecycle.record_event(
            session,
            report,
            actor,
            "transfer_declined",
            now,
            public=False,
            request_id=str(request.id),
            note=note,
        )
    target = await city.get_department(session, request.to_department_id)
    await notices.tell_user(
        session,
        report,
        "transfer_decided",
        str(request.id),
        request.requested_by_id,
        now=now,
        template="transfer_accepted" if accept else "transfer_declined",
        department=target.name,
        note=f"\n\n{note}" if note else "",
    )
    await session.flush()
    return request


async def cancel(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, now: datetime
) -> TransferRequest:
    """The requesting department takes its request back."""
    request, report = await _pending_request(session, request_id)
    if await power_in(session, actor, request.from_department_id) is None:
        if await _decider_power(session, actor, request) is None:
            raise NotFound("No such transfer request.")
        raise Forbidden("Only the requesting department may cancel the request.")
    _still_pending(request)
    request.state = RequestState.cancelled
    request.decided_by_id = actor.user_id
    request.decided_at = now
    lifecycle.record_event(
        session,
        report,
        actor,
        "transfer_cancelled",
        now,
        public=False,
        request_id=str(request.id),
    )
    await session.flush()
    return request


async def requests_page(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    *,
    incoming: bool,
    state: RequestState | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[TransferRequest, str]], str | None]:
    """Requests to the department (to the dispatcher: every request, it may decide all) or
    from it."""
    department = await city.get_department(session, department_id)
    await require_power(session, actor, department_id, hide=False)
    dispatcher = await city.dispatcher_department(session)
    everything = incoming and dispatcher is not None and dispatcher.id == department.id
    rows, next_cursor = await repository.transfer_page(
        session,
        to_department_id=department_id if incoming and not everything else None,
        from_department_id=None if incoming else department_id,
        state=state,
        limit=limit,
        cursor=cursor,
    )
    return [(row.TransferRequest, row.tracking_code) for row in rows], next_cursor


def to_request_view(request: TransferRequest, tracking_code: str) -> TransferRequestView:
    # Attributes, not model_dump: a state read back from the database is a plain string.
    fields = {name: getattr(request, name) for name in TransferRequest.model_fields}
    return TransferRequestView(**fields, tracking_code=tracking_code)


async def request_view(session: AsyncSession, request_id: uuid.UUID) -> TransferRequestView:
    row = await repository.transfer_row(session, request_id)
    return to_request_view(row.TransferRequest, row.tracking_code)

"""The department's work on a report: who works on it, its priority, starting work, notes,
a move to another department, and an ambassador's confirmation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.catalog.models import Reason
from service.city.models import Department
from service.errors import Conflict
from service.reports.lifecycle import notices, rounds
from service.reports.lifecycle.timeline import apply_transition, record_event, touch
from service.reports.models import Report, ReportEvent
from service.reports.states import OPEN_STATES, Action, ReportState

# Where a public status note still means something: open, or answered (rating window).
NOTABLE_STATES = OPEN_STATES | {ReportState.answered}

# What a transfer does to what a domain above the reports keeps of the old department's work
# on the report (feedback: an answer waiting for moderation is withdrawn). Those domains
# import the life cycle, never the other way round, so they register a function here;
# :func:`move` calls each under the report's lock, after the move, with
# (session, report, actor, source, target, now).
TransferHook = Callable[
    [AsyncSession, Report, Actor, Department, Department, datetime], Awaitable[None]
]
TRANSFER_HOOKS: list[TransferHook] = []


def on_transfer(hook: TransferHook) -> TransferHook:
    """Register ``hook`` to run in every transfer (once, however often it is called; the
    entry points register them in ``service.wiring``)."""
    if hook not in TRANSFER_HOOKS:
        TRANSFER_HOOKS.append(hook)
    return hook


def set_assignee(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    user_id: uuid.UUID | None,
    name: str | None,
    event: str,
    now: datetime,
) -> None:
    """``user_id`` works on the report now (None: nobody); ``event`` names how (claimed,
    assigned, unassigned)."""
    if report.assignee_id == user_id:
        return
    previous = report.assignee_id
    report.assignee_id = user_id
    touch(report, now)
    record_event(
        session,
        report,
        actor,
        event,
        now,
        public=False,
        assignee_id=str(user_id) if user_id else None,
        assignee_name=name,
        previous_assignee_id=str(previous) if previous else None,
    )


def set_priority(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    priority_id: uuid.UUID | None,
    code: str | None,
    now: datetime,
) -> None:
    if report.priority_id == priority_id:
        return
    report.priority_id = priority_id
    touch(report, now)
    record_event(
        session,
        report,
        actor,
        "priority",
        now,
        public=False,
        priority_id=str(priority_id) if priority_id else None,
        code=code,
    )


def start_work(
    session: AsyncSession, report: Report, actor: Actor | None, now: datetime, **data: Any
) -> ReportEvent:
    """accepted or reopened → in_progress (409 from any other state)."""
    return apply_transition(session, report, Action.start_work, actor, now, **data)


async def refuse_unmoderated_text(session: AsyncSession, report: Report) -> None:
    """409 when the report's reason moderates its answers: the department's public texts on
    it go through answer moderation (an answer), never straight out as a status note."""
    reason = await session.get(Reason, report.reason_id)
    if reason is not None and reason.needs_answer_moderation:
        raise Conflict(
            "The public texts of this reason are moderated: answer the report (a moderator "
            "publishes the answer) or write an internal note; a public status note would "
            "bypass the moderation.",
            reason="public_texts_moderated",
        )


async def add_note(
    session: AsyncSession,
    report: Report,
    actor: Actor | None,
    now: datetime,
    *,
    public: bool,
    **data: Any,
) -> ReportEvent:
    """An internal note (the department, moderators and admins see it) or a public status
    note. Notes do not change the report's version; a public one is an update of the
    report for everyone (``updated_at``), an internal one is not. A report that is over
    (closed, rejected, merged, withdrawn) takes no more status notes (409), nor does one
    whose reason moderates answers (409, ``public_texts_moderated``)."""
    if public:
        if report.state not in NOTABLE_STATES:
            raise Conflict(
                f"A report that is {report.state} takes no more status notes.",
                current_state=str(report.state),
            )
        await refuse_unmoderated_text(session, report)
        report.updated_at = now
    return record_event(
        session, report, actor, "status_note" if public else "note", now, public=public, **data
    )


async def move(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    source: Department,
    target: Department,
    reason: str,
    now: datetime,
    *,
    reset_due_at: datetime | None = None,
    request_id: uuid.UUID | None = None,
) -> None:
    """transfer + receive_transfer: the report and its round now belong to ``target``;
    the deadline is kept unless ``reset_due_at`` gives a fresh one. Who works on it and
    how urgent it is were the old department's, and so is what the ``TRANSFER_HOOKS``
    withdraw (an answer waiting for moderation). The new department is told."""
    moved = {
        "from_department": source.code,
        "to_department": target.code,
        "reason": reason,
        **({"request_id": str(request_id)} if request_id else {}),
    }
    apply_transition(session, report, Action.transfer, actor, now, **moved)
    rnd = await rounds.current_round(session, report)
    report.department_id = target.id
    rnd.department_id = target.id
    report.assignee_id = None
    report.priority_id = None
    if reset_due_at is not None:
        rounds.reset_due(report, rnd, reset_due_at, now)
    received = apply_transition(
        session,
        report,
        Action.receive_transfer,
        actor,
        now,
        department=target.code,
        due_at=report.due_at.isoformat() if report.due_at else None,
        clock_reset=reset_due_at is not None,
    )
    for hook in TRANSFER_HOOKS:
        await hook(session, report, actor, source, target, now)
    await notices.tell(
        session,
        report,
        "report_transferred",
        str(received.id),
        await notices.department_team(session, target.id),
        now=now,
        from_department=source.name,
        department=target.name,
        reason=reason,
        due=await rounds.due_value(session, report),
    )


def confirm_by_ambassador(
    session: AsyncSession, report: Report, actor: Actor, now: datetime
) -> ReportEvent:
    """One more ambassador of the report's building confirms it (the caller recorded who)."""
    report.ambassador_confirmations += 1
    return record_event(session, report, actor, "ambassador_confirmed", now, public=True)

"""Rounds of work and their deadlines: opening, the pause while the reporter is asked, an
extension, the answer's figures, and the SLA engine's marks.

A round's deadline is kept twice, on the round and on the report (the queue sorts by the
report's); both move together here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import User
from service.calendar import TimeUnit, add_working_time, working_time_between
from service.city import service as city
from service.readable import time_value
from service.reports.lifecycle import notices, repository
from service.reports.lifecycle.timeline import apply_transition, record_event, touch
from service.reports.models import Report, ReportEvent, ReportRound
from service.reports.states import Action, transition


def open_round(
    session: AsyncSession, report: Report, now: datetime, due_at: datetime
) -> ReportRound:
    """Start round ``report.round`` in the report's department, due at ``due_at``."""
    report.due_at = due_at
    report.breached_at = None
    rnd = _round(report, now, due_at)
    session.add(rnd)
    return rnd


def _round(report: Report, opened_at: datetime, due_at: datetime) -> ReportRound:
    return ReportRound(
        report_id=report.id,
        number=report.round,
        department_id=report.department_id,
        opened_at=opened_at,
        due_at=due_at,
        initial_due_at=due_at,
    )


async def current_round(session: AsyncSession, report: Report) -> ReportRound:
    """The report's current round (the caller holds the report's lock); a report accepted
    before rounds were kept gets its round now, from its acceptance and deadline."""
    found = await repository.round_of(session, report.id, report.round)
    if found is not None:
        return found
    opened = report.accepted_at or report.updated_at
    created = _round(report, opened, report.due_at or opened)
    session.add(created)
    await session.flush()
    return created


def _set_due(report: Report, rnd: ReportRound, due_at: datetime, now: datetime) -> None:
    report.due_at = rnd.due_at = due_at
    if due_at > now:
        report.breached_at = None


async def ask_reporter(
    session: AsyncSession, report: Report, actor: Actor, question: str, now: datetime
) -> ReportEvent:
    """accepted / in_progress → awaiting_info: the clock pauses, and the reporter is told
    the question (a legal notice: without an answer the report may close)."""
    event = apply_transition(session, report, Action.ask_info, actor, now, question=question)
    report.paused_at = now
    reporter = await session.get(User, report.reporter_id)
    await notices.tell(
        session,
        report,
        "clarification_requested",
        str(event.id),
        [reporter] if reporter is not None else [],
        now=now,
        question=question,
    )
    return event


async def take_reply(
    session: AsyncSession, report: Report, actor: Actor, text: str, now: datetime
) -> ReportEvent:
    """The reporter's answer: awaiting_info → in_progress; the paused working time is added
    to the round and the deadline moves by as much working time. The department is told."""
    transition(report.state, Action.receive_info)
    calendar = await city.load_working_calendar(session, report.department_id)
    paused_since = report.paused_at or now
    paused = max(int(working_time_between(paused_since, now, calendar).total_seconds()), 0)
    rnd = await current_round(session, report)
    rnd.paused_working_seconds += paused
    if paused and report.due_at is not None:
        hours = paused / 3600
        report.due_at = add_working_time(report.due_at, hours, TimeUnit.working_hours, calendar)
        rnd.due_at = add_working_time(rnd.due_at, hours, TimeUnit.working_hours, calendar)
        if report.due_at > now:
            report.breached_at = None
    report.paused_at = None
    # The answer is the reporter's own words: for the department (and the reporter) only.
    record_event(session, report, actor, "clarification", now, public=False, answer=text)
    event = apply_transition(
        session,
        report,
        Action.receive_info,
        actor,
        now,
        paused_since=paused_since.isoformat(),
        paused_working_seconds=paused,
        due_at=report.due_at.isoformat() if report.due_at else None,
    )
    await notices.tell(
        session,
        report,
        "clarification_answered",
        str(event.id),
        await notices.department_people(session, report),
        now=now,
        due=time_value(report.due_at, calendar.zone) if report.due_at else "",
    )
    return event


async def extend(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    due_at: datetime,
    justification: str,
    now: datetime,
) -> ReportEvent:
    """A supervisor's approved extension: the round's and the report's deadline move to
    ``due_at``, the round counts one more extension, and the new deadline is public."""
    rnd = await current_round(session, report)
    previous = report.due_at
    _set_due(report, rnd, due_at, now)
    rnd.extensions += 1
    touch(report, now)
    return record_event(
        session,
        report,
        actor,
        "extension",
        now,
        public=True,
        due_at=due_at.isoformat(),
        previous_due_at=previous.isoformat() if previous else None,
        justification=justification,
    )


def reset_due(report: Report, rnd: ReportRound, due_at: datetime, now: datetime) -> None:
    """A fresh deadline for the round (a transfer that resets the clock)."""
    _set_due(report, rnd, due_at, now)
    rnd.initial_due_at = due_at


def mark_planned(rnd: ReportRound) -> None:
    """The round's SLA timers now match its deadline (``service.sla.engine``)."""
    rnd.timers_for_due = rnd.due_at


async def due_value(session: AsyncSession, report: Report) -> dict[str, str] | str:
    """The report's deadline for a notice, read on the city's clock in each reader's
    language (``service.readable``); "" without one."""
    if report.due_at is None:
        return ""
    calendar = await city.load_working_calendar(session, report.department_id)
    return time_value(report.due_at, calendar.zone)

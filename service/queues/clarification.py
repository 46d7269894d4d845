"""Asking the reporter a question and taking the answer, with the SLA clock paused between.

The pause is counted in working time on the department's calendar: a question asked on
Tuesday at 15:00 and answered on Wednesday at 10:00 (working hours 08:30–17:00) paused the
clock for 2 h + 1.5 h = 3.5 working hours, and the deadline moves by 3.5 working hours.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import User
from service.calendar import TimeUnit, add_working_time, working_time_between
from service.city import service as city
from service.mail.service import email_user
from service.queues import repository
from service.queues.work import workable
from service.reports.lifecycle import apply_transition, own_report, record_event
from service.reports.models import Report, ReportRound
from service.reports.states import Action, transition


async def ensure_round(session: AsyncSession, report: Report, now: datetime) -> ReportRound:
    """The report's current round; one is opened from the report's own deadline for a
    report accepted before rounds were kept."""
    found = await repository.current_round(session, report)
    if found is not None:
        return found
    due_at = report.due_at or now
    rnd = ReportRound(
        report_id=report.id,
        number=report.round,
        department_id=report.department_id,
        opened_at=report.accepted_at or now,
        due_at=due_at,
        initial_due_at=due_at,
    )
    session.add(rnd)
    return rnd


async def ask(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, question: str, now: datetime
) -> Report:
    """accepted / in_progress → awaiting_info: the clock pauses and the reporter is emailed
    the question (it is on the public timeline too)."""
    report, _ = await workable(session, actor, report_id)
    apply_transition(session, report, Action.ask_info, actor, now, question=question)
    report.paused_at = now
    reporter = await session.get(User, report.reporter_id)
    if reporter is not None and reporter.disabled_at is None:
        await email_user(
            session,
            reporter,
            "clarification_requested",
            code=report.tracking_code,
            question=question,
        )
    await session.flush()
    return report


async def answer(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, text: str, now: datetime
) -> Report:
    """The reporter's answer: awaiting_info → in_progress; the paused working time is added
    to the round and the deadline moves by as much working time."""
    report = await own_report(session, actor, report_id)
    transition(report.state, Action.receive_info)
    calendar = await city.load_working_calendar(session, report.department_id)
    paused_since = report.paused_at or now
    paused = max(int(working_time_between(paused_since, now, calendar).total_seconds()), 0)
    rnd = await ensure_round(session, report, now)
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
    apply_transition(
        session,
        report,
        Action.receive_info,
        actor,
        now,
        paused_since=paused_since.isoformat(),
        paused_working_seconds=paused,
        due_at=report.due_at.isoformat() if report.due_at else None,
    )
    await session.flush()
    return report

"""The SLA engine: reminders, breaches and escalations of each round, moderation deadlines.

The database is the source of truth. Every reminder, breach and escalation of a round is a
row of ``sla_timer``, unique per (report, round, kind, level):

* a round is *planned* when its timers exist for its current due time. New rounds, and
  rounds whose deadline moved (a pause ended, an extension, a transfer that reset the
  clock), are found by :func:`sweep` and planned again; timers that have not fired move.
* a timer *fires* once: the worker that locks it (``FOR UPDATE SKIP LOCKED``) checks the
  current state, does the work (marks the round overdue, notifies) and sets ``fired_at`` in
  the same transaction. A stale timer (the round ended, the report waits for the reporter's
  answer, the deadline moved) does nothing.
* the fast path: planning also writes deferred jobs to the outbox (``run_at`` = the timer's
  time), so a timer usually fires within a second of its time; the sweep every few seconds
  catches whatever a lost job, a dead worker or a flushed Redis left behind.

Plan of a round due at D (working time on the department's calendar):
reminder 1 at D − 1 working day, reminder 2 at D − 2 working hours (both only when after
the round opened), breach at D (the round and the report are marked overdue, the
department and its supervisors are told), escalation 2 at D + the escalation interval (the
parent department's supervisors, or the dispatcher when there is no parent), escalation 3 at
D + twice the interval (the city's admins).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.city import service as city
from service.city.models import Department
from service.config import Settings
from service.notifications.dispatch import Notice, notify
from service.observability import SLA_LAG
from service.outbox.service import add_job
from service.reports.lifecycle import record_event
from service.reports.models import Report, ReportRound
from service.reports.states import OPEN_STATES, ReportState
from service.sla import repository
from service.sla.calendar import TimeUnit, WorkingCalendar, add_working_time, subtract_working_time
from service.sla.models import SlaTimer, TimerKind

FIRE_JOB = "sla_fire"


@dataclass(frozen=True)
class PlannedTimer:
    kind: TimerKind
    level: int
    fire_at: datetime


def plan(
    opened_at: datetime, due_at: datetime, calendar: WorkingCalendar, interval_days: float
) -> list[PlannedTimer]:
    """The timers of a round that opened at ``opened_at`` and is due at ``due_at``."""
    timers = []
    for level, amount, unit in (
        (1, 1, TimeUnit.working_days),
        (2, 2, TimeUnit.working_hours),
    ):
        at = subtract_working_time(due_at, amount, unit, calendar)
        if at > opened_at:
            timers.append(PlannedTimer(TimerKind.reminder, level, at))
    timers.append(PlannedTimer(TimerKind.breach, 1, due_at))
    second = add_working_time(due_at, interval_days, TimeUnit.working_days, calendar)
    timers.append(PlannedTimer(TimerKind.escalation, 2, second))
    third = add_working_time(second, interval_days, TimeUnit.working_days, calendar)
    timers.append(PlannedTimer(TimerKind.escalation, 3, third))
    return timers


async def plan_round(
    session: AsyncSession, settings: Settings, report: Report, rnd: ReportRound
) -> int:
    """Create or move the round's pending timers for its current due time, with a deferred
    job for each; returns how many are pending."""
    calendar = await city.load_working_calendar(session, rnd.department_id)
    pending = 0
    for timer in plan(
        rnd.opened_at, rnd.due_at, calendar, settings.escalation_interval_working_days
    ):
        timer_id = await repository.upsert_timer(
            session, report.id, rnd.number, timer.kind, timer.level, timer.fire_at, rnd.due_at
        )
        if timer_id is not None:
            pending += 1
            key = f"{timer_id}:{int(timer.fire_at.timestamp())}"
            await add_job(session, FIRE_JOB, key, str(timer_id), run_at=timer.fire_at)
    rnd.timers_for_due = rnd.due_at
    return pending


@dataclass(frozen=True)
class SweepResult:
    planned: int
    fired: int
    moderation: int
    rating_reminders: int = 0


async def sweep(
    session: AsyncSession, settings: Settings, now: datetime, batch: int = 200
) -> SweepResult:
    """One pass of the safety net: plan what is unplanned, tell moderators about reports
    past their moderation deadline, fire what is due. Safe with many workers at once."""
    unplanned = await repository.rounds_to_plan(session, batch)
    for report, rnd in unplanned:
        await plan_round(session, settings, report, rnd)
    overdue = await repository.claim_moderation_overdue(session, now, batch)
    for report_id in overdue:
        await _moderation_overdue(session, report_id)
    fired = 0
    for timer in await repository.due_timers(session, now, batch):
        fired += await _fire(session, settings, timer, now)
    window = timedelta(days=settings.rating_window_days)
    reminders = await repository.claim_rating_reminders(
        session, now, now - window + RATING_REMINDER_BEFORE_END, batch
    )
    for report_id, number in reminders:
        await _rating_reminder(session, settings, report_id, number)
    return SweepResult(
        planned=len(unplanned),
        fired=fired,
        moderation=len(overdue),
        rating_reminders=len(reminders),
    )


# The reporter is reminded to rate this long before the rating window closes.
RATING_REMINDER_BEFORE_END = timedelta(days=2)


async def _rating_reminder(
    session: AsyncSession, settings: Settings, report_id: uuid.UUID, number: int
) -> None:
    report = await session.get(Report, report_id)
    if report is None or report.answered_at is None:
        return
    reporter = await session.get(User, report.reporter_id)
    if reporter is None:
        return
    until = report.answered_at + timedelta(days=settings.rating_window_days)
    await notify(
        session,
        Notice(
            "rating_reminder",
            f"rating_reminder:{report.id}:{number}",
            "rating_reminder",
            {"code": report.tracking_code, "until": until.date().isoformat()},
            report.id,
        ),
        [reporter],
    )


async def fire_one(
    session: AsyncSession, settings: Settings, timer_id: uuid.UUID, now: datetime
) -> bool:
    """The fast path: fire one timer if it is due and still pending (a duplicate or stale
    job finds nothing to do)."""
    timer = await repository.lock_timer(session, timer_id)
    if timer is None or timer.fired_at is not None or timer.cancelled_at is not None:
        return False
    if timer.fire_at > now:
        return False  # moved later since the job was written; a newer job exists
    return bool(await _fire(session, settings, timer, now))


async def _fire(session: AsyncSession, settings: Settings, timer: SlaTimer, now: datetime) -> int:
    report, rnd = await repository.report_and_round(session, timer.report_id, timer.round_number)
    if report is None or rnd is None or rnd.ended_at is not None or report.round != rnd.number:
        timer.cancelled_at = now  # the round is over: nothing is owed any more
        return 0
    if report.state not in OPEN_STATES:
        timer.cancelled_at = now
        return 0
    if report.state == ReportState.awaiting_info or report.paused_at is not None:
        return 0  # the clock is paused; when it resumes the deadline moves and is planned
    if timer.due_basis != rnd.due_at:
        await plan_round(session, settings, report, rnd)  # the deadline moved
        return 0
    if timer.kind == TimerKind.reminder and now >= rnd.due_at:
        timer.cancelled_at = now  # a reminder after the deadline is noise: the breach says it
        return 0
    timer.fired_at = now
    timer.lag_seconds = max(0.0, (now - timer.fire_at).total_seconds())
    SLA_LAG.labels(str(timer.kind)).observe(timer.lag_seconds)
    await _act(session, report, rnd, timer, now)
    return 1


async def _act(
    session: AsyncSession, report: Report, rnd: ReportRound, timer: SlaTimer, now: datetime
) -> None:
    due = rnd.due_at.isoformat()
    department = await session.get(Department, rnd.department_id)
    values: dict[str, object] = {
        "code": report.tracking_code,
        "due": due,
        "department": department.name if department is not None else "",
        "level": timer.level,
    }
    kind = TimerKind(timer.kind)  # stored as text
    key = f"{kind.value}:{report.id}:{rnd.number}:{timer.level}"
    if kind is TimerKind.reminder:
        recipients = await _department(session, report, rnd.department_id)
        await notify(
            session, Notice("sla_reminder", key, "sla_reminder", values, report.id), recipients
        )
        return
    if kind is TimerKind.breach:
        rnd.breached_at = now
        report.breached_at = now
        record_event(
            session, report, None, "overdue", now, public=True, round=rnd.number, due_at=due
        )
        recipients = [
            *await _department(session, report, rnd.department_id),
            *await repository.people(session, (Role.supervisor,), rnd.department_id),
        ]
        await notify(
            session, Notice("sla_breached", key, "sla_breached", values, report.id), recipients
        )
        return
    # Escalations: level 2 to the parent department (or the dispatcher), 3 to the admins.
    if timer.level == 2:
        target = await repository.parent_of(session, rnd.department_id)
        if target is None:
            dispatcher = await city.dispatcher_department(session)
            target = dispatcher.id if dispatcher is not None else None
        recipients = (
            await repository.people(session, (Role.supervisor, Role.staff), target)
            if target is not None
            else []
        ) or await repository.people(session, (Role.admin,))
    else:
        recipients = await repository.people(session, (Role.admin,))
    record_event(
        session, report, None, "escalated", now, public=False, round=rnd.number, level=timer.level
    )
    await notify(
        session, Notice("sla_escalated", key, "sla_escalated", values, report.id), recipients
    )


async def _department(
    session: AsyncSession, report: Report, department_id: uuid.UUID
) -> list[User]:
    """Who works the report: its assignee, else the department's staff."""
    if report.assignee_id is not None:
        assignee = await session.get(User, report.assignee_id)
        if assignee is not None:
            return [assignee]
    return await repository.people(session, (Role.staff,), department_id)


async def _moderation_overdue(session: AsyncSession, report_id: uuid.UUID) -> None:
    report = await session.get(Report, report_id)
    if report is None:
        return
    moderators = await repository.people(session, (Role.moderator,))
    await notify(
        session,
        Notice(
            "moderation_overdue",
            f"moderation:{report.id}",
            "moderation_overdue",
            {"code": report.tracking_code, "due": str(report.moderation_due_at), "level": 1},
            report.id,
        ),
        moderators,
    )

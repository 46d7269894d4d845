"""The SLA engine: reminders, breaches and escalations of each round, moderation deadlines.

The database is the source of truth. Every reminder, breach and escalation of a round is a
row of ``sla_timer``, unique per (report, round, kind, level):

* a round is *planned* when its timers exist for its current due time. New rounds, and
  rounds whose deadline moved (a pause ended, an extension, a transfer that reset the
  clock), are found by :func:`sweep` and planned again; timers that have not fired move.
* a timer *fires* once: the worker that locks it (``FOR UPDATE SKIP LOCKED``, with its
  report) checks the current state, does the work (marks the round overdue, notifies) and
  sets ``fired_at`` in the same transaction. A stale timer (the round ended, the report
  waits for the reporter's answer, the deadline moved) does nothing.
* firing is set-based (:func:`fire_due`): a transaction claims a batch of due timers and
  acts on all of them in a fixed number of statements (``notify_many``), so a burst of
  deadlines costs a few statements per 200 timers, and workers share it batch by batch.
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
from service.calendar import (
    TimeUnit,
    WorkingCalendar,
    add_working_time,
    subtract_working_time,
)
from service.city import service as city
from service.config import Settings
from service.notifications.dispatch import Notice, notify, notify_many
from service.observability import SLA_LAG
from service.outbox.service import add_job, mark_keys_done
from service.readable import time_value
from service.reports import lifecycle
from service.reports.lifecycle.repository import holders
from service.reports.models import Report, ReportRound
from service.reports.states import OPEN_STATES
from service.sla import repository
from service.sla.models import TimerKind

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
    lifecycle.mark_planned(rnd)
    return pending


@dataclass(frozen=True)
class SweepResult:
    planned: int
    fired: int
    moderation: int
    rating_reminders: int = 0
    # Whether the firing batch was full: more may be due (the worker fires on).
    more_due: bool = False


# Timers fired per transaction: a crash loses at most one batch's uncommitted work, which
# the next pass claims again (nothing of it was committed, so nothing happens twice).
FIRE_BATCH = 200


async def sweep(
    session: AsyncSession, settings: Settings, now: datetime, batch: int = FIRE_BATCH
) -> SweepResult:
    """One pass of the safety net: plan what is unplanned, tell moderators about reports
    past their moderation deadline, fire one batch of what is due. Safe with many workers
    at once; the worker fires further batches (:func:`fire_due`) while they come full."""
    unplanned = await lifecycle.lock_unplanned_rounds(session, batch)
    for report, rnd in unplanned:
        await plan_round(session, settings, report, rnd)
    overdue = await repository.claim_moderation_overdue(session, now, batch)
    for report_id in overdue:
        await _moderation_overdue(session, report_id, now)
    fired = await fire_due(session, settings, now, batch)
    window = timedelta(days=settings.rating_window_days)
    reminders = await repository.claim_rating_reminders(
        session, now, now - window + RATING_REMINDER_BEFORE_END, batch
    )
    for report_id, number in reminders:
        await _rating_reminder(session, settings, report_id, number, now)
    return SweepResult(
        planned=len(unplanned),
        fired=fired.fired,
        moderation=len(overdue),
        rating_reminders=len(reminders),
        more_due=fired.claimed >= batch,
    )


# The reporter is reminded to rate this long before the rating window closes.
RATING_REMINDER_BEFORE_END = timedelta(days=2)


async def _rating_reminder(
    session: AsyncSession, settings: Settings, report_id: uuid.UUID, number: int, now: datetime
) -> None:
    report = await session.get(Report, report_id)
    if report is None or report.answered_at is None:
        return
    reporter = await session.get(User, report.reporter_id)
    if reporter is None:
        return
    until = report.answered_at + timedelta(days=settings.rating_window_days)
    calendar = await city.load_working_calendar(session, report.department_id)
    await notify(
        session,
        Notice(
            "rating_reminder",
            f"rating_reminder:{report.id}:{number}",
            "rating_reminder",
            {"code": report.tracking_code, "until": time_value(until, calendar.zone)},
            report.id,
        ),
        [reporter],
        now=now,
    )


@dataclass(frozen=True)
class FireResult:
    claimed: int
    fired: int
    # Whether the timer asked for first (``first``) was among those fired.
    first_fired: bool = False


async def fire_due(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    batch: int = FIRE_BATCH,
    first: uuid.UUID | None = None,
) -> FireResult:
    """Claim up to ``batch`` due timers (``first`` first, when given and still pending)
    and act on them set-wise: a
    few statements for the whole batch, whatever its size (the timers marked, the rounds
    and reports marked overdue, the timeline events, the notices with their deliveries,
    emails and jobs). Each claimed timer is decided as it always was: a timer of a round
    that is over is cancelled, one computed for another due time plans the round again, a
    reminder after the deadline is dropped; the rest fire."""
    claimed = []
    if first is not None:
        claimed = await repository.claim_due(session, now, 1, first)
    if batch > len(claimed):
        # SKIP LOCKED does not skip this transaction's own lock: ``first`` comes back again.
        seen = {timer.id for timer in claimed}
        others = await repository.claim_due(session, now, batch - len(claimed))
        claimed += [timer for timer in others if timer.id not in seen]
    if not claimed:
        return FireResult(0, 0)
    cancelled: list[repository.Claimed] = []
    moved: set[tuple[uuid.UUID, int]] = set()
    firing: list[repository.Claimed] = []
    for timer in claimed:
        if (
            timer.round_due_at is None
            or timer.round_ended_at is not None
            or timer.report_round != timer.round_number
            or timer.state not in OPEN_STATES
        ):
            cancelled.append(timer)  # the round is over: nothing is owed any more
        elif timer.due_basis != timer.round_due_at:
            moved.add((timer.report_id, timer.round_number))  # the deadline moved
        elif timer.kind is TimerKind.reminder and now >= timer.round_due_at:
            cancelled.append(timer)  # a reminder after the deadline is noise
        else:
            firing.append(timer)
    await repository.mark_cancelled(session, [timer.id for timer in cancelled], now)
    for report_id, number in sorted(moved):
        # The report is held since the claim; its round is changed under that lock.
        report = await lifecycle.lock(session, report_id)
        rnd = await lifecycle.round_of(session, report_id, number)
        if rnd is not None:
            await plan_round(session, settings, report, rnd)
    if firing:
        await repository.mark_fired(session, firing, now)
        for timer in firing:
            SLA_LAG.labels(str(timer.kind)).observe(max(0.0, (now - timer.fire_at).total_seconds()))
        await _act(session, firing, now)
    # Their deferred jobs have nothing left to do: the relay need not hand them to arq.
    await mark_keys_done(
        session, FIRE_JOB, [_job_key(timer.id, timer.fire_at) for timer in cancelled + firing], now
    )
    return FireResult(
        len(claimed), len(firing), first_fired=any(timer.id == first for timer in firing)
    )


def _job_key(timer_id: uuid.UUID, fire_at: datetime) -> str:
    return f"{timer_id}:{int(fire_at.timestamp())}"


class _Recipients:
    """Who is told, looked up once per batch for each (roles, department)."""

    def __init__(self, session: AsyncSession, assignees: dict[uuid.UUID, User]) -> None:
        self.session = session
        self.assignees = assignees
        self.cache: dict[tuple[tuple[Role, ...], uuid.UUID | None], list[User]] = {}
        self.dispatcher: tuple[uuid.UUID | None] | None = None

    async def people(
        self, roles: tuple[Role, ...], department_id: uuid.UUID | None = None
    ) -> list[User]:
        key = (roles, department_id)
        if key not in self.cache:
            self.cache[key] = await holders(self.session, roles, department_id)
        return self.cache[key]

    async def department(self, timer: repository.Claimed) -> list[User]:
        """Who works the report: its assignee, else the department's staff."""
        if timer.assignee_id is not None and timer.assignee_id in self.assignees:
            return [self.assignees[timer.assignee_id]]
        return await self.people((Role.staff,), timer.department_id)

    async def dispatcher_id(self) -> uuid.UUID | None:
        if self.dispatcher is None:
            dispatcher = await city.dispatcher_department(self.session)
            self.dispatcher = (dispatcher.id if dispatcher is not None else None,)
        return self.dispatcher[0]


async def _act(session: AsyncSession, timers: list[repository.Claimed], now: datetime) -> None:
    assignees = await repository.users(
        session, sorted({t.assignee_id for t in timers if t.assignee_id is not None})
    )
    recipients = _Recipients(session, assignees)
    breached: list[tuple[uuid.UUID, int]] = []
    events: list[lifecycle.SystemEvent] = []
    notices: list[tuple[Notice, list[User]]] = []
    for timer in timers:
        assert timer.round_due_at is not None  # a timer without its round is cancelled
        due = timer.round_due_at.isoformat()
        calendar = await city.load_working_calendar(session, timer.department_id)
        values: dict[str, object] = {
            "code": timer.tracking_code,
            "due": time_value(timer.round_due_at, calendar.zone),
            "department": timer.department_name or "",
            "level": timer.level,
        }
        key = f"{timer.kind.value}:{timer.report_id}:{timer.round_number}:{timer.level}"
        if timer.kind is TimerKind.reminder:
            told = await recipients.department(timer)
            notices.append(
                (Notice("sla_reminder", key, "sla_reminder", values, timer.report_id), told)
            )
            continue
        if timer.kind is TimerKind.breach:
            breached.append((timer.report_id, timer.round_number))
            events.append(
                _event(timer, "overdue", now, public=True, round=timer.round_number, due_at=due)
            )
            told = [
                *await recipients.department(timer),
                *await recipients.people((Role.supervisor,), timer.department_id),
            ]
            notices.append(
                (Notice("sla_breached", key, "sla_breached", values, timer.report_id), told)
            )
            continue
        # Escalations: level 2 to the parent department (or the dispatcher), 3 to the admins.
        if timer.level == 2:
            target = timer.parent_department_id or await recipients.dispatcher_id()
            told = (
                await recipients.people((Role.supervisor, Role.staff), target)
                if target is not None
                else []
            ) or await recipients.people((Role.admin,))
        else:
            told = await recipients.people((Role.admin,))
        events.append(
            _event(
                timer, "escalated", now, public=False, round=timer.round_number, level=timer.level
            )
        )
        notices.append(
            (Notice("sla_escalated", key, "sla_escalated", values, timer.report_id), told)
        )
    await lifecycle.mark_breached(session, breached, now)
    await lifecycle.add_system_events(session, events)
    await notify_many(session, notices, now=now)


def _event(
    timer: repository.Claimed, event_type: str, now: datetime, *, public: bool, **data: object
) -> lifecycle.SystemEvent:
    return lifecycle.SystemEvent(timer.report_id, event_type, now, public, dict(data))


async def _moderation_overdue(session: AsyncSession, report_id: uuid.UUID, now: datetime) -> None:
    report = await session.get(Report, report_id)
    if report is None:
        return
    moderators = await holders(session, (Role.moderator,))
    calendar = await city.load_working_calendar(session)
    due = time_value(report.moderation_due_at, calendar.zone) if report.moderation_due_at else ""
    await notify(
        session,
        Notice(
            "moderation_overdue",
            f"moderation:{report.id}",
            "moderation_overdue",
            {"code": report.tracking_code, "due": due, "level": 1},
            report.id,
        ),
        moderators,
        now=now,
    )

"""The SLA engine: the plan of a round on the working calendar, reminders, the breach and
the escalations, each exactly once, with the real worker and a moved clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.calendar import WorkingCalendar
from service.config import Settings
from service.languages import Language
from service.reports.models import Report, ReportEvent, ReportRound
from service.reports.states import ReportState
from service.sla.engine import plan
from service.sla.models import SlaTimer, TimerKind
from tests.conftest import Mailbox, RunWorker
from tests.factories import accept_report, bearer, file_report, make_user

TALLINN = ZoneInfo("Europe/Tallinn")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TALLINN)  # type: ignore[misc]


def test_the_plan_of_a_round_due_before_midsummer() -> None:
    # Opened Monday 16 June 2025, due Friday 27 June 16:00 (after Võidupüha and Jaanipäev).
    timers = plan(local(2025, 6, 16, 9), local(2025, 6, 27, 16), WorkingCalendar(), 2)
    assert [(t.kind, t.level, t.fire_at.astimezone(TALLINN)) for t in timers] == [
        (TimerKind.reminder, 1, local(2025, 6, 26, 16)),
        (TimerKind.reminder, 2, local(2025, 6, 27, 14)),
        (TimerKind.breach, 1, local(2025, 6, 27, 16)),
        (TimerKind.escalation, 2, local(2025, 7, 1, 16)),
        (TimerKind.escalation, 3, local(2025, 7, 3, 16)),
    ]
    # A round opened less than a working day before its deadline gets no first reminder.
    short = plan(local(2025, 6, 27, 9), local(2025, 6, 27, 16), WorkingCalendar(), 2)
    assert [(t.kind, t.level) for t in short][:2] == [
        (TimerKind.reminder, 2),
        (TimerKind.breach, 1),
    ]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _people(
    session: AsyncSession, settings: Settings, department_id: Any
) -> tuple[User, User, User]:
    staff = await make_user(session, settings, roles=((Role.staff, department_id),))
    supervisor = await make_user(session, settings, roles=((Role.supervisor, department_id),))
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    for user in (staff, supervisor, admin):
        user.language = Language.en
    await session.flush()
    return staff, supervisor, admin


async def _sweep(redis: Any, run_worker: RunWorker, clock: Callable[[], datetime]) -> None:
    """One SLA sweep, then a relay of what it wrote to the outbox (the emails)."""
    await redis.enqueue_job("sla_sweep")
    await run_worker(clock=clock)
    await run_worker(clock=clock)


async def test_breach_and_escalations_happen_once_each(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, resident))
    staff, supervisor, admin = await _people(session, settings, report.department_id)
    assert report.due_at is not None
    clock = Clock(datetime.now(UTC))

    await _sweep(redis, run_worker, clock)  # plans the round
    timers = (
        (await session.execute(select(SlaTimer).where(SlaTimer.report_id == report.id)))
        .scalars()
        .all()
    )
    assert {(t.kind, t.level) for t in timers} >= {
        (TimerKind.breach, 1),
        (TimerKind.escalation, 2),
        (TimerKind.escalation, 3),
    }
    assert all(t.fired_at is None for t in timers)
    mailbox.messages.clear()

    clock.now = report.due_at + timedelta(seconds=1)
    for _ in range(2):  # a second sweep (or a duplicate job) changes nothing
        await _sweep(redis, run_worker, clock)
    rnd = (
        await session.execute(
            select(ReportRound)
            .where(ReportRound.report_id == report.id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert rnd.breached_at == clock.now
    await session.refresh(report)
    assert report.breached_at is not None
    assert len(mailbox.to(staff.email)) == 1
    assert len(mailbox.to(supervisor.email)) == 1
    assert "overdue" in mailbox.to(supervisor.email)[0]["Subject"]
    assert mailbox.to(admin.email) == []
    overdue_events = await session.scalar(
        select(func.count())
        .select_from(ReportEvent)
        .where(ReportEvent.report_id == report.id, ReportEvent.type == "overdue")
    )
    assert overdue_events == 1

    # Far beyond both escalation intervals: level 2 and level 3 each fire once.
    clock.now = report.due_at + timedelta(days=30)
    for _ in range(2):
        await _sweep(redis, run_worker, clock)
    timers = (
        (
            await session.execute(
                select(SlaTimer)
                .where(SlaTimer.report_id == report.id)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    for timer in timers:
        if timer.kind == TimerKind.reminder:
            # Reminders whose time had passed when the deadline came are dropped, not sent.
            assert timer.cancelled_at is not None
            assert timer.fired_at is None
        else:
            assert timer.fired_at is not None
            assert timer.lag_seconds is not None
    subjects = [m["Subject"] for m in mailbox.to(admin.email)]
    assert len([s for s in subjects if "level 3" in s]) == 1
    # Level 2 went to the parent department (here nobody works there: to the admins).
    assert len([s for s in subjects if "level 2" in s]) == 1


async def test_a_paused_round_does_not_breach_and_a_moved_deadline_is_planned_again(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, resident))
    staff, _, _ = await _people(session, settings, report.department_id)
    assert report.due_at is not None
    clock = Clock(datetime.now(UTC))
    await _sweep(redis, run_worker, clock)
    # The department asked the reporter: the clock is paused at the due time.
    await session.execute(
        update(Report)
        .where(Report.id == report.id)
        .values(state=ReportState.awaiting_info, paused_at=clock.now)
    )
    clock.now = report.due_at + timedelta(hours=1)
    await _sweep(redis, run_worker, clock)
    assert mailbox.to(staff.email) == []
    # The reporter answered; the deadline moved three days on.
    new_due = report.due_at + timedelta(days=3)
    await session.execute(
        update(Report)
        .where(Report.id == report.id)
        .values(state=ReportState.in_progress, paused_at=None, due_at=new_due)
    )
    await session.execute(
        update(ReportRound).where(ReportRound.report_id == report.id).values(due_at=new_due)
    )
    await _sweep(redis, run_worker, clock)
    breach = (
        await session.execute(
            select(SlaTimer)
            .where(SlaTimer.report_id == report.id, SlaTimer.kind == TimerKind.breach)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert breach.fired_at is None
    assert breach.fire_at == new_due
    clock.now = new_due + timedelta(seconds=1)
    await _sweep(redis, run_worker, clock)
    assert len(mailbox.to(staff.email)) == 1


async def test_a_lost_job_is_caught_by_the_sweep(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, resident))
    staff, _, _ = await _people(session, settings, report.department_id)
    assert report.due_at is not None
    clock = Clock(report.due_at + timedelta(seconds=5))
    await _sweep(redis, run_worker, clock)  # plans and fires in one pass
    assert len(mailbox.to(staff.email)) == 1
    # Every job in Redis is lost; nothing is sent twice and nothing more is owed.
    await redis.flushdb()
    await _sweep(redis, run_worker, clock)
    assert len(mailbox.to(staff.email)) == 1


async def test_reports_not_moderated_in_time_are_flagged_once(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, resident)
    assert report.moderation_due_at is not None
    clock = Clock(report.moderation_due_at + timedelta(minutes=1))
    for _ in range(2):
        await _sweep(redis, run_worker, clock)
    letters = [m for m in mailbox.to(moderator.email) if report.tracking_code in m["Subject"]]
    assert len(letters) == 1


async def test_answered_reports_close_when_the_rating_window_passes(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, resident))
    answered_at = datetime.now(UTC) - timedelta(days=settings.rating_window_days, hours=1)
    await session.execute(
        update(Report)
        .where(Report.id == report.id)
        .values(state=ReportState.answered, answered_at=answered_at)
    )
    await session.execute(
        update(ReportRound)
        .where(ReportRound.report_id == report.id)
        .values(answered_at=answered_at)
    )
    await redis.enqueue_job("close_rated_out")
    await run_worker()
    await session.refresh(report)
    assert report.state == ReportState.closed


async def test_the_reporter_is_reminded_once_before_the_rating_window_closes(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    resident.language = Language.en
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, resident))
    answered_at = datetime.now(UTC)
    await session.execute(
        update(Report)
        .where(Report.id == report.id)
        .values(state=ReportState.answered, answered_at=answered_at)
    )
    early = Clock(answered_at + timedelta(days=1))
    await _sweep(redis, run_worker, early)
    assert [m for m in mailbox.to(resident.email) if "resolved" in m["Subject"]] == []
    # Two days before the window closes, and again later: one reminder.
    late = Clock(answered_at + timedelta(days=settings.rating_window_days - 1))
    for _ in range(2):
        await _sweep(redis, run_worker, late)
    reminders = [m for m in mailbox.to(resident.email) if "resolved" in m["Subject"]]
    assert len(reminders) == 1
    assert report.tracking_code in reminders[0]["Subject"]


async def test_a_deferred_job_fires_a_batch_led_by_its_timer_once_each(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    reports = [
        await accept_report(session, moderator, await file_report(session, resident))
        for _ in range(2)
    ]
    staff, supervisor, _ = await _people(session, settings, reports[0].department_id)
    clock = Clock(datetime.now(UTC))
    await _sweep(redis, run_worker, clock)  # plans both rounds
    breach = (
        await session.execute(
            select(SlaTimer).where(
                SlaTimer.report_id == reports[0].id, SlaTimer.kind == TimerKind.breach
            )
        )
    ).scalar_one()
    mailbox.messages.clear()
    clock.now = max(r.due_at for r in reports if r.due_at is not None) + timedelta(seconds=1)
    # The first report's job alone: it fires its own breach and the other one due, once each.
    await redis.enqueue_job("sla_fire", str(breach.id))
    await run_worker(clock=clock)
    await run_worker(clock=clock)  # the emails
    for report in reports:
        overdue = await session.scalar(
            select(func.count())
            .select_from(ReportEvent)
            .where(ReportEvent.report_id == report.id, ReportEvent.type == "overdue")
        )
        assert overdue == 1
    assert len(mailbox.to(supervisor.email)) == 2


async def test_the_rating_reminder_reads_the_city_clock_in_each_readers_language(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
    client: AsyncClient,
) -> None:
    # The window closes at 05:18 UTC on 5 December 2030: 07:18 in Tallinn. (After the real
    # clock, so that what the filing queued is due on the worker's moved clock.)
    closes = datetime(2030, 12, 5, 5, 18, tzinfo=UTC)
    answered_at = closes - timedelta(days=settings.rating_window_days)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    expected = {
        Language.et: "Hinnake vastust kuni 5. detsember 2030 kell 07:18;",
        Language.en: "Rate the answer until December 5, 2030 at 07:18;",
        Language.ru: "Оцените его до 5 декабря 2030\u202fг. в 07:18;",
    }
    residents: dict[Language, User] = {}
    for language in expected:
        resident = await make_user(session, settings)
        resident.language = language
        report = await accept_report(session, moderator, await file_report(session, resident))
        await session.execute(
            update(Report)
            .where(Report.id == report.id)
            .values(state=ReportState.answered, answered_at=answered_at)
        )
        residents[language] = resident
    await _sweep(redis, run_worker, Clock(closes - timedelta(days=1)))
    for language, text in expected.items():
        (reminder,) = [
            m
            for m in mailbox.to(residents[language].email)
            if m["Subject"].startswith(("Kas teie mure", "Was your report", "Решена ли"))
        ]
        assert text in reminder.get_content(), (language, reminder.get_content())
        # The inbox renders the same notice in the reader's language when it is read.
        reader = bearer(settings, residents[language])
        inbox = await client.get("/v1/me/notifications", headers=reader)
        assert inbox.status_code == 200, inbox.text
        bodies = [item["body"] for item in inbox.json()["items"]]
        assert any(text in body for body in bodies), (language, bodies)

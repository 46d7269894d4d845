"""How a round ends: the answer is published, the reporter says whether it solved the
problem, and the report closes, reopens or goes to the supervisor.

The reopen rule lives here: the reporter's "not resolved" (said now, not repeated) on an
answered report ends the round and opens the next one in the same department with a fresh
deadline (the reason's SLA from now), up to :data:`MAX_REOPENS` reopen rounds; after that
the report stays ``answered`` and is referred to the department's supervisors, who close it
(``close_referred``); the rating window does not. Any other answered report closes when its
rating window passes (``close_expired``), or at once when the reporter says it is solved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.calendar import add_working_time, working_time_between
from service.catalog.models import Reason
from service.city import service as city
from service.errors import Conflict
from service.reports.lifecycle import notices, repository, rounds
from service.reports.lifecycle.timeline import apply_transition, record_event
from service.reports.models import Report, ReportEvent, ReportRound
from service.reports.states import Action, ReportState

MAX_REOPENS = 2


class Consequence(StrEnum):
    """What the reporter's verdict did to the report."""

    closed = "closed"
    reopened = "reopened"
    referred_to_supervisor = "referred_to_supervisor"


async def publish_answer(
    session: AsyncSession,
    report: Report,
    actor: Actor | None,
    now: datetime,
    *,
    event_data: dict[str, Any],
    notice_values: dict[str, object],
    notice_key: str,
) -> ReportEvent:
    """The answer of the current round is published: the report is answered, the round
    records when, how much working time it took (pauses excluded) and whether it was on
    time, and the reporter (invited to rate), supporters and subscribers are told (a legal
    notice). ``notice_values`` fill the answer's templates."""
    event = apply_transition(
        session, report, Action.answer, actor, now, round=report.round, **event_data
    )
    rnd = await rounds.current_round(session, report)
    calendar = await city.load_working_calendar(session, rnd.department_id)
    worked = working_time_between(rnd.opened_at, now, calendar).total_seconds()
    rnd.answered_at = now
    rnd.answer_working_seconds = max(0, int(worked) - rnd.paused_working_seconds)
    rnd.on_time = now <= rnd.due_at
    report.answered_at = now
    audience = await repository.audience(session, report)
    await notices.tell(
        session,
        report,
        "answer_published",
        notice_key,
        audience,
        now=now,
        template="answer_published",
        template_for={report.reporter_id: "answer_published_reporter"},
        **notice_values,
    )
    return event


async def close(
    session: AsyncSession,
    report: Report,
    actor: Actor | None,
    now: datetime,
    rnd: ReportRound | None = None,
    **data: Any,
) -> ReportEvent:
    """answered (or awaiting_info) → closed: the round ends."""
    event = apply_transition(session, report, Action.close, actor, now, round=report.round, **data)
    report.closed_at = now
    (rnd or await rounds.current_round(session, report)).ended_at = now
    return event


async def reporter_verdict(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    now: datetime,
    *,
    resolved: bool,
    said_before: bool,
) -> Consequence | None:
    """The reporter's rating of the current round's answer acts on an answered report:
    resolved closes it; "not resolved" (unless ``said_before`` in this round) reopens it or,
    after the last round allowed, refers it to the supervisor. Call after the rating's own
    timeline event, so that the event comes first."""
    if report.state != ReportState.answered:
        return None
    rnd = await rounds.current_round(session, report)
    if resolved:
        await close(session, report, actor, now, rnd, by="reporter")
        return Consequence.closed
    if said_before:
        return None
    if report.round <= MAX_REOPENS:
        await _reopen(session, report, rnd, actor, now)
        return Consequence.reopened
    await _refer(session, report, rnd, actor, now)
    return Consequence.referred_to_supervisor


async def _reopen(
    session: AsyncSession, report: Report, rnd: ReportRound, actor: Actor, now: datetime
) -> None:
    """End the round and open the next one in the same department, due after the reason's
    SLA from now; the department (the assignee, else its staff) and its supervisors are
    told."""
    reason = await session.get(Reason, report.reason_id)
    assert reason is not None
    calendar = await city.load_working_calendar(session, report.department_id)
    due = add_working_time(now, reason.sla_amount, reason.sla_unit, calendar)
    rnd.ended_at = now
    report.round += 1
    rounds.open_round(session, report, now, due)
    apply_transition(
        session, report, Action.reopen, actor, now, round=report.round, due_at=due.isoformat()
    )
    people = await notices.department_people(session, report)
    people += await notices.department_heads(session, report.department_id)
    await notices.tell(
        session,
        report,
        "report_reopened",
        str(report.round),
        people,
        now=now,
        round=report.round,
        due=await rounds.due_value(session, report),
    )


async def _refer(
    session: AsyncSession, report: Report, rnd: ReportRound, actor: Actor, now: datetime
) -> None:
    """The last round allowed is still not resolved: the report goes to the supervisors."""
    supervisors = await notices.department_heads(session, report.department_id)
    rnd.referred_at = now
    record_event(
        session,
        report,
        actor,
        "referred_to_supervisor",
        now,
        public=True,
        round=report.round,
        supervisors=len(supervisors),
    )
    await notices.tell(
        session,
        report,
        "report_referred",
        str(report.round),
        supervisors,
        now=now,
        template="report_referred",
        rounds=report.round,
    )


async def close_referred(
    session: AsyncSession, report: Report, actor: Actor, note: str, now: datetime
) -> None:
    """A supervisor closes a report referred to them, with a public closing word (409
    for any other report)."""
    rnd = await repository.round_of(session, report.id, report.round)
    if report.state != ReportState.answered or rnd is None or rnd.referred_at is None:
        raise Conflict(
            "Only a report referred to the supervisor is closed this way.",
            current_state=str(report.state),
        )
    await close(session, report, actor, now, rnd, by="supervisor", note=note)


async def close_expired(
    session: AsyncSession, answered_before: datetime, now: datetime, limit: int
) -> list[Report]:
    """Close answered reports whose round was answered before ``answered_before`` (their
    rating window has passed), except those referred to the supervisor; at most ``limit``
    (call again while it returns ``limit``). Safe from several workers at once (locked rows
    are skipped) and again (closed reports are not found twice)."""
    closed = []
    for report, rnd in await repository.lock_expired_answers(session, answered_before, limit):
        await close(session, report, None, now, rnd, by="rating_window")
        closed.append(report)
    return closed

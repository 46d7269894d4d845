"""Ratings of answers, and what the reporter's rating does to the report.

* The reporter and supporters rate the current round's published answer (1–5, resolved or
  not, a comment), once each per round; a second rating in the window edits the first.
* Only the reporter's rating acts. ``resolved: true`` closes the report. ``resolved: false``
  reopens it: the round ends, a new round starts in the same department with a fresh
  deadline (the reason's SLA from now), and the history stays.
* After :data:`MAX_REOPENS` reopen rounds, a further "not resolved" does not reopen: the
  report stays ``answered`` and goes to the department's supervisor (an event on the
  timeline and an email to the supervisors, or to those of the nearest department above
  that has any). Such a report is not closed by the rating window: a supervisor closes it
  with a closing word (:func:`close_referred`), or the reporter, within the window,
  changes their rating to resolved.
* An answered report nobody rated as unresolved closes when the window passes
  (:func:`close_expired`, run by the worker).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.calendar import add_working_time
from service.catalog.models import Reason
from service.city import service as city
from service.config import Settings, get_settings
from service.errors import Conflict, Forbidden, NotFound
from service.feedback import repository, templates
from service.feedback.models import ReportRating
from service.feedback.schemas import RatingCreate, RatingView, ReferralClose
from service.mail.service import email_user
from service.queues.access import Power, require_power
from service.reports import repository as reports
from service.reports.access import check_visible
from service.reports.lifecycle import apply_transition, open_round, record_event
from service.reports.models import Report, ReportRound
from service.reports.states import Action, ReportState

MAX_REOPENS = 2
RATEABLE_STATES = frozenset({ReportState.answered, ReportState.closed})


def rating_view(
    rating: ReportRating, report: Report, window_ends: datetime, consequence: str | None
) -> RatingView:
    return RatingView(
        report_id=rating.report_id,
        round=rating.round_number,
        score=rating.score,
        resolved=rating.resolved,
        comment=rating.comment,
        by_reporter=rating.by_reporter,
        created_at=rating.created_at,
        updated_at=rating.updated_at,
        rating_window_ends_at=window_ends,
        report_state=report.state,
        consequence=consequence,
    )


async def _answered_round(
    session: AsyncSession, report: Report, now: datetime, settings: Settings
) -> tuple[ReportRound, datetime]:
    """The current round and the end of its rating window; 409 when there is nothing to
    rate or the window has passed."""
    rnd = await repository.round_of(session, report.id, report.round)
    if report.state not in RATEABLE_STATES or rnd is None or rnd.answered_at is None:
        raise Conflict(
            f"The report is {report.state}: there is no answer to rate in this round.",
            current_state=str(report.state),
        )
    window_ends = rnd.answered_at + timedelta(days=settings.rating_window_days)
    if now >= window_ends:
        raise Conflict(
            f"The answer could be rated until {window_ends.isoformat()}.",
            reason="rating_window_closed",
            rating_window_ends_at=window_ends.isoformat(),
        )
    return rnd, window_ends


async def rate(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: RatingCreate,
    now: datetime,
    settings: Settings,
) -> tuple[RatingView, bool]:
    """Rate the current round's answer, or change one's rating of it; returns the rating
    and whether it is new. The reporter's rating closes, reopens or refers the report."""
    report = await reports.lock(session, report_id)
    check_visible(actor, report)
    by_reporter = report.reporter_id == actor.user_id
    if not by_reporter and not await repository.is_supporter(session, report.id, actor.user_id):
        raise Forbidden(
            "Only the reporter and supporters of a report rate its answer.",
            reason="not_reporter_or_supporter",
        )
    rnd, window_ends = await _answered_round(session, report, now, settings)
    rating = await repository.rating_of(session, report.id, report.round, actor.user_id)
    before = rating.resolved if rating is not None else None
    if (
        by_reporter
        and report.state == ReportState.closed
        and not body.resolved
        and before is not False
    ):
        raise Conflict(
            "The report is closed; it can no longer be marked unresolved.",
            current_state=str(report.state),
        )
    created = rating is None
    if rating is None:
        rating = ReportRating(
            report_id=report.id,
            round_number=report.round,
            user_id=actor.user_id,
            by_reporter=by_reporter,
            score=body.score,
            resolved=body.resolved,
            comment=body.comment,
            created_at=now,
            updated_at=now,
        )
        session.add(rating)
    else:
        rating.score, rating.resolved, rating.comment = body.score, body.resolved, body.comment
        rating.updated_at = now
    record_event(
        session,
        report,
        actor,
        "rating" if by_reporter else "supporter_rating",
        now,
        public=by_reporter,
        round=report.round,
        score=body.score,
        resolved=body.resolved,
        edited=not created,
    )
    consequence = None
    if by_reporter and report.state == ReportState.answered:
        if body.resolved:
            await _close(session, report, rnd, actor, now, by="reporter")
            consequence = "closed"
        elif before is not False:  # said now, not repeated
            if report.round <= MAX_REOPENS:
                await _reopen(session, report, rnd, actor, now)
                consequence = "reopened"
            else:
                await _refer(session, report, actor, now)
                consequence = "referred_to_supervisor"
    await session.flush()
    return rating_view(rating, report, window_ends, consequence), created


async def my_rating(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, settings: Settings
) -> RatingView:
    """The caller's rating of the current round (404 when they have not rated it)."""
    report = await reports.get(session, report_id)
    if report is None:
        raise NotFound("No such report.")
    check_visible(actor, report)
    rating = await repository.rating_of(session, report.id, report.round, actor.user_id)
    rnd = await repository.round_of(session, report.id, report.round)
    if rating is None or rnd is None or rnd.answered_at is None:
        raise NotFound("You have not rated this round's answer.")
    window_ends = rnd.answered_at + timedelta(days=settings.rating_window_days)
    return rating_view(rating, report, window_ends, None)


async def _close(
    session: AsyncSession,
    report: Report,
    rnd: ReportRound,
    actor: Actor | None,
    now: datetime,
    **data: str,
) -> None:
    apply_transition(session, report, Action.close, actor, now, round=report.round, **data)
    report.closed_at = now
    rnd.ended_at = now
    await templates.on_state_entered(session, report, now)


async def _reopen(
    session: AsyncSession, report: Report, rnd: ReportRound, actor: Actor, now: datetime
) -> None:
    """End the round and open the next one in the same department, due after the reason's
    SLA from now."""
    reason = await session.get(Reason, report.reason_id)
    assert reason is not None
    calendar = await city.load_working_calendar(session, report.department_id)
    due = add_working_time(now, reason.sla_amount, reason.sla_unit, calendar)
    rnd.ended_at = now
    report.round += 1
    open_round(session, report, now, due)
    apply_transition(
        session, report, Action.reopen, actor, now, round=report.round, due_at=due.isoformat()
    )
    await templates.on_state_entered(session, report, now)


async def _refer(session: AsyncSession, report: Report, actor: Actor, now: datetime) -> None:
    """The last round allowed is still not resolved: the report goes to the supervisor."""
    supervisors = await repository.nearest_supervisors(session, report.department_id)
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
    for supervisor in supervisors:
        await email_user(
            session, supervisor, "report_referred", code=report.tracking_code, rounds=report.round
        )


async def close_referred(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: ReferralClose,
    now: datetime,
) -> Report:
    """A supervisor closes a report referred to them, with a public closing word."""
    report = await reports.lock(session, report_id)
    await require_power(session, actor, report.department_id, at_least=Power.supervisor)
    if report.state != ReportState.answered or not await repository.referred(
        session, report.id, report.round
    ):
        raise Conflict(
            "Only a report referred to the supervisor is closed this way.",
            current_state=str(report.state),
        )
    rnd = await repository.round_of(session, report.id, report.round)
    assert rnd is not None
    await _close(session, report, rnd, actor, now, by="supervisor", note=body.note)
    await session.flush()
    return report


async def close_expired(
    session: AsyncSession,
    now: datetime,
    *,
    window_days: int | None = None,
    limit: int = 500,
) -> int:
    """Close answered reports whose rating window (``MEIELINN_RATING_WINDOW_DAYS`` unless
    ``window_days``) has passed, except those referred to the supervisor; returns how many,
    at most ``limit`` (call again while it returns ``limit``). Safe to run from several
    workers at once (locked rows are skipped) and again (closed reports are not found
    twice)."""
    days = window_days if window_days is not None else get_settings().rating_window_days
    cutoff = now - timedelta(days=days)
    closed = 0
    for report in await repository.lock_expired_answers(session, cutoff, limit):
        rnd = await repository.round_of(session, report.id, report.round)
        assert rnd is not None
        await _close(session, report, rnd, None, now, by="rating_window")
        closed += 1
    await session.flush()
    return closed

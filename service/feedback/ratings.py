"""Ratings of answers.

* The reporter and supporters rate the current round's published answer (1–5, resolved or
  not, a comment), once each per round; a second rating in the window edits the first.
* Only the reporter's rating acts, through the life cycle's reopen rule
  (``lifecycle.reporter_verdict``): resolved closes the report; "not resolved" reopens it
  (a new round in the same department with a fresh deadline) or, after
  ``lifecycle.MAX_REOPENS`` reopen rounds, refers it to the department's supervisors, who
  close it with a closing word (:func:`close_referred`) unless the reporter, within the
  window, changes their rating to resolved.
* An answered report nobody rated as unresolved closes when the window passes
  (:func:`close_expired`, run by the worker).

The rating's timeline event is written before what it causes, so the timeline reads
"rating, then reopen".
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.calendar import zoned_iso
from service.city import service as city
from service.config import Settings, get_settings
from service.errors import Conflict, Forbidden, NotFound
from service.feedback import repository, templates
from service.feedback.models import ReportRating
from service.feedback.schemas import RatingCreate, RatingView, ReferralClose, ReferredReport
from service.queues.access import Power, require_power
from service.queues.queue import queue_departments
from service.readable import error_time
from service.reports import lifecycle
from service.reports import repository as reports
from service.reports.access import STAFF, check_visible
from service.reports.models import Report, ReportRound
from service.reports.states import ReportState
from service.reports.views import to_view

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
    rnd = await lifecycle.round_of(session, report.id, report.round)
    if report.state not in RATEABLE_STATES or rnd is None or rnd.answered_at is None:
        raise Conflict(
            f"The report is {report.state}: there is no answer to rate in this round.",
            current_state=str(report.state),
        )
    window_ends = rnd.answered_at + timedelta(days=settings.rating_window_days)
    if now >= window_ends:
        zone = await city.city_timezone(session)
        raise Conflict(
            f"The answer could be rated until {error_time(window_ends, zone)}.",
            reason="rating_window_closed",
            rating_window_ends_at=zoned_iso(window_ends, zone),
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
    report = await lifecycle.lock(session, report_id)
    check_visible(actor, report)
    by_reporter = report.reporter_id == actor.user_id
    if not by_reporter and not await repository.is_supporter(session, report.id, actor.user_id):
        raise Forbidden(
            "Only the reporter and supporters of a report rate its answer.",
            reason="not_reporter_or_supporter",
        )
    _, window_ends = await _answered_round(session, report, now, settings)
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
    lifecycle.record_event(
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
    if by_reporter:
        consequence = await lifecycle.reporter_verdict(
            session, report, actor, now, resolved=body.resolved, said_before=before is False
        )
        if consequence in (lifecycle.Consequence.closed, lifecycle.Consequence.reopened):
            await templates.on_state_entered(session, report, now)
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
    rnd = await lifecycle.round_of(session, report.id, report.round)
    if rating is None or rnd is None or rnd.answered_at is None:
        raise NotFound("You have not rated this round's answer.")
    window_ends = rnd.answered_at + timedelta(days=settings.rating_window_days)
    return rating_view(rating, report, window_ends, None)


async def close_referred(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: ReferralClose,
    now: datetime,
) -> Report:
    """A supervisor closes a report referred to them, with a public closing word."""
    report = await lifecycle.lock(session, report_id)
    await require_power(session, actor, report.department_id, at_least=Power.supervisor)
    await lifecycle.close_referred(session, report, actor, body.note, now)
    await templates.on_state_entered(session, report, now)
    await session.flush()
    return report


async def referred_reports(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    *,
    language: str,
    now: datetime,
    limit: int = 100,
) -> list[ReferredReport]:
    """Reports referred to the supervisors of the department and of those below it that the
    caller supervises, waiting to be closed (:func:`close_referred`), the oldest referral
    first. For supervisors (403 for others, 404 for no such department); like a queue, the
    list names the reporter by id only."""
    await city.get_department(session, department_id)
    await require_power(session, actor, department_id, at_least=Power.supervisor, hide=False)
    departments = await queue_departments(session, actor, department_id, subtree=True)
    rows = await repository.referred_rows(session, departments, limit)
    return [
        ReferredReport(
            report=to_view(row, STAFF, language, now, contact=False),
            referred_at=row.referred_at,
        )
        for row in rows
    ]


async def close_expired(
    session: AsyncSession,
    now: datetime,
    *,
    window_days: int | None = None,
    limit: int = 500,
) -> int:
    """Close answered reports whose rating window (``MEIELINN_RATING_WINDOW_DAYS`` unless
    ``window_days``) has passed, except those referred to the supervisor; returns how many,
    at most ``limit`` (call again while it returns ``limit``)."""
    days = window_days if window_days is not None else get_settings().rating_window_days
    closed = await lifecycle.close_expired(session, now - timedelta(days=days), now, limit)
    for report in closed:
        await templates.on_state_entered(session, report, now)
    await session.flush()
    return len(closed)

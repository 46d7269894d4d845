"""Support ("me too") and subscriptions: one of each per person per report, counted on the
report; supporting also subscribes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import Conflict, NotFound
from service.reports import repository
from service.reports.models import Report, ReportSubscription, ReportSupport
from service.reports.schemas import Engagement
from service.reports.states import ReportState, is_public

Kind = type[ReportSupport] | type[ReportSubscription]


async def engagement(session: AsyncSession, actor: Actor, report_id: uuid.UUID) -> Engagement:
    """The caller's support and subscription of a report, with its counts."""
    supporters, subscribers = await repository.refresh_counts(session, report_id)
    supporting, subscribed = await repository.is_engaged(session, report_id, actor.user_id)
    return Engagement(
        supporting=supporting,
        subscribed=subscribed,
        supporters_count=supporters,
        subscribers_count=subscribers,
    )


async def set_engagement(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    kind: Kind,
    on: bool,
    now: datetime,
) -> Engagement:
    """Support or subscribe (idempotent), or undo it, on a public report."""
    report = await repository.get(session, report_id)
    if report is None or not is_public(report.state, report.accepted_at):
        raise NotFound("No such report.")
    if on and report.state == ReportState.duplicate:
        raise Conflict(
            "This report was merged into another; support that one.",
            duplicate_of=str(report.duplicate_of_id),
        )
    if kind is ReportSupport and report.reporter_id == actor.user_id:
        raise Conflict("You filed this report; support counts other people.")
    kinds: list[Kind] = [kind]
    if on and kind is ReportSupport:
        kinds.append(ReportSubscription)
    for model in kinds:
        await repository.set_engaged(session, model, report.id, actor.user_id, on, now)
    return await engagement(session, actor, report.id)


async def merge_engagement(
    session: AsyncSession, source: Report, target: Report, now: datetime
) -> None:
    """Move the supporters and subscribers of ``source`` to ``target``; the reporter of
    ``source`` becomes a supporter and subscriber of ``target`` (unless they filed it)."""
    await repository.move_engagement(session, source, target, now)

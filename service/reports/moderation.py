"""Moderation: the queue of submitted reports, accepting (optionally correcting and routing
again), rejecting, marking duplicates, and doing several at once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.auth.models import User
from service.catalog.models import Reason
from service.city import service as city
from service.errors import AppError, Conflict, InvalidInput
from service.notifications.service import email_user
from service.pagination import keyset_page
from service.reports import service as reports
from service.reports.models import Report
from service.reports.schemas import (
    AcceptRequest,
    BulkItem,
    BulkRequest,
    QueueItem,
    RejectRequest,
)
from service.reports.states import Action, ReportState, transition
from service.sla.calendar import add_working_time


async def queue(
    session: AsyncSession,
    actor: Actor,
    *,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[QueueItem], str | None]:
    """Submitted reports, oldest first (keyset on submitted_at, id)."""
    query = reports._view_select().where(col(Report.state) == ReportState.submitted)
    rows, next_cursor = await keyset_page(
        session,
        query,
        col(Report.submitted_at),
        col(Report.id),
        cursor=cursor,
        limit=limit,
        ascending=True,
        key=lambda row: (row.Report.submitted_at, row.Report.id),
    )
    items = [
        QueueItem(
            report=reports._to_view(row, reports.STAFF, language, now),
            moderation_due_at=row.Report.moderation_due_at,
            overdue=row.Report.moderation_due_at is not None and row.Report.moderation_due_at < now,
        )
        for row in rows
    ]
    return items, next_cursor


async def _notify_reporter(
    session: AsyncSession, report: Report, template: str, **values: object
) -> None:
    reporter = await session.get(User, report.reporter_id)
    if reporter is None or reporter.disabled_at is not None:
        return
    await email_user(session, reporter, template, code=report.tracking_code, **values)


async def accept(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: AcceptRequest,
    now: datetime,
) -> Report:
    report = await reports.lock_report(session, report_id)
    transition(report.state, Action.accept)
    corrections: dict[str, Any] = {}
    reason = await session.get(Reason, body.reason_id or report.reason_id)
    if reason is None:
        raise InvalidInput("No such reason.", field="reason_id")
    if body.reason_id is not None and body.reason_id != report.reason_id:
        if not reason.active:
            raise InvalidInput("This reason is no longer in use.", field="reason_id")
        corrections["reason"] = {"from": str(report.reason_id), "to": str(reason.id)}
        report.reason_id, report.category_id = reason.id, reason.category_id
        report.attributes = {}  # the old reason's attributes mean nothing to the new one
    lat = lon = None
    if body.lat is not None and body.lon is not None:
        lat, lon = body.lat, body.lon
        corrections["location"] = {"lat": lat, "lon": lon}
        report.location = from_shape(Point(lon, lat), srid=4326)
    if corrections:
        if lat is None:
            lat, lon = (
                await session.execute(
                    select(func.ST_Y(Report.location), func.ST_X(Report.location)).where(
                        col(Report.id) == report.id
                    )
                )
            ).one()
        assert lat is not None
        assert lon is not None
        decision = await city.route(
            session, reason.id, lat, lon, inside_city="location" in corrections
        )
        if "location" in corrections:
            report.district_id = decision.district_id
        if decision.department_id != report.department_id:
            corrections["department"] = {
                "from": str(report.department_id),
                "to": str(decision.department_id),
            }
        report.department_id = decision.department_id
        report.building_id = decision.building_id
    calendar = await city.load_working_calendar(session, report.department_id)
    report.accepted_at = now
    report.due_at = add_working_time(now, reason.sla_amount, reason.sla_unit, calendar)
    reports.apply_transition(
        session,
        report,
        Action.accept,
        actor,
        now,
        due_at=report.due_at.isoformat(),
        department_id=str(report.department_id),
        **({"corrections": corrections} if corrections else {}),
    )
    if body.note:
        # A moderator's note is for the department, not for the public timeline.
        reports.record_event(session, report, actor, "note", now, public=False, text=body.note)
    await _notify_reporter(session, report, "report_accepted", due=report.due_at.date().isoformat())
    await session.flush()
    return report


async def reject(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, body: RejectRequest, now: datetime
) -> Report:
    report = await reports.lock_report(session, report_id)
    reports.apply_transition(
        session, report, Action.reject, actor, now, code=body.code.value, text=body.text
    )
    report.reject_code, report.reject_text = body.code.value, body.text
    await _notify_reporter(session, report, "report_rejected", reason=body.text)
    await session.flush()
    return report


async def mark_duplicate(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, original_id: uuid.UUID, now: datetime
) -> Report:
    if report_id == original_id:
        raise InvalidInput("A report cannot duplicate itself.", field="of")
    # Lock both in id order, so two moderators merging a pair crosswise cannot deadlock.
    first, second = sorted((report_id, original_id))
    locked = {
        first: await reports.lock_report(session, first),
        second: await reports.lock_report(session, second),
    }
    report, original = locked[report_id], locked[original_id]
    if original.state in (
        ReportState.duplicate,
        ReportState.rejected,
        ReportState.withdrawn,
        ReportState.draft,
    ):
        raise Conflict(
            f"The original report is {original.state}; merge into a live report.",
            current_state=str(original.state),
        )
    reports.apply_transition(
        session,
        report,
        Action.mark_duplicate,
        actor,
        now,
        duplicate_of=str(original.id),
        tracking_code=original.tracking_code,
    )
    report.duplicate_of_id = original.id
    await reports.merge_engagement(session, report, original, now)
    reports.record_event(
        session,
        original,
        actor,
        "merged",
        now,
        public=True,
        merged_report=str(report.id),
        tracking_code=report.tracking_code,
    )
    await _notify_reporter(session, report, "report_duplicate", original=original.tracking_code)
    await session.flush()
    return report


async def bulk(
    session: AsyncSession, actor: Actor, body: BulkRequest, now: datetime
) -> list[BulkItem]:
    """Each report on its own: one failing (say, already accepted) does not stop the rest."""
    results = []
    for report_id in body.ids:
        try:
            async with session.begin_nested():
                if body.action == "accept":
                    report = await accept(session, actor, report_id, AcceptRequest(), now)
                else:
                    assert body.code is not None
                    assert body.text is not None
                    report = await reject(
                        session,
                        actor,
                        report_id,
                        RejectRequest(code=body.code, text=body.text),
                        now,
                    )
            results.append(BulkItem(id=report_id, status=200, state=report.state))
        except AppError as exc:
            results.append(BulkItem(id=report_id, status=exc.status, detail=exc.detail))
    return results

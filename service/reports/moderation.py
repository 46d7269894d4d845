"""Moderation: the queue of submitted reports, accepting (optionally correcting and routing
again), rejecting, marking duplicates, and doing several at once.

Every decision names the version of the report the moderator saw; when the reporter edited
it since, the decision is refused with 412 and the report stays in the queue.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.service import record as audit
from service.auth.actor import Actor
from service.auth.models import User
from service.calendar import add_working_time
from service.catalog.models import Reason
from service.city import service as city
from service.errors import AppError, Conflict, InvalidInput
from service.notifications.dispatch import Notice, notify
from service.pagination import keyset_page
from service.readable import time_value
from service.reports import repository
from service.reports.access import STAFF
from service.reports.engagement import merge_engagement
from service.reports.lifecycle import apply_transition, check_version, open_round, record_event
from service.reports.models import Report
from service.reports.schemas import (
    AcceptRequest,
    BulkItem,
    BulkRequest,
    DuplicateRequest,
    QueueItem,
    RejectRequest,
)
from service.reports.states import Action, ReportState, transition
from service.reports.views import to_view


async def queue(
    session: AsyncSession,
    *,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[QueueItem], str | None]:
    """Submitted reports, oldest first (keyset on submitted_at, id)."""
    query = repository.view_select().where(col(Report.state) == ReportState.submitted)
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
            report=to_view(row, STAFF, language, now, contact=False),
            moderation_due_at=row.Report.moderation_due_at,
            overdue=row.Report.moderation_due_at is not None and row.Report.moderation_due_at < now,
        )
        for row in rows
    ]
    return items, next_cursor


async def _notify_reporter(
    session: AsyncSession, report: Report, template: str, now: datetime, **values: object
) -> None:
    """Tell the reporter of a moderation decision: once per report and decision."""
    reporter = await session.get(User, report.reporter_id)
    if reporter is None:
        return
    notice = Notice(
        event_type=template,
        event_key=f"{template}:{report.id}",
        template=template,
        values={"code": report.tracking_code, **values},
        report_id=report.id,
    )
    await notify(session, notice, [reporter], now=now)


async def accept(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: AcceptRequest,
    now: datetime,
    *,
    version: int | None,
) -> Report:
    """Accept a submitted report: the SLA clock starts. A corrected reason or place routes
    it again."""
    report = await repository.lock(session, report_id)
    transition(report.state, Action.accept)
    check_version(report, version)
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
    if body.lat is not None and body.lon is not None:
        corrections["location"] = {"lat": body.lat, "lon": body.lon}
    if corrections:
        if "location" in corrections:
            lat, lon = body.lat, body.lon
        else:
            lat, lon = await repository.point_of(session, report.id)
        assert lat is not None
        assert lon is not None
        decision = await city.route(
            session, reason.id, lat, lon, inside_city="location" in corrections
        )
        if "location" in corrections:
            report.location = from_shape(Point(lon, lat), srid=4326)
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
    open_round(
        session, report, now, add_working_time(now, reason.sla_amount, reason.sla_unit, calendar)
    )
    assert report.due_at is not None
    apply_transition(
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
        record_event(session, report, actor, "note", now, public=False, text=body.note)
    await _notify_reporter(
        session, report, "report_accepted", now, due=time_value(report.due_at, calendar.zone)
    )
    await session.flush()
    return report


async def reject(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: RejectRequest,
    now: datetime,
    *,
    version: int | None,
) -> Report:
    report = await repository.lock(session, report_id)
    transition(report.state, Action.reject)
    check_version(report, version)
    apply_transition(
        session, report, Action.reject, actor, now, code=body.code.value, text=body.text
    )
    report.reject_code, report.reject_text = body.code.value, body.text
    await _notify_reporter(session, report, "report_rejected", now, reason=body.text)
    await session.flush()
    return report


LIVE_ORIGINAL_STATES = frozenset(
    {
        ReportState.submitted,
        ReportState.accepted,
        ReportState.in_progress,
        ReportState.awaiting_info,
        ReportState.answered,
        ReportState.reopened,
        ReportState.transferred,
        ReportState.closed,
    }
)


async def _check_same_problem(
    session: AsyncSession, report: Report, original: Report, override: str | None
) -> float:
    """Two reports can be one problem: the same category (a related reason) and within the
    larger duplicate radius of their reasons. Returns the distance in metres. With an
    ``override`` (the moderator's justification) the checks are skipped; the caller logs it."""
    distance = await repository.distance_m(session, report.id, original.id)
    if override is not None:
        return distance
    if report.category_id != original.category_id:
        raise Conflict(
            "The reports are about unrelated problems (different categories); give an "
            "override with a justification if they really are the same.",
            reason="unrelated_reasons",
        )
    reasons = [await session.get(Reason, rid) for rid in {report.reason_id, original.reason_id}]
    radius = max(r.duplicate_radius_m for r in reasons if r is not None)
    if distance > radius:
        raise Conflict(
            f"The reports are {distance:.0f} m apart, beyond the duplicate radius of "
            f"{radius} m; give an override with a justification if they really are the same.",
            reason="too_far_apart",
            distance_m=round(distance, 1),
            radius_m=radius,
        )
    return distance


async def mark_duplicate(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: DuplicateRequest,
    now: datetime,
    *,
    version: int | None,
) -> Report:
    """Merge ``report_id`` into ``body.of``: its supporters, subscribers and reporter move
    over. The original's public timeline names the merged report only if a moderator had
    let that one through before (an unreviewed report is never named in public)."""
    if report_id == body.of:
        raise InvalidInput("A report cannot duplicate itself.", field="of")
    report, original = await repository.lock_pair(session, report_id, body.of)
    transition(report.state, Action.mark_duplicate)
    check_version(report, version)
    if original.state not in LIVE_ORIGINAL_STATES:
        raise Conflict(
            f"The original report is {original.state}; merge into a live report.",
            current_state=str(original.state),
        )
    distance = await _check_same_problem(session, report, original, body.override)
    if body.override is not None:
        await audit(
            session,
            "report.duplicate_override",
            actor_user_id=actor.user_id,
            ip=actor.ip,
            subject_type="report",
            subject_id=report.id,
            original=str(original.id),
            distance_m=round(distance, 1),
            justification=body.override,
        )
    reviewed = report.accepted_at is not None
    apply_transition(
        session,
        report,
        Action.mark_duplicate,
        actor,
        now,
        duplicate_of=str(original.id),
        tracking_code=original.tracking_code,
        **({"override": body.override} if body.override is not None else {}),
    )
    report.duplicate_of_id = original.id
    await merge_engagement(session, report, original, now)
    record_event(
        session,
        original,
        actor,
        "merged",
        now,
        public=True,
        **(
            {"merged_report": str(report.id), "tracking_code": report.tracking_code}
            if reviewed
            else {}
        ),
    )
    if not reviewed:
        record_event(
            session,
            original,
            actor,
            "merged_detail",
            now,
            public=False,
            merged_report=str(report.id),
            tracking_code=report.tracking_code,
        )
    await _notify_reporter(
        session, report, "report_duplicate", now, original=original.tracking_code
    )
    await session.flush()
    return report


async def bulk(
    session: AsyncSession, actor: Actor, body: BulkRequest, now: datetime
) -> list[BulkItem]:
    """Each report on its own, at the version the moderator saw: one failing (already
    accepted, edited since) does not stop the rest. Reports are locked in id order (the life
    cycle's lock order); the answers keep the request's order."""
    results: dict[int, BulkItem] = {}
    for index, item in sorted(enumerate(body.items), key=lambda pair: pair[1].id):
        try:
            async with session.begin_nested():
                if body.action == "accept":
                    report = await accept(
                        session, actor, item.id, AcceptRequest(), now, version=item.version
                    )
                else:
                    assert body.code is not None
                    assert body.text is not None
                    report = await reject(
                        session,
                        actor,
                        item.id,
                        RejectRequest(code=body.code, text=body.text),
                        now,
                        version=item.version,
                    )
            results[index] = BulkItem(
                id=item.id, status=200, state=report.state, version=report.version
            )
        except AppError as exc:
            results[index] = BulkItem(id=item.id, status=exc.status, detail=exc.detail)
    return [results[index] for index in range(len(body.items))]

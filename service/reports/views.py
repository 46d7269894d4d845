"""The read model: one report, pages of reports, a timeline and nearby reports, each as the
caller may see them (``service.reports.access``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.service import record_personal_data_read
from service.auth.actor import Actor
from service.catalog.models import Reason
from service.catalog.service import localized_name
from service.city import service as city
from service.errors import NotFound
from service.pagination import keyset_page
from service.reports import access, repository
from service.reports.access import PUBLIC, REPORTER, STAFF
from service.reports.models import Report
from service.reports.schemas import (
    Location,
    Named,
    NearbyReport,
    PhotoRef,
    Reporter,
    ReportPrivate,
    ReportView,
    TimelineEvent,
)
from service.reports.states import OPEN_STATES, ReportState


def is_overdue(report: Report, now: datetime) -> bool:
    return report.breached_at is not None or (
        report.due_at is not None and report.state in OPEN_STATES and report.due_at < now
    )


def to_view(row: Any, level: int, language: str, now: datetime) -> ReportView:
    """A row of ``repository.view_select`` as a caller of ``level`` sees it."""
    report: Report = row.Report
    private = None
    if level >= REPORTER:
        private = ReportPrivate(
            reporter=Reporter(
                id=report.reporter_id,
                display_name=row.reporter_name,
                email=row.reporter_email if level == STAFF else None,
            ),
            anonymous_public=report.anonymous_public,
            text_in_open_data=report.text_in_open_data,
            submitted_at=report.submitted_at,
            moderation_due_at=report.moderation_due_at,
            reject_code=report.reject_code,
            reject_text=report.reject_text,
            round=report.round,
            helped_by_id=report.helped_by_id,
        )
    return ReportView(
        id=report.id,
        tracking_code=report.tracking_code,
        version=report.version,
        state=report.state,
        reason=Named(
            id=report.reason_id,
            code=row.reason_code,
            name=localized_name(row.reason_names, language),
        ),
        category_id=report.category_id,
        department=Named(
            id=report.department_id, code=row.department_code, name=row.department_name
        ),
        district=Named(id=report.district_id, code=row.district_code, name=row.district_name)
        if report.district_id
        else None,
        building=Named(id=report.building_id, code=row.building_address, name=row.building_address)
        if report.building_id
        else None,
        location=Location(lat=row.lat, lon=row.lon),
        address_text=report.address_text,
        description=report.description,
        attributes=report.attributes,
        reporter_name=access.public_reporter_name(report, row.reporter_name),
        created_at=report.created_at,
        accepted_at=report.accepted_at,
        due_at=report.due_at,
        overdue=is_overdue(report, now),
        answered_at=report.answered_at,
        closed_at=report.closed_at,
        duplicate_of=report.duplicate_of_id,
        supporters_count=report.supporters_count,
        subscribers_count=report.subscribers_count,
        photo_count=report.photo_count,
        ambassador_confirmations=report.ambassador_confirmations,
        private=private,
    )


async def view(
    session: AsyncSession,
    actor: Actor | None,
    now: datetime,
    language: str,
    *,
    report_id: uuid.UUID | None = None,
    tracking_code: str | None = None,
    level: int | None = None,
) -> ReportView:
    """One report as the caller may see it (404 when they may not know of it). ``level``
    overrides the caller's level (the answer to a partner that filed for a resident)."""
    row = await repository.view_row(session, report_id=report_id, tracking_code=tracking_code)
    if row is None:
        raise NotFound("No such report.")
    if level is None:
        level = access.check_visible(actor, row.Report)
        await _log_staff_read(session, actor, level, [row.Report])
    result = to_view(row, level, language, now)
    result.photos = [
        PhotoRef.of(photo) for photo in await repository.photos(session, row.Report.id)
    ]
    return result


@dataclass(frozen=True)
class ReportFilters:
    states: list[ReportState] | None = None
    reason_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    district_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    overdue: bool | None = None
    reporter_id: uuid.UUID | None = None
    building_ids: list[uuid.UUID] | None = None


async def list_reports(
    session: AsyncSession,
    actor: Actor | None,
    filters: ReportFilters,
    *,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
    oldest_first: bool = False,
) -> tuple[list[ReportView], str | None]:
    """A page of reports, keyset-paginated on (created_at, id). With ``reporter_id`` the
    caller's own reports (all states); otherwise what the caller may see."""
    conditions: list[Any] = []
    own = filters.reporter_id is not None
    if own:
        conditions.append(col(Report.reporter_id) == filters.reporter_id)
    elif not access.sees_everything(actor):
        conditions.append(access.public_condition())
    if filters.states:
        conditions.append(col(Report.state).in_(filters.states))
    for column, value in (
        (Report.reason_id, filters.reason_id),
        (Report.category_id, filters.category_id),
        (Report.district_id, filters.district_id),
        (Report.department_id, filters.department_id),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if filters.building_ids is not None:
        conditions.append(col(Report.building_id).in_(filters.building_ids))
    if filters.bbox is not None:
        conditions.append(col(Report.location).op("&&")(func.ST_MakeEnvelope(*filters.bbox, 4326)))
    if filters.since is not None:
        conditions.append(col(Report.created_at) >= filters.since)
    if filters.overdue is not None:
        overdue = or_(
            col(Report.breached_at).is_not(None),
            and_(col(Report.state).in_(sorted(OPEN_STATES)), col(Report.due_at) < now),
        )
        conditions.append(overdue if filters.overdue else ~overdue)
    rows, next_cursor = await keyset_page(
        session,
        repository.view_select().where(*conditions),
        col(Report.created_at),
        col(Report.id),
        cursor=cursor,
        limit=limit,
        ascending=oldest_first,
        key=lambda row: (row.Report.created_at, row.Report.id),
    )
    levels = [REPORTER if own else access.level_for(actor, row.Report) for row in rows]
    items = [to_view(row, level, language, now) for row, level in zip(rows, levels, strict=True)]
    shown = [row.Report for row, level in zip(rows, levels, strict=True) if level == STAFF]
    await _log_staff_read(session, actor, STAFF, shown)
    return items, next_cursor


async def _log_staff_read(
    session: AsyncSession, actor: Actor | None, level: int, reports: list[Report]
) -> None:
    """A staff-level view shows the reporter's name and email: written to the audit log
    (unless the caller is the reporter themselves)."""
    if actor is None or level != STAFF:
        return
    others = [r.id for r in reports if r.reporter_id != actor.user_id]
    await record_personal_data_read(
        session, actor, "report", others, ["reporter.display_name", "reporter.email"]
    )


async def timeline(
    session: AsyncSession, actor: Actor | None, report_id: uuid.UUID
) -> list[TimelineEvent]:
    """The events the caller may see: public ones; the reporter's own too; all for the
    department, moderators and admins."""
    report = await repository.get(session, report_id)
    if report is None:
        raise NotFound("No such report.")
    level = access.check_visible(actor, report)
    rows = await repository.events(session, report.id, access.events_condition(level, actor))
    contact = [e for e in rows if e.type == "contact_details" and e.data.get("removed") is None]
    if contact and actor is not None and actor.user_id != report.reporter_id:
        await record_personal_data_read(
            session, actor, "report", [report.id], sorted({k for e in contact for k in e.data})
        )
    return [
        TimelineEvent(
            id=e.id,
            at=e.at,
            type=e.type,
            from_state=e.from_state,
            to_state=e.to_state,
            public=e.public,
            actor_role=e.actor_role,
            data=e.data,
        )
        for e in rows
    ]


async def nearby(
    session: AsyncSession, reason_id: uuid.UUID, lat: float, lon: float, language: str, limit: int
) -> list[NearbyReport]:
    """Public open reports of the reason's category within its duplicate radius."""
    reason = await session.get(Reason, reason_id)
    if reason is None:
        raise NotFound("No such reason.")
    rows = await repository.nearby_rows(
        session,
        reason.category_id,
        city.point_sql(lat, lon),
        max(reason.duplicate_radius_m, 1),
        limit,
    )
    return [
        NearbyReport(
            id=row.id,
            tracking_code=row.tracking_code,
            state=row.state,
            reason=Named(
                id=row.reason_id,
                code=row.reason_code,
                name=localized_name(row.reason_names, language),
            ),
            location=Location(lat=row.lat, lon=row.lon),
            distance_m=round(row.distance, 1),
            description=row.description,
            supporters_count=row.supporters_count,
            created_at=row.created_at,
        )
        for row in rows
    ]


__all__ = ["PUBLIC", "REPORTER", "STAFF", "ReportFilters", "list_reports", "timeline", "view"]

"""SQL of the Open311 interface: the service list, pages of public reports with what
GeoReport shows of them, their status notes and photos, and the public timeline as updates.
No rules live here; what is public is ``service.reports.access.public_condition``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, and_, func, inspect, literal, select, true, union_all
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from service.catalog.models import Category, ObjectType, Reason
from service.feedback.models import ReportResponse, ResponseState
from service.reports import repository as reports
from service.reports.access import public_condition
from service.reports.models import EVENT_SEQ, Report, ReportEvent, ReportPhoto
from service.reports.states import ReportState


async def services(session: AsyncSession) -> Sequence[Any]:
    """Active reasons of active categories and object types, in catalogue order, with the
    names of their category and object type."""
    rows: Any = await session.execute(
        select(
            Reason,
            col(Category.names).label("category_names"),
            col(ObjectType.names).label("object_type_names"),
        )
        .join(Category, col(Category.id) == Reason.category_id)
        .join(ObjectType, col(ObjectType.id) == Category.object_type_id)
        .where(col(Reason.active), col(Category.active), col(ObjectType.active))
        .order_by(
            col(ObjectType.position),
            col(ObjectType.code),
            col(Category.position),
            col(Category.code),
            col(Reason.position),
            col(Reason.code),
        )
    )
    found: Sequence[Any] = rows.all()
    return found


async def reason_by_service_code(session: AsyncSession, service_code: str) -> Any:
    """(Reason, category_names, object_type_names) of an active service, or None."""
    rows: Any = await session.execute(
        select(
            Reason,
            col(Category.names).label("category_names"),
            col(ObjectType.names).label("object_type_names"),
        )
        .join(Category, col(Category.id) == Reason.category_id)
        .join(ObjectType, col(ObjectType.id) == Category.object_type_id)
        .where(
            col(Reason.service_code) == service_code,
            col(Reason.active),
            col(Category.active),
            col(ObjectType.active),
        )
    )
    return rows.one_or_none()


@dataclass(frozen=True)
class RequestFilter:
    """What ``GET requests`` asks for. ``ids`` overrides everything else (as the spec says);
    codes are tracking codes, or report ids."""

    ids: list[str] | None = None
    service_codes: list[str] | None = None
    states: list[ReportState] | None = None
    start: datetime | None = None
    end: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    offset: int = 0
    limit: int = 1000


def _select() -> Select[Any]:
    original = aliased(Report)
    return (
        reports.view_select()
        .add_columns(
            col(Reason.service_code).label("service_code"),
            col(Reason.sla_amount).label("sla_amount"),
            col(Reason.sla_unit).label("sla_unit"),
            col(original.tracking_code).label("duplicate_of_code"),
        )
        .outerjoin(original, col(original.id) == Report.duplicate_of_id)
    )


def _id_condition(ids: list[str]) -> Any:
    report_ids, codes = [], []
    for raw in ids:
        try:
            report_ids.append(uuid.UUID(raw))
        except ValueError:
            codes.append(raw.upper())
    return col(Report.tracking_code).in_(codes) | col(Report.id).in_(report_ids)


async def requests(session: AsyncSession, query: RequestFilter) -> Sequence[Any]:
    """Public reports, newest first (rows of ``service.reports.repository.view_select``
    with the service code and the original of a duplicate)."""
    conditions: list[Any] = [public_condition()]
    if query.ids is not None:
        conditions.append(_id_condition(query.ids))
    else:
        if query.service_codes:
            conditions.append(col(Reason.service_code).in_(query.service_codes))
        if query.states:
            conditions.append(col(Report.state).in_(query.states))
        if query.start is not None:
            conditions.append(col(Report.created_at) >= query.start)
        if query.end is not None:
            conditions.append(col(Report.created_at) <= query.end)
        if query.bbox is not None:
            conditions.append(
                col(Report.location).op("&&")(func.ST_MakeEnvelope(*query.bbox, 4326))
            )
    rows = await session.execute(
        _select()
        .where(*conditions)
        .order_by(col(Report.created_at).desc(), col(Report.id).desc())
        .offset(query.offset)
        .limit(query.limit)
    )
    found: Sequence[Any] = rows.all()
    return found


async def latest_notes(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The newest public text of each report: a status note or answer on its public
    timeline, or a published official response."""
    if not report_ids:
        return {}
    events = select(
        col(ReportEvent.report_id).label("report_id"),
        ReportEvent.data["text"].astext.label("text"),
        col(ReportEvent.at).label("at"),
        EVENT_SEQ.label("seq"),
    ).where(
        col(ReportEvent.report_id).in_(report_ids),
        col(ReportEvent.public),
        ReportEvent.data.has_key("text"),  # type: ignore[attr-defined]
    )
    responses: Any = select(
        col(ReportResponse.report_id).label("report_id"),
        col(ReportResponse.text).label("text"),
        col(ReportResponse.published_at).label("at"),
        literal(None, BigInteger).label("seq"),
    ).where(
        col(ReportResponse.report_id).in_(report_ids),
        col(ReportResponse.state) == ResponseState.published,
    )
    notes = union_all(events, responses).subquery()
    rows = await session.execute(
        select(notes.c.report_id, notes.c.text)
        .ext(distinct_on(notes.c.report_id))
        .order_by(
            notes.c.report_id, notes.c.at.desc().nulls_last(), notes.c.seq.desc().nulls_last()
        )
    )
    return {row.report_id: row.text for row in rows}


async def photo_ids(
    session: AsyncSession, report_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The photos of each report, oldest first."""
    if not report_ids:
        return {}
    rows = await session.execute(
        select(col(ReportPhoto.report_id), col(ReportPhoto.id))
        .where(col(ReportPhoto.report_id).in_(report_ids))
        .order_by(col(ReportPhoto.report_id), col(ReportPhoto.created_at), col(ReportPhoto.id))
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for report_id, photo_id in rows:
        found.setdefault(report_id, []).append(photo_id)
    return found


async def updates(
    session: AsyncSession, start: datetime, end: datetime, offset: int, limit: int
) -> Sequence[Any]:
    """Public timeline events of public reports between ``start`` and ``end``, oldest
    first, each with the report's tracking code and the state (and answer outcome) the
    report was in after it: the newest change of state up to the event."""
    before = aliased(ReportEvent)
    before_seq = inspect(before).selectable.c.seq
    state_then = (
        select(
            col(before.to_state).label("state"),
            before.data["outcome"].astext.label("outcome"),
        )
        .where(
            col(before.report_id) == ReportEvent.report_id,
            col(before.to_state).is_not(None),
            before_seq <= EVENT_SEQ,
        )
        .order_by(before_seq.desc())
        .limit(1)
        .lateral("state_then")
    )
    rows = await session.execute(
        select(
            ReportEvent,
            col(Report.tracking_code).label("tracking_code"),
            state_then.c.state,
            state_then.c.outcome,
        )
        .join(Report, col(Report.id) == ReportEvent.report_id)
        .outerjoin(state_then, true())
        .where(
            public_condition(),
            col(ReportEvent.public),
            and_(col(ReportEvent.at) >= start, col(ReportEvent.at) <= end),
        )
        .order_by(EVENT_SEQ)
        .offset(offset)
        .limit(limit)
    )
    return rows.all()


async def report_for_update(session: AsyncSession, service_request_id: str) -> uuid.UUID | None:
    """The id of the public report a tracking code (or id) names, or None."""
    found = await session.scalar(
        select(col(Report.id)).where(_id_condition([service_request_id]), public_condition())
    )
    return found

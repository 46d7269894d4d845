"""SQL of the Open311 interface: the service list, pages of public reports with what
GeoReport shows of them, their status notes and photos, and the public timeline as updates.
No rules live here; what is public is ``service.reports.access.public_condition``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, inspect, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from service import rawsql
from service.catalog.models import Category, ObjectType, Reason
from service.reports.access import public_condition, public_sql
from service.reports.models import EVENT_SEQ, Report, ReportEvent
from service.reports.statements import PageQuery
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


# A page of public reports with everything a GeoReport request shows, in one statement: the
# page first (the report table's own order and limit), then for its rows only the names, the
# original of a duplicate, the newest public note (a status note or answer on the public
# timeline, or a published official response) and the photo ids.
_REQUESTS_SQL = """
    WITH page AS (
      SELECT r.id, r.created_at FROM report r
      JOIN reason ON reason.id = r.reason_id
      WHERE {where}
      ORDER BY r.created_at DESC, r.id DESC OFFSET {offset} LIMIT {limit}
    )
    SELECT r.id, r.tracking_code, r.state, r.created_at, r.updated_at, r.due_at,
           r.breached_at, r.round, r.description, r.address_text, r.building_id,
           ST_Y(r.location) AS lat, ST_X(r.location) AS lon,
           reason.names AS reason_names, reason.service_code, reason.sla_amount,
           reason.sla_unit, department.code AS department_code,
           department.name AS department_name, district.code AS district_code,
           building.address AS building_address, original.tracking_code AS duplicate_of_code,
           (SELECT n.text FROM (
               SELECT e.data->>'text' AS text, e.at, e.seq FROM report_event e
                WHERE e.report_id = r.id AND e.public AND e.data ? 'text'
               UNION ALL
               SELECT s.text, s.published_at, NULL FROM report_response s
                WHERE s.report_id = r.id AND s.state = 'published'
             ) AS n ORDER BY n.at DESC NULLS LAST, n.seq DESC NULLS LAST LIMIT 1) AS note,
           (SELECT array_agg(p.id ORDER BY p.created_at, p.id) FROM report_photo p
             WHERE p.report_id = r.id) AS photo_ids
    FROM page JOIN report r ON r.id = page.id
    JOIN reason ON reason.id = r.reason_id
    JOIN department ON department.id = r.department_id
    LEFT JOIN district ON district.id = r.district_id
    LEFT JOIN building ON building.id = r.building_id
    LEFT JOIN report original ON original.id = r.duplicate_of_id
    ORDER BY page.created_at DESC, page.id DESC"""


def _ids_and_codes(ids: list[str]) -> tuple[list[uuid.UUID], list[str]]:
    """Service request ids as a client sends them: report ids, or tracking codes."""
    report_ids, codes = [], []
    for raw in ids:
        try:
            report_ids.append(uuid.UUID(raw))
        except ValueError:
            codes.append(raw.upper())
    return report_ids, codes


def _id_condition(ids: list[str]) -> Any:
    report_ids, codes = _ids_and_codes(ids)
    return col(Report.tracking_code).in_(codes) | col(Report.id).in_(report_ids)


async def requests(session: rawsql.Db, query: RequestFilter) -> list[Any]:
    """Public reports, newest first, each with its service, names, newest public note and
    photo ids (:data:`_REQUESTS_SQL`: one statement, every value a parameter)."""
    sql, args = requests_statement(query)
    return await rawsql.fetch(session, sql, *args)


def requests_statement(query: RequestFilter) -> tuple[str, list[Any]]:
    """:func:`requests`' statement and its values (for the benchmark's baseline too)."""
    built = PageQuery()
    conditions = [public_sql(built.param)]
    if query.ids is not None:
        report_ids, codes = _ids_and_codes(query.ids)
        conditions.append(
            f"(r.tracking_code = ANY({built.param(codes)}::text[])"
            f" OR r.id = ANY({built.param(report_ids)}::uuid[]))"
        )
    else:
        if query.service_codes:
            conditions.append(f"reason.service_code = ANY({built.param(query.service_codes)})")
        if query.states:
            states = [str(state) for state in query.states]
            conditions.append(f"r.state = ANY({built.param(states)}::text[])")
        if query.start is not None:
            conditions.append(f"r.created_at >= {built.param(query.start)}")
        if query.end is not None:
            conditions.append(f"r.created_at <= {built.param(query.end)}")
        if query.bbox is not None:
            corners = ", ".join(f"{built.param(v)}::float8" for v in query.bbox)
            conditions.append(f"r.location && ST_MakeEnvelope({corners}, 4326)")
    sql = _REQUESTS_SQL.format(
        where=" AND ".join(conditions),
        offset=built.param(query.offset),
        limit=built.param(query.limit),
    )
    return sql, built.args


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

"""SQL of the reports package: the joined read model, locks, lists, timelines, nearby
reports, quota counts, and support/subscription rows. No rules live here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service import rawsql
from service.auth.models import User
from service.catalog.models import Reason
from service.city.models import Building, Department, District
from service.db import table_of
from service.errors import NotFound
from service.reports.models import (
    EVENT_SEQ,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportSubscription,
    ReportSupport,
)
from service.reports.states import OPEN_STATES


def view_select() -> Select[Any]:
    """A report with what its views show: names of reason, department, district, building
    and reporter, and the point as lat/lon."""
    return (
        select(
            Report,
            func.ST_Y(Report.location).label("lat"),
            func.ST_X(Report.location).label("lon"),
            col(Reason.code).label("reason_code"),
            col(Reason.names).label("reason_names"),
            col(Department.code).label("department_code"),
            col(Department.name).label("department_name"),
            col(District.code).label("district_code"),
            col(District.name).label("district_name"),
            col(Building.address).label("building_address"),
            col(User.display_name).label("reporter_name"),
            col(User.email).label("reporter_email"),
        )
        .join(Reason, col(Reason.id) == Report.reason_id)
        .join(Department, col(Department.id) == Report.department_id)
        .join(User, col(User.id) == Report.reporter_id)
        .outerjoin(District, col(District.id) == Report.district_id)
        .outerjoin(Building, col(Building.id) == Report.building_id)
    )


async def view_row(
    session: AsyncSession, *, report_id: uuid.UUID | None = None, tracking_code: str | None = None
) -> Any:
    """One row of :func:`view_select` by id or tracking code, or None."""
    query = view_select()
    if report_id is not None:
        query = query.where(col(Report.id) == report_id)
    else:
        query = query.where(col(Report.tracking_code) == (tracking_code or "").upper())
    return (await session.execute(query)).one_or_none()


async def get(session: AsyncSession, report_id: uuid.UUID) -> Report | None:
    return (
        await session.execute(select(Report).where(col(Report.id) == report_id))
    ).scalar_one_or_none()


async def lock(session: AsyncSession, report_id: uuid.UUID) -> Report:
    """The report, locked for this transaction (FOR UPDATE); 404 when there is none."""
    report = (
        await session.execute(select(Report).where(col(Report.id) == report_id).with_for_update())
    ).scalar_one_or_none()
    if report is None:
        raise NotFound("No such report.")
    return report


async def lock_pair(
    session: AsyncSession, first_id: uuid.UUID, second_id: uuid.UUID
) -> tuple[Report, Report]:
    """Two reports locked in id order, so two transactions locking a pair crosswise cannot
    deadlock."""
    low, high = sorted((first_id, second_id))
    locked = {low: await lock(session, low), high: await lock(session, high)}
    return locked[first_id], locked[second_id]


async def point_of(session: AsyncSession, report_id: uuid.UUID) -> tuple[float, float]:
    """(lat, lon) of a report."""
    lat, lon = (
        await session.execute(
            select(func.ST_Y(Report.location), func.ST_X(Report.location)).where(
                col(Report.id) == report_id
            )
        )
    ).one()
    return float(lat), float(lon)


async def distance_m(session: AsyncSession, first_id: uuid.UUID, second_id: uuid.UUID) -> float:
    """Metres between two reports' points (on the spheroid)."""
    other = select(Report.location).where(col(Report.id) == second_id).scalar_subquery()
    value = await session.scalar(
        select(func.ST_Distance(func.Geography(Report.location), func.Geography(other))).where(
            col(Report.id) == first_id
        )
    )
    return float(value or 0.0)


def photos_select(report_id: uuid.UUID) -> Select[Any]:
    return (
        select(ReportPhoto)
        .where(col(ReportPhoto.report_id) == report_id)
        .order_by(col(ReportPhoto.created_at), col(ReportPhoto.id))
    )


async def photos(session: AsyncSession, report_id: uuid.UUID) -> list[ReportPhoto]:
    rows = await session.execute(photos_select(report_id))
    return list(rows.scalars())


async def events(session: AsyncSession, report_id: uuid.UUID, condition: Any) -> list[ReportEvent]:
    query = select(ReportEvent).where(col(ReportEvent.report_id) == report_id)
    if condition is not None:
        query = query.where(condition)
    rows = await session.execute(query.order_by(EVENT_SEQ))
    return list(rows.scalars())


# The reason's category and duplicate radius, and its open, public reports within that
# radius of the point, nearest first: the columns the hint shows, not whole reports. One row
# with a NULL id when the reason has none near; no row when there is no such reason. The
# open states are literal, so the planner proves the partial index of open reports'
# locations (as geography) applies.
_OPEN_LITERAL = ", ".join(f"'{state}'" for state in sorted(OPEN_STATES))
NEARBY_SQL = f"""
    WITH here AS (SELECT ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography AS point)
    SELECT n.* FROM reason
    LEFT JOIN LATERAL (
        SELECT r.id, r.tracking_code, r.state, r.reason_id, left(r.description, 280)
               AS description, r.supporters_count, r.created_at, ST_Y(r.location) AS lat,
               ST_X(r.location) AS lon, found.code AS reason_code,
               found.names AS reason_names,
               ST_Distance(r.location::geography, here.point) AS distance
        FROM report r JOIN reason found ON found.id = r.reason_id, here
        WHERE r.category_id = reason.category_id AND r.state IN ({_OPEN_LITERAL})
          AND ST_DWithin(r.location::geography, here.point,
                         greatest(reason.duplicate_radius_m, 1))
        ORDER BY distance, r.created_at DESC
        LIMIT $4
    ) n ON true
    WHERE reason.id = $1"""  # noqa: S608 (constants: the open states)


async def nearby_rows(
    session: rawsql.Db, reason_id: uuid.UUID, lat: float, lon: float, limit: int
) -> list[Any] | None:
    """:data:`NEARBY_SQL`'s rows (None when there is no such reason)."""
    rows = await rawsql.fetch(session, NEARBY_SQL, reason_id, lat, lon, limit)
    if not rows:
        return None
    return [row for row in rows if row["id"] is not None]


def quota_lock_key(owner: str) -> str:
    return f"report-quota:{owner}"


async def lock_quota(session: AsyncSession, owner: str) -> None:
    """Serialise quota checks of one owner (a person or an API key) in this transaction."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": quota_lock_key(owner)},
    )


# The reason with its category's ``active``, the calendars' version token and the quota
# lock, in one hand-written statement: filing's first statement. Through the session (not
# service.rawsql), so that it begins the transaction the lock is held for.
_REASON_FOR_FILING_SQL = text(
    """
    SELECT reason.*, category.active AS category_active,
           (SELECT token FROM calendar_version WHERE id = 1) AS calendar_token,
           pg_advisory_xact_lock(hashtextextended(:key, 0)) IS NULL AS locked
    FROM reason JOIN category ON category.id = reason.category_id
    WHERE reason.id = :reason_id"""
)
_REASON_COLUMNS = frozenset(table_of(Reason).columns.keys())


async def reason_for_filing(
    session: AsyncSession, reason_id: uuid.UUID, quota_owner: str
) -> tuple[Reason, bool, uuid.UUID | None] | None:
    """In one statement: the reason with its category's ``active``, the working calendars'
    version token (``calendar_version``), and the quota lock of ``quota_owner`` taken for
    this transaction (as :func:`lock_quota`; the quota is counted by a later statement, so
    it sees every filing committed before the lock was granted). None without the reason
    (and then no lock is taken). The reason is a detached object: filing reads it."""
    result = await session.execute(
        _REASON_FOR_FILING_SQL, {"reason_id": reason_id, "key": quota_lock_key(quota_owner)}
    )
    row = result.mappings().one_or_none()
    if row is None:
        return None
    reason = Reason(**{key: value for key, value in row.items() if key in _REASON_COLUMNS})
    return reason, bool(row["category_active"]), row["calendar_token"]


# The filings counted against a daily quota, by whose quota it is: the reporter's own
# (not what keys or helpers filed for them), an API key's on behalf of residents, an
# ambassador's for neighbours.
_FILING_TIMES = {
    kind: f"SELECT created_at FROM report WHERE {where} AND created_at > $2 "  # noqa: S608 (constants)
    "ORDER BY created_at"
    for kind, where in (
        ("reporter", "reporter_id = $1 AND NOT filed_on_behalf"),
        ("api_key", "filed_via_api_key_id = $1 AND filed_on_behalf"),
        ("helper", "helped_by_id = $1 AND filed_on_behalf"),
    )
}


async def filing_times(
    session: AsyncSession,
    since: datetime,
    *,
    reporter_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
    helper_id: uuid.UUID | None = None,
) -> list[datetime]:
    """When the reporter filed since ``since`` (not counting what keys filed for them), or
    what the API key filed on behalf of residents, or the ambassador for neighbours."""
    owner: uuid.UUID | None
    if api_key_id is not None:
        kind, owner = "api_key", api_key_id
    elif helper_id is not None:
        kind, owner = "helper", helper_id
    else:
        kind, owner = "reporter", reporter_id
    rows = await rawsql.fetch(session, _FILING_TIMES[kind], owner, since)
    return [row[0] for row in rows]


async def refresh_counts(session: AsyncSession, report_id: uuid.UUID) -> tuple[int, int]:
    """Recount supporters and subscribers; returns (supporters, subscribers)."""
    result = await session.execute(
        update(Report)
        .where(col(Report.id) == report_id)
        .values(
            supporters_count=select(func.count())
            .select_from(ReportSupport)
            .where(col(ReportSupport.report_id) == report_id)
            .scalar_subquery(),
            subscribers_count=select(func.count())
            .select_from(ReportSubscription)
            .where(col(ReportSubscription.report_id) == report_id)
            .scalar_subquery(),
        )
        .returning(col(Report.supporters_count), col(Report.subscribers_count))
        .execution_options(synchronize_session=False)
    )
    supporters, subscribers = result.one()
    return int(supporters), int(subscribers)


async def is_engaged(
    session: AsyncSession, report_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[bool, bool]:
    """(supporting, subscribed) of one person."""
    row = (
        await session.execute(
            select(
                select(literal(1))
                .where(
                    col(ReportSupport.report_id) == report_id,
                    col(ReportSupport.user_id) == user_id,
                )
                .exists()
                .label("supporting"),
                select(literal(1))
                .where(
                    col(ReportSubscription.report_id) == report_id,
                    col(ReportSubscription.user_id) == user_id,
                )
                .exists()
                .label("subscribed"),
            )
        )
    ).one()
    return bool(row.supporting), bool(row.subscribed)


async def set_engaged(
    session: AsyncSession,
    model: type[ReportSupport] | type[ReportSubscription],
    report_id: uuid.UUID,
    user_id: uuid.UUID,
    on: bool,
    now: datetime,
) -> None:
    table = table_of(model)
    if on:
        await session.execute(
            insert(table)
            .values(report_id=report_id, user_id=user_id, created_at=now)
            .on_conflict_do_nothing()
        )
    else:
        await session.execute(
            delete(table).where(table.c.report_id == report_id, table.c.user_id == user_id)
        )


async def move_engagement(
    session: AsyncSession, source: Report, target: Report, now: datetime
) -> None:
    """Copy the supporters and subscribers of ``source`` to ``target``, and add the reporter
    of ``source`` as both (unless they filed ``target``)."""
    for model in (ReportSupport, ReportSubscription):
        table = table_of(model)
        await session.execute(
            insert(table)
            .from_select(
                ["report_id", "user_id", "created_at"],
                select(
                    literal(target.id, table.c.report_id.type),
                    table.c.user_id,
                    table.c.created_at,
                ).where(table.c.report_id == source.id, table.c.user_id != target.reporter_id),
            )
            .on_conflict_do_nothing()
        )
        if source.reporter_id != target.reporter_id:
            await session.execute(
                insert(table)
                .values(report_id=target.id, user_id=source.reporter_id, created_at=now)
                .on_conflict_do_nothing()
            )
    await refresh_counts(session, target.id)

"""KPIs: the public league table of departments and a department's figures per reason,
over a period of days in the city's time zone. The figures come from one SQL statement
(``kpi_repository``); this module turns them into shares, hours and names."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.catalog.models import Reason
from service.catalog.service import localized_name
from service.city import service as city
from service.errors import InvalidInput
from service.feedback.kpi_repository import GroupBy, KpiRow, kpi_rows
from service.feedback.schemas import (
    DepartmentKpis,
    DepartmentStats,
    KpiFigures,
    LeagueTable,
    ReasonKpis,
    StatsPeriod,
)
from service.queues.access import require_power
from service.reports.schemas import Named

DEFAULT_DAYS = 30
MAX_DAYS = 366
# The first and last days of the calendar have no midnight on both sides in every zone.
OUTSIDE_CALENDAR = "The period is outside the calendar."


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _average(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def figures(row: KpiRow | None) -> KpiFigures:
    """A row of the KPI query as the API shows it (zeros when there is no row)."""
    if row is None:
        row = KpiRow(uuid.UUID(int=0), 0, 0, 0, None, None, 0, 0, None, 0, None, 0, 0, 0)
    return KpiFigures(
        received=row.received,
        answered=row.answered,
        on_time=row.on_time,
        on_time_percent=_percent(row.on_time, row.answered),
        median_answer_hours=_hours(row.median_seconds),
        p90_answer_hours=_hours(row.p90_seconds),
        overdue_now=row.overdue_now,
        ratings=row.ratings,
        average_rating=_average(row.average_rating),
        supporter_ratings=row.supporter_ratings,
        supporters_average_rating=_average(row.supporters_average),
        reopened=row.reopened,
        reopen_percent=_percent(row.reopened, row.answered),
        moderated=row.moderated,
        rejected=row.rejected,
        rejected_percent=_percent(row.rejected, row.moderated),
    )


async def period(
    session: AsyncSession, start: date | None, end: date | None, now: datetime
) -> tuple[StatsPeriod, datetime, datetime]:
    """The period's days (default: the last 30 days up to today) and its bounds as UTC
    instants: from the first day's midnight to the midnight after the last, in the city's
    time zone."""
    zone = (await city.load_working_calendar(session)).zone
    end = end or now.astimezone(zone).date()
    try:
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:
        raise InvalidInput(OUTSIDE_CALENDAR, field="to") from None
    if start > end:
        raise InvalidInput("from is after to.", field="from")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"A period is at most {MAX_DAYS} days.", field="from")
    try:
        starts = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(OUTSIDE_CALENDAR, field="from") from None
    try:
        ends = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(OUTSIDE_CALENDAR, field="to") from None
    return (
        StatsPeriod(from_date=start, to_date=end, time_zone=str(zone), generated_at=now),
        starts,
        ends,
    )


def _rank(item: KpiFigures) -> tuple[bool, float, float, int]:
    """Best on-time share first, then the faster median, then the busier department."""
    return (
        item.on_time_percent is None,
        -(item.on_time_percent or 0.0),
        item.median_answer_hours if item.median_answer_hours is not None else float("inf"),
        -item.received,
    )


async def league_table(
    session: AsyncSession, start: date | None, end: date | None, now: datetime
) -> LeagueTable:
    """Every active department's figures over the period."""
    shown, starts, ends = await period(session, start, end, now)
    rows = await kpi_rows(session, GroupBy.department, start=starts, end=ends, now=now)
    departments = [
        DepartmentKpis(
            department=Named(id=d.id, code=d.code, name=d.name),
            **figures(rows.get(d.id)).model_dump(),
        )
        for d in await city.list_departments(session)
    ]
    departments.sort(key=lambda item: (*_rank(item), item.department.code))
    return LeagueTable(period=shown, departments=departments)


async def department_figures(
    session: AsyncSession, department_id: uuid.UUID, start: date, end: date, now: datetime
) -> KpiFigures:
    """One department's row of the league table over a period (public, as the table is),
    read for that department alone: the web app's weekly figures ask for one department
    over many weeks."""
    _, starts, ends = await period(session, start, end, now)
    rows = await kpi_rows(
        session, GroupBy.department, start=starts, end=ends, now=now, department_id=department_id
    )
    return figures(rows.get(department_id))


async def department_stats(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    start: date | None,
    end: date | None,
    now: datetime,
    language: str,
) -> DepartmentStats:
    """One department's figures, in total and per reason (its staff, supervisors above it
    and admins; 404 for no such department, 403 for others)."""
    department = await city.get_department(session, department_id)
    await require_power(session, actor, department.id, hide=False)
    shown, starts, ends = await period(session, start, end, now)
    total = await kpi_rows(
        session, GroupBy.department, start=starts, end=ends, now=now, department_id=department.id
    )
    by_reason = await kpi_rows(
        session, GroupBy.reason, start=starts, end=ends, now=now, department_id=department.id
    )
    reasons = (
        await session.execute(select(Reason).where(col(Reason.id).in_(list(by_reason))))
    ).scalars()
    items = [
        ReasonKpis(
            reason=Named(id=r.id, code=r.code, name=localized_name(r.names, language)),
            **figures(by_reason[r.id]).model_dump(),
        )
        for r in reasons
    ]
    items.sort(key=lambda item: (-item.received, -item.answered, item.reason.code))
    return DepartmentStats(
        period=shown,
        department=Named(id=department.id, code=department.code, name=department.name),
        total=figures(total.get(department.id)),
        reasons=items,
    )

"""Calendars: the city's default, departments' own, exceptions, and the working calendar
deadlines are counted in. Services never commit."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.city.calendars import repository
from service.city.departments import repository as departments
from service.city.models import Calendar, CalendarException, CalendarExceptionKind
from service.city.schemas import CalendarCreate, CalendarUpdate
from service.errors import InvalidInput, NotFound
from service.sla.calendar import WorkingCalendar


async def city_calendar(session: AsyncSession) -> Calendar:
    """The city's default calendar, created with the defaults on first use."""
    found = await repository.city_default(session)
    if found is not None:
        return found
    await repository.add_city_default(session)
    created = await repository.city_default(session)
    assert created is not None
    return created


async def list_calendars(session: AsyncSession) -> list[Calendar]:
    return await repository.listed(session)


async def get_calendar(session: AsyncSession, calendar_id: uuid.UUID) -> Calendar:
    calendar = await repository.get(session, calendar_id)
    if calendar is None:
        raise NotFound("No such calendar.")
    return calendar


async def calendar_exceptions(
    session: AsyncSession, calendar_id: uuid.UUID
) -> list[CalendarException]:
    return await repository.exceptions(session, calendar_id)


def working_calendar(calendar: Calendar, exceptions: list[CalendarException]) -> WorkingCalendar:
    return WorkingCalendar(
        timezone=calendar.timezone,
        work_start=calendar.work_start,
        work_end=calendar.work_end,
        country=calendar.country,
        extra_holidays=frozenset(
            e.day for e in exceptions if e.kind == CalendarExceptionKind.holiday
        ),
        extra_working_days=frozenset(
            e.day for e in exceptions if e.kind == CalendarExceptionKind.working_day
        ),
    )


async def load_working_calendar(
    session: AsyncSession, department_id: uuid.UUID | None = None
) -> WorkingCalendar:
    """The calendar a department works by: its own, or the city's."""
    calendar: Calendar | None = None
    if department_id is not None:
        department = await departments.get(session, department_id)
        if department is not None and department.calendar_id is not None:
            calendar = await repository.get(session, department.calendar_id)
    if calendar is None:
        calendar = await city_calendar(session)
    return working_calendar(calendar, await repository.exceptions(session, calendar.id))


def _check_hours(timezone: str, start: Any, end: Any) -> None:
    try:
        WorkingCalendar(timezone=timezone, work_start=start, work_end=end)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"Invalid calendar: {exc}", field="timezone") from exc


async def create_calendar(session: AsyncSession, body: CalendarCreate) -> Calendar:
    _check_hours(body.timezone, body.work_start, body.work_end)
    return await repository.add(session, Calendar(**body.model_dump()))


async def update_calendar(
    session: AsyncSession, calendar: Calendar, body: CalendarUpdate
) -> Calendar:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    merged: dict[str, Any] = {
        "timezone": calendar.timezone,
        "work_start": calendar.work_start,
        "work_end": calendar.work_end,
    } | changes
    _check_hours(merged["timezone"], merged["work_start"], merged["work_end"])
    for name, value in changes.items():
        setattr(calendar, name, value)
    await session.flush()
    return calendar


async def put_calendar_exception(
    session: AsyncSession,
    calendar: Calendar,
    day: date,
    kind: CalendarExceptionKind,
    note: str,
) -> CalendarException:
    return await repository.put_exception(session, calendar.id, day, kind, note)


async def delete_calendar_exception(session: AsyncSession, calendar: Calendar, day: date) -> None:
    if not await repository.delete_exception(session, calendar.id, day):
        raise NotFound(f"No exception on {day.isoformat()}.")

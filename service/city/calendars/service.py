"""Calendars: the city's default, departments' own, exceptions, and the working calendar
deadlines are counted in. Services never commit."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.calendar import WorkingCalendar
from service.city.calendars import repository
from service.city.departments import repository as departments
from service.city.models import Calendar, CalendarException, CalendarExceptionKind
from service.city.schemas import CalendarCreate, CalendarUpdate
from service.errors import InvalidInput, NotFound
from service.languages import Language
from service.readable import readable_day


async def city_calendar(session: AsyncSession) -> Calendar:
    """The city's default calendar, created with the defaults on first use."""
    found = await repository.city_default(session)
    if found is not None:
        return found
    await repository.add_city_default(session)
    created = await repository.city_default(session)
    assert created is not None
    return created


async def city_timezone(session: AsyncSession) -> str:
    """The city's time zone: instants in messages people read are shown in it."""
    return (await city_calendar(session)).timezone


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


# Where a session keeps the working calendars it loaded: one request (one transaction) loads
# each department's calendar once, however many services ask for it.
_SESSION_CALENDARS = "working_calendars"


def forget_working_calendars(session: AsyncSession) -> None:
    """Drop the calendars this session loaded (a calendar changed in it)."""
    session.info.pop(_SESSION_CALENDARS, None)


async def load_working_calendar(
    session: AsyncSession, department_id: uuid.UUID | None = None
) -> WorkingCalendar:
    """The calendar a department works by: its own, or the city's; loaded once per
    session (a request's transaction)."""
    loaded: dict[uuid.UUID | None, WorkingCalendar] = session.info.setdefault(
        _SESSION_CALENDARS, {}
    )
    found = loaded.get(department_id)
    if found is None:
        found = loaded[department_id] = await _load_working_calendar(session, department_id)
    return found


async def _load_working_calendar(
    session: AsyncSession, department_id: uuid.UUID | None
) -> WorkingCalendar:
    calendar: Calendar | None = None
    if department_id is not None:
        department = await departments.get(session, department_id)
        if department is not None and department.calendar_id is not None:
            calendar = await repository.get(session, department.calendar_id)
    if calendar is None:
        calendar = await city_calendar(session)
    return working_calendar(calendar, await repository.exceptions(session, calendar.id))


# The city's working calendar as this process last loaded it, with the calendar_version
# token it was loaded under (see city_working_calendar).
_city_cache: tuple[uuid.UUID, WorkingCalendar] | None = None


async def city_working_calendar(session: AsyncSession, token: uuid.UUID | None) -> WorkingCalendar:
    """The city's working calendar, cached per process.

    ``token`` is the ``calendar_version`` token the caller read in its transaction (a
    trigger renews it with every change to the calendars, TRUNCATE included): the cached
    calendar is used when it was loaded under the same token, otherwise the calendar is
    read again (two statements) and cached under ``token``. Reading the token before the
    calendar is what keeps this safe: a change committed in between renews the token, so
    the next caller reloads. A calendar created here on first use is not cached (this
    transaction may still roll back)."""
    global _city_cache
    cached = _city_cache
    if token is not None and cached is not None and cached[0] == token:
        return cached[1]
    found = await repository.city_default(session)
    if found is None:
        return await load_working_calendar(session)
    calendar = working_calendar(found, await repository.exceptions(session, found.id))
    if token is not None:
        _city_cache = (token, calendar)
    return calendar


async def current_city_calendar(session: AsyncSession) -> WorkingCalendar:
    """The city's working calendar for a request that reads nothing else of the calendars:
    one statement for the version token, and the process's cached calendar while the token
    is the same (:func:`city_working_calendar`)."""
    token = await rawsql.fetchrow(session, "SELECT token FROM calendar_version WHERE id = 1")
    return await city_working_calendar(session, token["token"] if token is not None else None)


def _check_hours(timezone: str, start: Any, end: Any) -> None:
    try:
        WorkingCalendar(timezone=timezone, work_start=start, work_end=end)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"Invalid calendar: {exc}", field="timezone") from exc


async def create_calendar(session: AsyncSession, body: CalendarCreate) -> Calendar:
    _check_hours(body.timezone, body.work_start, body.work_end)
    forget_working_calendars(session)
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
    forget_working_calendars(session)
    await session.flush()
    return calendar


async def put_calendar_exception(
    session: AsyncSession,
    calendar: Calendar,
    day: date,
    kind: CalendarExceptionKind,
    note: str,
) -> CalendarException:
    forget_working_calendars(session)
    return await repository.put_exception(session, calendar.id, day, kind, note)


async def delete_calendar_exception(session: AsyncSession, calendar: Calendar, day: date) -> None:
    forget_working_calendars(session)
    if not await repository.delete_exception(session, calendar.id, day):
        shown = readable_day(day, Language.en, "UTC")  # error texts are English
        raise NotFound(f"No exception on {shown}.", day=day.isoformat())

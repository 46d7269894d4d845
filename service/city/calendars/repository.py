"""Calendar SQL: calendars and their extra holidays and working days."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.city.models import Calendar, CalendarException, CalendarExceptionKind
from service.db import table_of


async def get(session: AsyncSession, calendar_id: uuid.UUID) -> Calendar | None:
    return await session.get(Calendar, calendar_id)


async def city_default(session: AsyncSession) -> Calendar | None:
    found = await session.execute(select(Calendar).where(col(Calendar.is_city_default)))
    return found.scalar_one_or_none()


async def add_city_default(session: AsyncSession) -> None:
    """The city's calendar with the defaults, unless a concurrent request made it first."""
    await session.execute(
        insert(table_of(Calendar))
        .values(id=uuid.uuid4(), name="City", is_city_default=True)
        .on_conflict_do_nothing()
    )


async def listed(session: AsyncSession) -> list[Calendar]:
    rows = await session.execute(
        select(Calendar).order_by(col(Calendar.is_city_default).desc(), Calendar.name)
    )
    return list(rows.scalars())


async def add(session: AsyncSession, calendar: Calendar) -> Calendar:
    session.add(calendar)
    await session.flush()
    return calendar


async def exceptions(session: AsyncSession, calendar_id: uuid.UUID) -> list[CalendarException]:
    rows = await session.execute(
        select(CalendarException)
        .where(col(CalendarException.calendar_id) == calendar_id)
        .order_by(col(CalendarException.day))
    )
    return list(rows.scalars())


async def put_exception(
    session: AsyncSession, calendar_id: uuid.UUID, day: date, kind: CalendarExceptionKind, note: str
) -> CalendarException:
    table = table_of(CalendarException)
    statement = insert(table).values(
        id=uuid.uuid4(), calendar_id=calendar_id, day=day, kind=kind, note=note
    )
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_calendar_exception_day",
            set_={"kind": statement.excluded.kind, "note": statement.excluded.note},
        )
    )
    found = await session.execute(
        select(CalendarException).where(
            col(CalendarException.calendar_id) == calendar_id, col(CalendarException.day) == day
        )
    )
    exception = found.scalar_one()
    await session.refresh(exception)
    return exception


async def delete_exception(session: AsyncSession, calendar_id: uuid.UUID, day: date) -> bool:
    """Whether there was one to delete."""
    result = await session.execute(
        delete(CalendarException).where(
            col(CalendarException.calendar_id) == calendar_id, col(CalendarException.day) == day
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

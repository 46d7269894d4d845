"""Calendar endpoints: the public year view and the admin's calendars and exceptions."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.dependencies import AdminActor
from service.auth.policy import PUBLIC
from service.city.calendars import service
from service.city.departments.service import get_department
from service.city.models import Calendar, CalendarException
from service.city.schemas import (
    CalendarCreate,
    CalendarDay,
    CalendarExceptionPublic,
    CalendarExceptionPut,
    CalendarPublic,
    CalendarUpdate,
    CalendarYear,
    Holiday,
)
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM

public = APIRouter(prefix="/v1", tags=["city"], dependencies=[PUBLIC])
admin = APIRouter(prefix="/v1/admin", tags=["city admin"])


async def _calendar_public(
    session: AsyncSession, calendar: Calendar, exceptions: list[CalendarException] | None = None
) -> CalendarPublic:
    if exceptions is None:
        exceptions = await service.calendar_exceptions(session, calendar.id)
    return CalendarPublic(
        id=calendar.id,
        name=calendar.name,
        timezone=calendar.timezone,
        work_start=calendar.work_start,
        work_end=calendar.work_end,
        is_city_default=calendar.is_city_default,
        exceptions=[
            CalendarExceptionPublic(day=e.day, kind=e.kind, note=e.note) for e in exceptions
        ],
    )


@public.get(
    "/calendar",
    summary="Working hours and non-working days of a year (the city's or a department's)",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def get_calendar(
    session: SessionDep,
    now: NowDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    department_id: uuid.UUID | None = None,
) -> CalendarYear:
    calendar = await service.city_calendar(session)
    if department_id is not None:
        department = await get_department(session, department_id)
        if department.calendar_id is not None:
            calendar = await service.get_calendar(session, department.calendar_id)
    year = year or now.year
    exceptions = await service.calendar_exceptions(session, calendar.id)
    base = await _calendar_public(session, calendar, exceptions)
    working = service.working_calendar(calendar, exceptions)
    holidays = working.holidays_between(date(year, 1, 1), date(year, 12, 31))
    return CalendarYear(
        **base.model_dump(),
        year=year,
        holidays=[Holiday(day=d, name=n) for d, n in holidays],
    )


async def _resolve(session: AsyncSession, calendar_id: uuid.UUID | None) -> Calendar:
    if calendar_id is None:
        return await service.city_calendar(session)
    return await service.get_calendar(session, calendar_id)


@admin.get("/calendars", summary="All calendars", responses=ERRORS)
async def list_calendars(actor: AdminActor, session: SessionDep) -> list[CalendarPublic]:
    await service.city_calendar(session)
    return [await _calendar_public(session, c) for c in await service.list_calendars(session)]


@admin.post(
    "/calendars",
    status_code=status.HTTP_201_CREATED,
    summary="Add a calendar for departments that keep other hours",
    responses=ERRORS,
)
async def create_calendar(
    body: CalendarCreate, actor: AdminActor, session: SessionDep
) -> CalendarPublic:
    return await _calendar_public(session, await service.create_calendar(session, body))


@admin.get("/calendar", summary="The city's calendar", responses=ERRORS)
@admin.get("/calendars/{calendar_id}", summary="A calendar", responses=ERRORS)
async def admin_get_calendar(
    actor: AdminActor, session: SessionDep, calendar_id: uuid.UUID | None = None
) -> CalendarPublic:
    return await _calendar_public(session, await _resolve(session, calendar_id))


@admin.patch("/calendar", summary="Change the city's working hours", responses=ERRORS)
@admin.patch(
    "/calendars/{calendar_id}", summary="Change a calendar's working hours", responses=ERRORS
)
async def update_calendar(
    body: CalendarUpdate,
    actor: AdminActor,
    session: SessionDep,
    calendar_id: uuid.UUID | None = None,
) -> CalendarPublic:
    calendar = await service.update_calendar(session, await _resolve(session, calendar_id), body)
    return await _calendar_public(session, calendar)


@admin.put(
    "/calendar/exceptions/{day}",
    summary="Declare an extra holiday or working day in the city's calendar",
    responses=ERRORS,
)
@admin.put(
    "/calendars/{calendar_id}/exceptions/{day}",
    summary="Declare an extra holiday or working day",
    responses=ERRORS,
)
async def put_calendar_exception(
    day: CalendarDay,
    body: CalendarExceptionPut,
    actor: AdminActor,
    session: SessionDep,
    calendar_id: uuid.UUID | None = None,
) -> CalendarExceptionPublic:
    calendar = await _resolve(session, calendar_id)
    exception = await service.put_calendar_exception(session, calendar, day, body.kind, body.note)
    return CalendarExceptionPublic(day=exception.day, kind=exception.kind, note=exception.note)


@admin.delete(
    "/calendar/exceptions/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an exception from the city's calendar",
    responses=ERRORS,
)
@admin.delete(
    "/calendars/{calendar_id}/exceptions/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an exception",
    responses=ERRORS,
)
async def delete_calendar_exception(
    day: CalendarDay,
    actor: AdminActor,
    session: SessionDep,
    calendar_id: uuid.UUID | None = None,
) -> None:
    await service.delete_calendar_exception(session, await _resolve(session, calendar_id), day)

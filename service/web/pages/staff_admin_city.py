"""The administration of the city's departments and calendars: the department tree, each
calendar's working hours and its extra holidays and working days, through the services and
request schemas of the city's admin routes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.city import service as city
from service.city.calendars import service as calendars
from service.city.models import CalendarExceptionKind
from service.city.schemas import CalendarDay, CalendarExceptionPut, CalendarUpdate
from service.errors import AppError, NotFound
from service.web.dependencies import CSRF, PageContext
from service.web.forms import FormErrors, field_errors, parse
from service.web.i18n import N_, translate
from service.web.pages.staff_admin import AdminPage, done_message, form_values
from service.web.templating import render

router = APIRouter(include_in_schema=False)


class ExceptionForm(CalendarExceptionPut):
    """The day of ``PUT …/exceptions/{day}`` (a path parameter of the API) with the body."""

    day: CalendarDay


EXCEPTION_KINDS = {
    CalendarExceptionKind.holiday: N_("Extra holiday"),
    CalendarExceptionKind.working_day: N_("Extra working day"),
}
DONE = {
    "exception": N_("The calendar was changed."),
    "hours": N_("The working hours were changed."),
    "removed": N_("The exception was removed from the calendar."),
}
HOURS_IN_ORDER = N_("The working day ends after it starts.")


# --- departments and calendars ------------------------------------------------------------------


@router.get("/staff/admin/departments")
async def departments(page: PageContext = AdminPage) -> Response:
    """``GET /v1/admin/departments`` and ``GET /v1/admin/calendars`` as a tree."""
    found = await city.list_departments(page.session, include_inactive=True)
    children: dict[uuid.UUID | None, list[Any]] = {}
    known = {d.id for d in found}
    for department in sorted(found, key=lambda d: d.name):
        parent = department.parent_id if department.parent_id in known else None
        children.setdefault(parent, []).append(department)
    city_calendar = await city.city_calendar(page.session)
    found_calendars = await calendars.list_calendars(page.session)
    return render(
        page,
        "staff/admin/departments.html",
        children=children,
        calendars=found_calendars,
        calendar_names={c.id: c.name for c in found_calendars},
        city_calendar=city_calendar.id,
    )


async def _calendar_page(
    page: PageContext,
    calendar_id: uuid.UUID,
    *,
    year: int | None = None,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    form: str = "exception",
    message: str = "",
    status_code: int = 200,
) -> Response:
    calendar = await calendars.get_calendar(page.session, calendar_id)
    exceptions = await calendars.calendar_exceptions(page.session, calendar.id)
    year = year or page.now.year
    working = calendars.working_calendar(calendar, exceptions)
    users = [
        d
        for d in await city.list_departments(page.session, include_inactive=True)
        if d.calendar_id == calendar.id
    ]
    return render(
        page,
        "staff/admin/calendar.html",
        status_code=status_code,
        calendar=calendar,
        exceptions=exceptions,
        holidays=working.holidays_between(date(year, 1, 1), date(year, 12, 31)),
        year=year,
        departments=users,
        kinds=EXCEPTION_KINDS,
        form=form,
        errors=errors or FormErrors(),
        values=values or {},
        message=message,
    )


@router.get("/staff/admin/calendars/{calendar_id}")
async def calendar_page(
    calendar_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    try:
        year = int(request.query_params.get("year") or page.now.year)
    except ValueError:
        year = page.now.year
    year = min(max(year, 2000), 2100)
    message = done_message(page, request, DONE)
    return await _calendar_page(page, calendar_id, year=year, message=message)


@router.post("/staff/admin/calendars/{calendar_id}/exceptions", dependencies=[CSRF])
async def put_exception(
    calendar_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    """``PUT /v1/admin/calendars/{id}/exceptions/{day}``: the day, its kind and a note."""
    calendar = await calendars.get_calendar(page.session, calendar_id)
    form = await request.form()
    values = form_values(form, "day", "kind", "note")
    try:
        body = parse(ExceptionForm, values)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _calendar_page(
            page, calendar_id, errors=errors, values=values, status_code=422
        )
    day = body.day
    await calendars.put_calendar_exception(page.session, calendar, day, body.kind, body.note)
    return RedirectResponse(
        f"/staff/admin/calendars/{calendar_id}?year={day.year}&done=exception", status_code=303
    )


@router.post("/staff/admin/calendars/{calendar_id}/hours", dependencies=[CSRF])
async def change_hours(
    calendar_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    """``PATCH /v1/admin/calendars/{id}`` with the working day's start and end."""
    calendar = await calendars.get_calendar(page.session, calendar_id)
    form = await request.form()
    values = form_values(form, "work_start", "work_end")
    try:
        body = parse(CalendarUpdate, values)
        async with page.session.begin_nested():
            await calendars.update_calendar(page.session, calendar, body)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "" in errors:
            del errors[""]
            errors["work_end"] = translate(page.language, HOURS_IN_ORDER)
        return await _calendar_page(
            page, calendar_id, errors=errors, values=values, form="hours", status_code=422
        )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = FormErrors({"work_end": translate(page.language, HOURS_IN_ORDER)})
        return await _calendar_page(
            page, calendar_id, errors=errors, values=values, form="hours", status_code=exc.status
        )
    return RedirectResponse(f"/staff/admin/calendars/{calendar_id}?done=hours", status_code=303)


@router.post("/staff/admin/calendars/{calendar_id}/exceptions/{day}/remove", dependencies=[CSRF])
async def remove_exception(
    calendar_id: uuid.UUID, day: date, page: PageContext = AdminPage
) -> Response:
    """``DELETE /v1/admin/calendars/{id}/exceptions/{day}`` (404 when there is none)."""
    calendar = await calendars.get_calendar(page.session, calendar_id)
    await calendars.delete_calendar_exception(page.session, calendar, day)
    return RedirectResponse(
        f"/staff/admin/calendars/{calendar_id}?year={day.year}&done=removed", status_code=303
    )

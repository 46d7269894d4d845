"""The working calendar filing counts deadlines in is cached per process and follows every
change of the calendars: an admin's new holiday, a removed one, a TRUNCATE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.calendar import TimeUnit, add_working_time
from service.city.calendars import service as calendars
from service.city.calendars.service import load_working_calendar
from service.city.models import CalendarVersion
from service.config import Settings
from tests.factories import KESKLINN, bearer, make_user, reason_by_code


async def _file(client: AsyncClient, session: AsyncSession, headers: dict[str, str]) -> Any:
    reason = await reason_by_code(session, "pothole")
    body = {
        "reason_id": str(reason.id),
        "lat": KESKLINN[0],
        "lon": KESKLINN[1],
        "description": "A deep pothole in front of the town hall.",
        "attributes": {"size": "large"},
    }
    response = await client.post("/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["private"]


async def _due_day(session: AsyncSession, private: Any) -> tuple[datetime, datetime]:
    due = datetime.fromisoformat(private["moderation_due_at"])
    submitted = datetime.fromisoformat(private["submitted_at"])
    # This session outlives the requests: what it loaded before is not kept for it.
    calendars.forget_working_calendars(session)
    calendar = await load_working_calendar(session)
    # What the calendar in the database gives, not what a stale cache would.
    assert due == add_working_time(submitted, 8.5, TimeUnit.working_hours, calendar)
    return submitted, due.astimezone(calendar.zone)


async def test_a_new_holiday_moves_the_next_filings_deadline(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    headers = bearer(settings, resident)
    _, first_due = await _due_day(session, await _file(client, session, headers))

    # The day the first report falls due becomes a holiday: the next filing skips it.
    day = first_due.date().isoformat()
    put = await client.put(
        f"/v1/admin/calendar/exceptions/{day}",
        json={"kind": "holiday", "note": "Storm day"},
        headers=bearer(settings, admin),
    )
    assert put.status_code == 200, put.text
    _, second_due = await _due_day(session, await _file(client, session, headers))
    assert second_due.date() > first_due.date()

    # Taken back: the deadline falls on that day again.
    deleted = await client.delete(
        f"/v1/admin/calendar/exceptions/{day}", headers=bearer(settings, admin)
    )
    assert deleted.status_code == 204, deleted.text
    _, third_due = await _due_day(session, await _file(client, session, headers))
    assert third_due.date() == first_due.date()


async def test_truncating_the_exceptions_is_seen(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    headers = bearer(settings, resident)
    _, first_due = await _due_day(session, await _file(client, session, headers))
    city = await calendars.city_calendar(session)
    await session.execute(
        text(
            "INSERT INTO calendar_exception (id, calendar_id, day, kind, note) "
            "VALUES (:id, :calendar, :day, 'holiday', '')"
        ),
        {"id": uuid.uuid4(), "calendar": city.id, "day": first_due.date()},
    )
    _, second_due = await _due_day(session, await _file(client, session, headers))
    assert second_due.date() > first_due.date()

    before = (await session.execute(select(CalendarVersion.token))).scalar_one()
    await session.execute(text("TRUNCATE calendar_exception"))
    after = (await session.execute(select(CalendarVersion.token))).scalar_one()
    assert after != before
    _, third_due = await _due_day(session, await _file(client, session, headers))
    assert third_due.date() == first_due.date()


async def test_the_calendar_is_read_once_per_version(session: AsyncSession) -> None:
    token = (await session.execute(select(CalendarVersion.token))).scalar_one()
    first = await calendars.city_working_calendar(session, token)
    assert await calendars.city_working_calendar(session, token) is first
    # Another token (the calendars changed): read again.
    assert await calendars.city_working_calendar(session, uuid.uuid4()) is not first
    # No token (no version row): never cached.
    assert await calendars.city_working_calendar(session, None) is not first

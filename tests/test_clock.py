"""The request's clock (``app.state.clock``) is the only "now" a route sees: reading a report,
admitting an API key, the calendar's default year and an inbox mark all follow a frozen
clock, where they once read the system time themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.notifications.dispatch import Notice, notify
from tests.factories import accept_report, bearer, file_report, make_user


async def test_a_report_turns_overdue_by_the_request_clock(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    reporter = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, reporter))
    assert report.due_at is not None and report.due_at > now
    headers = bearer(settings, reporter)

    before = await client.get(f"/v1/reports/{report.id}", headers=headers)
    assert before.status_code == 200
    assert before.json()["overdue"] is False

    app.state.clock = lambda: report.due_at + timedelta(minutes=1)
    after = await client.get(f"/v1/reports/{report.id}", headers=headers)
    assert after.json()["overdue"] is True
    by_code = await client.get(f"/v1/reports/by-code/{report.tracking_code}", headers=headers)
    assert by_code.json()["overdue"] is True
    listed = await client.get("/v1/me/reports", headers=headers)
    assert [item["overdue"] for item in listed.json()["items"]] == [True]


async def test_an_api_key_expires_by_the_request_clock(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    until = (now + timedelta(days=30)).replace(microsecond=0)
    created = await client.post(
        "/v1/api-keys",
        json={"name": "Partner app", "scopes": ["reports:read"], "expires_at": until.isoformat()},
        headers=bearer(settings, admin),
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}

    app.state.clock = lambda: until - timedelta(seconds=1)
    assert (await client.get("/v1/me", headers=key)).status_code == 200
    app.state.clock = lambda: until
    refused = await client.get("/v1/me", headers=key)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The API key is not valid."


async def test_the_calendar_year_defaults_to_the_request_clock(
    app: FastAPI, client: AsyncClient
) -> None:
    app.state.clock = lambda: datetime(2031, 6, 2, 9, 0, tzinfo=UTC)
    view = await client.get("/v1/calendar")
    assert view.status_code == 200, view.text
    assert view.json()["year"] == 2031


async def test_marking_read_stamps_the_request_clock(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    mari = await make_user(session, settings)
    values = {"code": "ML-1", "due": "3.12.2026 16:00", "department": "Roads", "level": 2}
    notice = Notice("sla_breached", "breach:clock:1:1", "sla_breached", values)
    await notify(session, notice, [mari], now=now)
    frozen = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)
    app.state.clock = lambda: frozen

    marked = await client.post("/v1/me/notifications/read-all", headers=bearer(settings, mari))
    assert marked.status_code == 200, marked.text
    inbox = await client.get("/v1/me/notifications", headers=bearer(settings, mari))
    assert [datetime.fromisoformat(item["read_at"]) for item in inbox.json()["items"]] == [frozen]

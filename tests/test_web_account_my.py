"""My pages: my reports, my inbox (only my own notifications, marked read) and which
notifications I get — the same services as ``/v1/me/...``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.notifications.dispatch import Notice, notify
from tests.factories import bearer, file_report, make_user
from tests.web_pages import post_form, sign_in


def _breach(key: str, code: str) -> Notice:
    values = {"code": code, "due": "3.12.2026 16:00", "department": "Teed", "level": 2}
    return Notice(event_type="sla_breached", event_key=key, template="sla_breached", values=values)


async def test_my_reports_lists_only_my_reports_linked_by_tracking_code(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    mari = await make_user(session, settings)
    jaan = await make_user(session, settings)
    mine = await file_report(session, mari, description="Auk Riia tänaval")
    theirs = await file_report(session, jaan, description="Auk Tähe tänaval")
    await sign_in(client, mari.email)
    page = await client.get("/my/reports")
    assert page.status_code == 200
    assert f'href="/reports/{mine.tracking_code}"' in page.text
    assert theirs.tracking_code not in page.text
    assert "Ootab modereerimist" in page.text


async def test_my_reports_without_reports_says_so(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await sign_in(client, (await make_user(session, settings)).email)
    page = await client.get("/my/reports")
    assert "Te ei ole veel ühtegi teadet esitanud." in page.text
    bad_cursor = await client.get("/my/reports", params={"cursor": "nonsense"})
    assert bad_cursor.status_code in (400, 422)
    assert bad_cursor.headers["content-type"].startswith("text/html")


async def test_the_inbox_shows_only_my_notifications_and_marks_them_read(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    mari = await make_user(session, settings)
    jaan = await make_user(session, settings)
    now = datetime.now(UTC)
    await notify(session, _breach("breach:mari:1", "ML-2026-00111"), [mari], now=now)
    await notify(
        session,
        _breach("breach:mari:2", "ML-2026-00112"),
        [mari],
        now=now + timedelta(minutes=1),
    )
    await notify(session, _breach("breach:jaan:1", "ML-2026-00999"), [jaan], now=now)
    jaans = (await client.get("/v1/me/notifications", headers=bearer(settings, jaan))).json()
    jaans_id = jaans["items"][0]["id"]

    await sign_in(client, mari.email)
    inbox = await client.get("/my/inbox")
    assert inbox.status_code == 200
    assert "ML-2026-00111" in inbox.text and "ML-2026-00112" in inbox.text
    assert "ML-2026-00999" not in inbox.text
    assert "Lugemata teavitusi: 2" in inbox.text

    mine = (await client.get("/v1/me/notifications", headers=bearer(settings, mari))).json()
    first_id = mine["items"][0]["id"]
    read = await post_form(client, "/my/inbox", f"/my/inbox/{first_id}/read", {})
    assert read.status_code == 303
    assert "Lugemata teavitusi: 1" in (await client.get("/my/inbox")).text
    unread_only = await client.get("/my/inbox", params={"unread": "true"})
    assert "ML-2026-00111" in unread_only.text
    assert "ML-2026-00112" not in unread_only.text

    # Another person's notification is not found, as in the API.
    other = await post_form(client, "/my/inbox", f"/my/inbox/{jaans_id}/read", {})
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("text/html")
    all_read = await post_form(client, "/my/inbox", "/my/inbox/read-all", {})
    assert all_read.status_code == 303
    assert "Lugemata teavitusi: 0" in (await client.get("/my/inbox")).text
    still = (await client.get("/v1/me/notifications", headers=bearer(settings, jaan))).json()
    assert still["unread_count"] == 1


async def test_preferences_turn_channels_off_but_never_legal_notices(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    mari = await make_user(session, settings)
    await sign_in(client, mari.email)
    page = await client.get("/my/preferences")
    assert page.status_code == 200
    assert 'name="email:report_accepted"' in page.text
    # Everything ticked except the email of "report accepted" (and legal notices, whose
    # boxes are disabled and so never sent by a browser).
    before = (
        await client.get("/v1/me/notification-preferences", headers=bearer(settings, mari))
    ).json()["items"]
    fields = {}
    for item in before:
        if item["legal"]:
            continue
        fields[f"inbox:{item['event_type']}"] = "on"
        if item["event_type"] != "report_accepted":
            fields[f"email:{item['event_type']}"] = "on"
    saved = await post_form(client, "/my/preferences", "/my/preferences", fields)
    assert saved.status_code == 303, saved.text
    after = {
        item["event_type"]: item
        for item in (
            await client.get("/v1/me/notification-preferences", headers=bearer(settings, mari))
        ).json()["items"]
    }
    assert after["report_accepted"]["email"] is False
    assert after["report_accepted"]["inbox"] is True
    assert all(item["email"] and item["inbox"] for item in after.values() if item["legal"])
    shown = await client.get(saved.headers["location"])
    assert "Teie seaded on salvestatud." in shown.text
    assert 'name="email:report_accepted" aria-labelledby' in shown.text
    assert 'name="email:report_accepted" aria-labelledby="email-label event-report_accepted">' in (
        shown.text
    )

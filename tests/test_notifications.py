"""notify(): exactly once per event, recipient and channel; the in-app inbox; preferences and
legal notices; the templates the SLA engine uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.models import Role, User
from service.auth.schemas import ApiKeyCreate
from service.auth.scopes import Scope
from service.config import Settings
from service.languages import Language
from service.mail.models import DeliveryStatus, EmailMessage
from service.mail.templates import EMAILS, GREETINGS, render
from service.notifications import repository
from service.notifications.dispatch import Notice, notify
from service.notifications.events import EVENT_TYPES
from service.notifications.models import Channel, NotificationDelivery, NotificationEvent
from service.readable import day_value, lines_value, span_value, time_value
from tests.conftest import Mailbox, RunWorker
from tests.factories import bearer, file_report, make_user

SLA_VALUES = {"code": "ML-2026-00042", "due": "3.12.2026 16:00", "department": "Roads", "level": 2}


def _breach(key: str = "breach:r1:1:1", *, legal: bool = False) -> Notice:
    return Notice(
        event_type="sla_breached",
        event_key=key,
        template="sla_breached",
        values=SLA_VALUES,
        legal=legal,
    )


async def _deliveries(session: AsyncSession, user: User) -> list[NotificationDelivery]:
    rows = await session.execute(
        select(NotificationDelivery)
        .where(NotificationDelivery.user_id == user.id)
        .order_by(NotificationDelivery.channel)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return int(
        (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
    )


async def _api_key(session: AsyncSession, settings: Settings, owner: User) -> dict[str, str]:
    # A key for another account: the operator's command line makes those (actor None).
    _, secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name="Partner app", scopes=list(Scope), owner_id=owner.id),
        datetime.now(UTC),
    )
    return {"X-API-Key": secret}


# --- exactly once ------------------------------------------------------------------------


async def test_a_repeated_notify_delivers_nothing_twice(
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
    now: datetime,
) -> None:
    mari = await make_user(session, settings, name="Mari")
    jaan = await make_user(session, settings, name="Jaan")

    assert await notify(session, _breach(), [mari, jaan, mari], now=now) == 2
    # The same event again (a retried job, a second worker): nothing new at all.
    assert await notify(session, _breach(), [jaan, mari], now=now) == 0
    assert (
        await _count(session, NotificationEvent, NotificationEvent.event_key == "breach:r1:1:1")
        == 1
    )
    for person in (mari, jaan):
        deliveries = await _deliveries(session, person)
        assert [d.channel for d in deliveries] == [Channel.email, Channel.inbox]
        assert await _count(session, EmailMessage, EmailMessage.user_id == person.id) == 1

    await run_worker()
    assert len(mailbox.to(mari.email)) == 1
    assert len(mailbox.to(jaan.email)) == 1
    assert mailbox.to(mari.email)[0]["Subject"] == "Teate ML-2026-00042 tähtaeg on ületatud"
    # The delivery log follows the email: sent, after one attempt.
    email, inbox = await _deliveries(session, mari)
    assert (email.status, email.attempts, email.sent_at is not None) == (
        DeliveryStatus.sent,
        1,
        True,
    )
    assert inbox.status == DeliveryStatus.sent

    # Someone new told of the same event gets it; those told before do not, again.
    kati = await make_user(session, settings)
    assert await notify(session, _breach(), [mari, kati], now=now) == 1
    await run_worker()
    assert len(mailbox.to(kati.email)) == 1
    assert len(mailbox.to(mari.email)) == 1


async def test_disabled_accounts_get_nothing_and_contact_addresses_only_email(
    session: AsyncSession, settings: Settings, now: datetime
) -> None:
    gone = await make_user(session, settings)
    gone.disabled_at = datetime.now(UTC)
    contact = await make_user(session, settings)
    contact.contact_only = True
    await session.flush()

    assert await notify(session, _breach(), [gone, contact], now=now) == 1
    assert await _deliveries(session, gone) == []
    assert [d.channel for d in await _deliveries(session, contact)] == [Channel.email]


def test_every_event_type_has_a_template_in_every_language() -> None:
    session_time = span_value(
        datetime(2027, 4, 8, 14, tzinfo=UTC), datetime(2027, 4, 8, 16, tzinfo=UTC), "Europe/Tallinn"
    )
    values = {
        **SLA_VALUES,
        "reason": "r",
        "original": "ML-1",
        "outcome": "Fixed",
        "text": "t",
        "until": day_value(date(2026, 12, 1)),
        **{f"outcome_{language}": "Fixed" for language in Language},
        "question": "q",
        "round": 2,
        "rounds": 3,
        "from_department": "Roads",
        "current_due": time_value(datetime(2026, 12, 1, 10, tzinfo=UTC), "Europe/Tallinn"),
        "justification": "j",
        "note": "",
        # The training programme's.
        "schedule": lines_value([["1.", session_time, "Home expenses"]]),
        "link": "http://localhost:8000/v1/training/programmes/1",
        "topic": "Home expenses",
        "when": session_time,
        "venue": "Annelinna raamatukogu",
        "address": "Kaunase pst 13",
        # The idea bank's notices name the idea by its title.
        "title": "Benches on Raekoja plats",
        "reasons": "- too short",
        "comment": "c",
        "decision": "pilot",
        "reasoning": "r",
        "score": 4.2,
        # The living lab's: a pilot's invitation, and a task's title in every language.
        "organisation": "Targad Arvestid OÜ",
        "starts": day_value(date(2027, 1, 4)),
        "ends": day_value(date(2027, 2, 4)),
        "respond_by": time_value(datetime(2026, 12, 20, 10, tzinfo=UTC), "Europe/Tallinn"),
        **{f"title_{language}": "Benches on Raekoja plats" for language in Language},
    }
    for event_type in EVENT_TYPES.values():
        for template in event_type.template_names():
            assert template in EMAILS, f"no template {template} for {event_type.name}"
            named = template.startswith(("idea_", "training_", "lab_"))
            subject_of = "Benches on Raekoja plats" if named else "ML-"
            for language in Language:
                subject, body = render(template, language, "Mari", **values)
                assert body.startswith(GREETINGS[language][0].format(name="Mari"))
                assert subject_of in subject + body
                # Readable values are written out, never shown as their JSON.
                assert "readable" not in subject + body, (template, language)
    # The SLA engine's placeholders all show.
    _, body = render("sla_escalated", Language.en, None, **SLA_VALUES)
    assert body.startswith("Hello,")
    for value in SLA_VALUES.values():
        assert str(value) in body


# --- the inbox ---------------------------------------------------------------------------


async def test_the_inbox_pages_counts_and_marks_read(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    mari = await make_user(session, settings)
    mari.language = Language.en
    start = datetime.now(UTC)
    for number in range(3):
        await notify(
            session, _breach(f"breach:r{number}:1:1"), [mari], now=start + timedelta(minutes=number)
        )
    headers = bearer(settings, mari)

    first = await client.get("/v1/me/notifications", params={"limit": 2}, headers=headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["unread_count"] == 3
    assert [item["read_at"] for item in page["items"]] == [None, None]
    assert page["items"][0]["subject"] == "Report ML-2026-00042 is overdue"
    # In-app entries are not letters: no greeting line.
    assert page["items"][0]["body"].startswith("The report ML-2026-00042 of Roads")
    newest = page["items"][0]
    assert newest["created_at"] > page["items"][1]["created_at"]
    rest = await client.get(
        "/v1/me/notifications", params={"limit": 2, "cursor": page["next_cursor"]}, headers=headers
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None

    read = await client.post(f"/v1/me/notifications/{newest['id']}/read", headers=headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    unread = await client.get("/v1/me/notifications", params={"unread": True}, headers=headers)
    assert unread.json()["unread_count"] == 2
    assert newest["id"] not in {item["id"] for item in unread.json()["items"]}

    everything = await client.post("/v1/me/notifications/read-all", headers=headers)
    assert everything.json() == {"marked": 2, "unread_count": 0}
    assert (await client.get("/v1/me/notifications", headers=headers)).json()["unread_count"] == 0


async def test_another_persons_notification_is_not_found_and_api_keys_are_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    mari = await make_user(session, settings)
    jaan = await make_user(session, settings)
    await notify(session, _breach(), [mari], now=now)
    mine = (await client.get("/v1/me/notifications", headers=bearer(settings, mari))).json()
    notification_id = mine["items"][0]["id"]

    theirs = await client.post(
        f"/v1/me/notifications/{notification_id}/read", headers=bearer(settings, jaan)
    )
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/me/notifications", headers=bearer(settings, jaan))).json() == {
        "items": [],
        "next_cursor": None,
        "unread_count": 0,
    }

    key = await _api_key(session, settings, mari)
    for response in (
        await client.get("/v1/me/notifications", headers=key),
        await client.post(f"/v1/me/notifications/{notification_id}/read", headers=key),
        await client.post("/v1/me/notifications/read-all", headers=key),
        await client.get("/v1/me/notification-preferences", headers=key),
    ):
        assert response.status_code == 403
        assert response.json()["reason"] == "api_key_not_allowed"
    assert (await client.get("/v1/me/notifications")).status_code == 401
    bad = await client.get(
        "/v1/me/notifications", params={"cursor": "nonsense"}, headers=bearer(settings, mari)
    )
    assert bad.status_code == 422
    # Nothing was marked read by any of it.
    assert (await _deliveries(session, mari))[1].read_at is None


# --- preferences and legal notices -------------------------------------------------------


async def test_preferences_turn_channels_off_but_not_legal_notices(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
    now: datetime,
) -> None:
    mari = await make_user(session, settings)
    headers = bearer(settings, mari)
    defaults = (await client.get("/v1/me/notification-preferences", headers=headers)).json()
    by_type = {item["event_type"]: item for item in defaults["items"]}
    assert set(by_type) == set(EVENT_TYPES)
    assert all(item["email"] and item["inbox"] for item in defaults["items"])
    assert by_type["answer_published"]["legal"] is True

    changed = await client.put(
        "/v1/me/notification-preferences",
        json={"items": [{"event_type": "sla_breached", "email": False}]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    breached = {item["event_type"]: item for item in changed.json()["items"]}["sla_breached"]
    assert (breached["email"], breached["inbox"]) == (False, True)

    # Legal notices cannot be turned off; unknown types are refused; nothing half-applied.
    legal = await client.put(
        "/v1/me/notification-preferences",
        json={
            "items": [
                {"event_type": "sla_reminder", "inbox": False},
                {"event_type": "answer_published", "email": False},
            ]
        },
        headers=headers,
    )
    assert legal.status_code == 422
    assert legal.json()["reason"] == "legal_notice"
    unknown = await client.put(
        "/v1/me/notification-preferences",
        json={"items": [{"event_type": "no_such_event", "email": False}]},
        headers=headers,
    )
    assert unknown.status_code == 422
    malformed = await client.put(
        "/v1/me/notification-preferences", json={"items": []}, headers=headers
    )
    assert malformed.status_code == 422
    after = (await client.get("/v1/me/notification-preferences", headers=headers)).json()
    reminder = {item["event_type"]: item for item in after["items"]}["sla_reminder"]
    assert reminder["inbox"] is True

    # An ordinary notice: email skipped (and logged so), the inbox still gets it.
    await notify(session, _breach("breach:a"), [mari], now=now)
    email, inbox = await _deliveries(session, mari)
    assert (email.status, email.email_message_id) == (DeliveryStatus.skipped, None)
    assert "preferences" in (email.last_error or "")
    assert inbox.status == DeliveryStatus.sent
    # The same type sent as a legal notice ignores the preference.
    await notify(session, _breach("breach:b", legal=True), [mari], now=now)
    await run_worker()
    assert len(mailbox.to(mari.email)) == 1
    assert (await client.get("/v1/me/notifications", headers=headers)).json()["unread_count"] == 2


async def test_a_rejected_report_reaches_the_reporters_inbox_and_mailbox_once(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    reporter = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, reporter)
    # A choice stored for a type that is a legal notice (the API refuses to store one; say
    # it was stored before the type became legal) is ignored.
    for channel in (Channel.email, Channel.inbox):
        await repository.save_preference(
            session, reporter.id, "report_rejected", channel, False, datetime.now(UTC)
        )
    rejected = await client.post(
        f"/v1/moderation/reports/{report.id}/reject",
        json={"code": "private_property", "text": "A private yard.", "version": 1},
        headers=bearer(settings, moderator),
    )
    assert rejected.status_code == 200, rejected.text
    await run_worker()
    assert len(mailbox.to(reporter.email)) == 1
    inbox = (await client.get("/v1/me/notifications", headers=bearer(settings, reporter))).json()
    assert [(i["event_type"], i["legal"], i["report_id"]) for i in inbox["items"]] == [
        ("report_rejected", True, str(report.id))
    ]
    assert "A private yard." in inbox["items"][0]["body"]


@pytest.mark.parametrize("language", list(Language))
async def test_inbox_entries_are_rendered_in_the_readers_language(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    language: Language,
    now: datetime,
) -> None:
    reader = await make_user(session, settings)
    reader.language = language
    await notify(session, _breach(), [reader], now=now)
    item = (await client.get("/v1/me/notifications", headers=bearer(settings, reader))).json()[
        "items"
    ][0]
    subject, body = EMAILS["sla_breached"][language]
    assert item["subject"] == subject.format(**SLA_VALUES)
    assert item["body"] == body.format(greeting="", **SLA_VALUES).lstrip()


async def test_an_inbox_turned_off_gets_nothing_while_email_still_goes(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
    now: datetime,
) -> None:
    mari = await make_user(session, settings)
    headers = bearer(settings, mari)
    changed = await client.put(
        "/v1/me/notification-preferences",
        json={"items": [{"event_type": "sla_breached", "inbox": False}]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    await notify(session, _breach("breach:inbox-off"), [mari], now=now)
    email, inbox = await _deliveries(session, mari)
    assert inbox.status == DeliveryStatus.skipped
    assert email.status != DeliveryStatus.skipped
    await run_worker()
    assert len(mailbox.to(mari.email)) == 1
    listed = await client.get("/v1/me/notifications", headers=headers)
    assert listed.status_code == 200, listed.text
    assert (listed.json()["items"], listed.json()["unread_count"]) == ([], 0)
    # A legal notice of the same type reaches the inbox whatever the preference says.
    await notify(session, _breach("breach:inbox-off-legal", legal=True), [mari], now=now)
    listed = await client.get("/v1/me/notifications", headers=headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(item["event_type"], item["legal"]) for item in items] == [("sla_breached", True)]

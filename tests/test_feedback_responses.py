"""Official responses: who may answer, what an answer must say, what publication records on
the round (working time with the pause taken out, on time or not), who is told, and answer
moderation (the queue, approving, returning with a comment)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role
from service.config import Settings
from service.feedback.models import ReportResponse
from service.mail.models import EmailMessage
from service.reports import lifecycle
from tests.conftest import Mailbox, RunWorker
from tests.factories import actor_of, bearer, make_user
from tests.feedback_setup import Cast, accepted, cast, department_id, events_of, rounds_of

AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 09:00 in Tartu


def _clock(app: FastAPI, at: datetime) -> None:
    app.state.clock = lambda: at


async def _answer(
    client: AsyncClient, settings: Settings, who: Any, report_id: Any, **body: Any
) -> Any:
    return await client.post(
        f"/v1/reports/{report_id}/responses",
        json=body or {"outcome": "fixed", "text": "Patched."},
        headers=bearer(settings, who),
    )


async def test_publication_records_the_round_in_working_time(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, AT)
    (first_round,) = await rounds_of(session, report.id)
    # The report waited an hour for the reporter (accounted in working time by the queue).
    first_round.paused_working_seconds = 3600
    await session.flush()
    # Tuesday 10:00: Monday 09:00–17:00 and Tuesday 08:30–10:00 are 9.5 working hours.
    answered_at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    _clock(app, answered_at)
    response = await _answer(client, settings, people.staff, report.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "published"
    assert body["published_at"] == answered_at.isoformat().replace("+00:00", "Z")
    assert body["rating_window_ends_at"].startswith("2026-12-08T08:00:00")
    assert body["internal"]["author_id"] == str(people.staff.id)
    assert response.headers["Location"] == f"/v1/reports/{report.id}/responses"

    (rnd,) = await rounds_of(session, report.id)
    assert rnd.answered_at == answered_at
    assert rnd.answer_working_seconds == int(9.5 * 3600) - 3600
    assert rnd.on_time is True
    assert rnd.ended_at is None  # the round ends when the report closes or reopens
    view = (await client.get(f"/v1/reports/{report.id}")).json()
    assert (view["state"], view["answered_at"]) == ("answered", body["published_at"])
    answer_event = next(e for e in await events_of(session, report.id) if e.type == "answer")
    assert answer_event.public
    assert answer_event.data["response_id"] == body["id"]

    # Anyone sees the published answer, without the department's internals.
    public = (await client.get(f"/v1/reports/{report.id}/responses")).json()
    assert [(r["text"], r["internal"]) for r in public] == [("Patched.", None)]
    assert public[0]["rating"] == {
        "reporter_score": None,
        "reporter_resolved": None,
        "supporters_count": 0,
        "supporters_average": None,
    }
    # A second answer to an answered report is refused, naming the state.
    again = await _answer(client, settings, people.staff, report.id)
    assert again.status_code == 409
    assert again.json()["current_state"] == "answered"


async def test_an_answer_after_the_deadline_is_late(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, AT)
    assert report.due_at is not None
    _clock(app, report.due_at + timedelta(minutes=1))
    assert (await _answer(client, settings, people.staff, report.id)).status_code == 201
    (rnd,) = await rounds_of(session, report.id)
    assert rnd.on_time is False
    # Five working days of 8.5 hours, and the minute past them.
    assert rnd.answer_working_seconds == 5 * 8.5 * 3600 + 60


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "scheduled", "text": "Later."}, "scheduled_for"),
        (
            {"outcome": "scheduled", "text": "Later.", "scheduled_for": "2026-11-22"},
            "scheduled_for",
        ),
        ({"outcome": "fixed", "text": "Done.", "scheduled_for": "2026-12-01"}, "scheduled_for"),
        ({"outcome": "no_action", "text": "No."}, "justification"),
        ({"outcome": "fixed"}, None),
        ({"outcome": "broken", "text": "x"}, None),
        ({"outcome": "fixed", "text": ""}, None),
        ({"outcome": "fixed", "text": "x" * 4001}, None),
    ],
)
async def test_an_answer_says_what_its_outcome_needs(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    body: dict[str, Any],
    field: str | None,
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, AT)
    _clock(app, AT + timedelta(hours=1))
    refused = await _answer(client, settings, people.staff, report.id, **body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert refused.json()["field"] == field
    assert (
        await session.scalar(
            select(ReportResponse.id).where(col(ReportResponse.report_id) == report.id)
        )
        is None
    )


async def test_outcomes_with_their_details(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    _clock(app, AT + timedelta(hours=1))
    today = await accepted(session, people, AT)
    scheduled = await _answer(
        client,
        settings,
        people.staff,
        today.id,
        outcome="scheduled",
        text="On Monday.",
        scheduled_for="2026-11-23",  # today in Tartu is not in the past
    )
    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.json()["scheduled_for"] == "2026-11-23"
    declined = await accepted(session, people, AT)
    no_action = await _answer(
        client,
        settings,
        people.staff,
        declined.id,
        outcome="no_action",
        text="We will not.",
        justification="The road is private.",
    )
    assert no_action.status_code == 201
    assert no_action.json()["justification"] == "The road is private."


async def test_who_may_answer(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, AT)
    _clock(app, AT + timedelta(hours=1))
    anonymous = await client.post(
        f"/v1/reports/{report.id}/responses", json={"outcome": "fixed", "text": "x"}
    )
    assert anonymous.status_code == 401
    assert (await _answer(client, settings, people.reporter, report.id)).status_code == 403
    assert (await _answer(client, settings, people.moderator, report.id)).status_code == 403
    # Staff of another department may not know the report is theirs to answer.
    other = await _answer(client, settings, people.other_staff, report.id)
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    missing = await _answer(client, settings, people.staff, uuid.uuid4())
    assert missing.status_code == 404
    # A supervisor over the roads service (its parent) answers for it.
    parent = await department_id(session, "urban-economy")
    head = await make_user(session, settings, roles=((Role.supervisor, parent),))
    assert (await _answer(client, settings, head, report.id)).status_code == 201
    # A withdrawn report is not answered.
    gone = await accepted(session, people, AT)
    await lifecycle.withdraw(session, actor_of(people.reporter), gone.id, AT + timedelta(minutes=5))
    withdrawn = await _answer(client, settings, people.staff, gone.id)
    assert withdrawn.status_code == 409
    assert withdrawn.json()["current_state"] == "withdrawn"


async def test_publication_tells_reporter_supporters_and_subscribers_once_each(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, AT)
    follower = await make_user(session, settings)
    # The stranger supports (and so subscribes); the follower only subscribes; the reporter
    # subscribes to their own report too.
    for who, path in (
        (people.stranger, "support"),
        (follower, "subscription"),
        (people.reporter, "subscription"),
    ):
        assert (
            await client.put(f"/v1/reports/{report.id}/{path}", headers=bearer(settings, who))
        ).is_success
    _clock(app, AT + timedelta(hours=1))
    response = await _answer(
        client,
        settings,
        people.staff,
        report.id,
        outcome="scheduled",
        text="Resurfacing in spring.",
        scheduled_for="2027-04-01",
    )
    assert response.status_code == 201
    messages = (
        await session.execute(
            select(EmailMessage.recipient, EmailMessage.template).where(
                col(EmailMessage.template).like("answer_published%")
            )
        )
    ).all()
    assert sorted(messages) == sorted(
        [
            (people.reporter.email, "answer_published_reporter"),
            (people.stranger.email, "answer_published"),
            (follower.email, "answer_published"),
        ]
    )
    await run_worker()
    (to_reporter,) = [
        m for m in mailbox.to(people.reporter.email) if "vastati" in str(m["Subject"])
    ]
    content = to_reporter.get_content()
    assert "Resurfacing in spring." in content
    assert "1. aprill 2027" in content  # the scheduled date, in Estonian
    assert "kuni 7. detsember 2026" in content  # rate until: two weeks after the answer


async def _moderated_report(
    session: AsyncSession, settings: Settings, people: Cast
) -> tuple[Any, Any]:
    """A report of a reason whose answers are moderated, and staff of its department."""
    report = await accepted(session, people, AT, reason_code="illegal-construction")
    staff = await make_user(session, settings, roles=((Role.staff, report.department_id),))
    return report, staff


async def test_answer_moderation_approve_and_return(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
) -> None:
    people = await cast(session, settings)
    moderator = bearer(settings, people.moderator)
    first, staff = await _moderated_report(session, settings, people)
    second, _ = await _moderated_report(session, settings, people)
    _clock(app, AT + timedelta(hours=1))
    waiting = await _answer(client, settings, staff, first.id, outcome="fixed", text="Removed.")
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["state"] == "pending_moderation"
    assert waiting.json()["published_at"] is None
    _clock(app, AT + timedelta(hours=2))
    later = await _answer(client, settings, staff, second.id, outcome="fixed", text="Gone.")
    assert (await client.get(f"/v1/reports/{first.id}")).json()["state"] == "accepted"
    # Nothing public yet; the department sees what waits.
    assert (await client.get(f"/v1/reports/{first.id}/responses")).json() == []
    staff_view = await client.get(
        f"/v1/reports/{first.id}/responses", headers=bearer(settings, staff)
    )
    assert [r["state"] for r in staff_view.json()] == ["pending_moderation"]
    # One answer waits at a time.
    twice = await _answer(client, settings, staff, first.id, outcome="fixed", text="Again.")
    assert twice.status_code == 409

    queue = await client.get("/v1/moderation/answers", headers=moderator)
    assert queue.status_code == 200
    ids = [item["response"]["id"] for item in queue.json()["items"]]
    assert ids == [waiting.json()["id"], later.json()["id"]]  # oldest first
    first_item = queue.json()["items"][0]
    # The queue names no contact details (the single report view shows them, audited).
    assert first_item["report"]["private"]["reporter"]["email"] is None
    assert people.reporter.email not in queue.text
    paged = await client.get("/v1/moderation/answers", params={"limit": 1}, headers=moderator)
    assert len(paged.json()["items"]) == 1
    rest = await client.get(
        "/v1/moderation/answers",
        params={"cursor": paged.json()["next_cursor"]},
        headers=moderator,
    )
    assert [i["response"]["id"] for i in rest.json()["items"]] == [later.json()["id"]]
    assert (await client.get("/v1/moderation/answers")).status_code == 401
    assert (
        await client.get("/v1/moderation/answers", headers=bearer(settings, staff))
    ).status_code == 403

    # Returned with a comment: the author hears why and answers again.
    path = f"/v1/moderation/answers/{waiting.json()['id']}"
    assert (await client.post(f"{path}/return", json={}, headers=moderator)).status_code == 422
    _clock(app, AT + timedelta(hours=3))
    returned = await client.post(
        f"{path}/return", json={"comment": "Say when it was removed."}, headers=moderator
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["state"] == "returned"
    assert returned.json()["internal"]["moderation_comment"] == "Say when it was removed."
    assert (await client.post(f"{path}/approve", headers=moderator)).status_code == 409
    mail = await session.scalar(
        select(EmailMessage.body_text).where(
            col(EmailMessage.recipient) == staff.email,
            col(EmailMessage.template) == "answer_returned",
        )
    )
    assert mail is not None
    assert "Say when it was removed." in mail
    returned_event = next(
        e for e in await events_of(session, first.id) if e.type == "answer_returned"
    )
    assert not returned_event.public
    public_timeline = (await client.get(f"/v1/reports/{first.id}/timeline")).json()
    assert "answer_returned" not in {e["type"] for e in public_timeline}

    _clock(app, AT + timedelta(hours=4))
    resent = await _answer(
        client, settings, staff, first.id, outcome="fixed", text="Removed on Monday."
    )
    assert resent.status_code == 201
    _clock(app, AT + timedelta(hours=5))
    approved = await client.post(
        f"/v1/moderation/answers/{resent.json()['id']}/approve", headers=moderator
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "published"
    assert approved.json()["internal"]["moderated_by_id"] == str(people.moderator.id)
    report = (await client.get(f"/v1/reports/{first.id}")).json()
    assert report["state"] == "answered"
    public = (await client.get(f"/v1/reports/{first.id}/responses")).json()
    assert [r["text"] for r in public] == ["Removed on Monday."]
    (rnd,) = await rounds_of(session, first.id)
    # Published at moderation: 5 working hours after acceptance.
    assert rnd.answer_working_seconds == 5 * 3600

    # Approving what is gone or not waiting.
    assert (
        await client.post(f"/v1/moderation/answers/{uuid.uuid4()}/approve", headers=moderator)
    ).status_code == 404
    assert (
        await client.post(
            f"/v1/moderation/answers/{resent.json()['id']}/approve",
            headers=bearer(settings, staff),
        )
    ).status_code == 403


async def test_an_answer_waiting_for_a_withdrawn_report_cannot_be_approved(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report, staff = await _moderated_report(session, settings, people)
    _clock(app, AT + timedelta(hours=1))
    waiting = await _answer(client, settings, staff, report.id, outcome="fixed", text="Done.")
    await lifecycle.withdraw(session, actor_of(people.reporter), report.id, AT + timedelta(hours=2))
    await session.flush()
    refused = await client.post(
        f"/v1/moderation/answers/{waiting.json()['id']}/approve",
        headers=bearer(settings, people.moderator),
    )
    assert refused.status_code == 409
    assert refused.json()["current_state"] == "withdrawn"
    # A withdrawn report is no longer public, nor are its answers.
    assert (await client.get(f"/v1/reports/{report.id}/responses")).status_code == 404


async def test_a_transfer_withdraws_the_answer_waiting_for_moderation(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Approved after the transfer, the old department's answer would be published in the
    new department's name and count in its figures: the transfer withdraws it."""
    people = await cast(session, settings)
    report, staff = await _moderated_report(session, settings, people)
    greenery = await department_id(session, "greenery")
    supervisor = await make_user(
        session, settings, roles=((Role.supervisor, report.department_id),)
    )
    _clock(app, AT + timedelta(hours=1))
    waiting = await _answer(client, settings, staff, report.id, outcome="fixed", text="Removed.")
    assert waiting.json()["state"] == "pending_moderation"

    moved = await client.post(
        f"/v1/reports/{report.id}/transfer",
        json={"to_department_id": str(greenery), "reason": "The park's service handles it."},
        headers=bearer(settings, supervisor),
    )
    assert moved.status_code == 200, moved.text
    stored = await session.get(ReportResponse, uuid.UUID(waiting.json()["id"]))
    assert stored is not None
    await session.refresh(stored)
    assert stored.state == "withdrawn"
    assert stored.moderation_comment is not None and "transferred" in stored.moderation_comment
    withdrawn = [e for e in await events_of(session, report.id) if e.type == "answer_withdrawn"]
    assert [(e.public, e.data["response_id"]) for e in withdrawn] == [(False, str(stored.id))]

    moderator = bearer(settings, people.moderator)
    queue = await client.get("/v1/moderation/answers", headers=moderator)
    assert queue.status_code == 200
    assert waiting.json()["id"] not in queue.text
    approved = await client.post(f"/v1/moderation/answers/{stored.id}/approve", headers=moderator)
    assert approved.status_code == 409
    assert approved.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/v1/reports/{report.id}")).json()["state"] != "answered"
    # The new department answers afresh.
    answered = await _answer(
        client, settings, people.other_staff, report.id, outcome="fixed", text="Ours now."
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["state"] == "pending_moderation"

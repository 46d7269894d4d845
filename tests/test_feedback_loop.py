"""The whole feedback loop through the HTTP API: file → accept → answer → "not resolved" →
reopened → answer → rated 5, resolved → closed, every step on the timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.mail.models import EmailMessage
from tests.conftest import Mailbox, RunWorker
from tests.factories import KESKLINN, bearer, reason_by_code
from tests.feedback_setup import cast, rounds_of


async def test_the_whole_loop_through_the_api(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    people = await cast(session, settings)
    reporter, staff = bearer(settings, people.reporter), bearer(settings, people.staff)
    supporter = bearer(settings, people.stranger)
    # A working morning (Tuesday 2 March 2027, 09:00 in Tallinn), so that the deadlines of
    # the first round and of the reopened one differ whatever time the suite runs at.
    start = datetime(2027, 3, 2, 7, 0, tzinfo=UTC)
    clock = [start]
    app.state.clock = lambda: clock[0]
    pothole = await reason_by_code(session, "pothole")

    filed = await client.post(
        "/v1/reports",
        json={
            "reason_id": str(pothole.id),
            "lat": KESKLINN[0],
            "lon": KESKLINN[1],
            "description": "A deep pothole at the crossing.",
            "attributes": {"size": "large"},
        },
        headers=reporter,
    )
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]
    accepted = await client.post(
        f"/v1/moderation/reports/{report_id}/accept",
        headers={**bearer(settings, people.moderator), "If-Match": filed.headers["ETag"]},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["department"]["code"] == "roads"
    first_due = accepted.json()["due_at"]
    assert (await client.put(f"/v1/reports/{report_id}/support", headers=supporter)).is_success

    clock[0] = start + timedelta(hours=3)
    first = await client.post(
        f"/v1/reports/{report_id}/responses",
        json={"outcome": "fixed", "text": "The pothole was patched."},
        headers=staff,
    )
    assert first.status_code == 201, first.text
    assert first.json()["state"] == "published"
    assert (await client.get(f"/v1/reports/{report_id}")).json()["state"] == "answered"

    clock[0] = start + timedelta(hours=5)
    unresolved = await client.post(
        f"/v1/reports/{report_id}/rating",
        json={"score": 2, "resolved": False, "comment": "Still a hole."},
        headers=reporter,
    )
    assert unresolved.status_code == 201, unresolved.text
    assert unresolved.json()["consequence"] == "reopened"
    reopened = (await client.get(f"/v1/reports/{report_id}", headers=reporter)).json()
    assert reopened["state"] == "reopened"
    assert reopened["private"]["round"] == 2
    assert reopened["due_at"] > first_due  # a fresh deadline, from the reopening

    clock[0] = start + timedelta(hours=8)
    scheduled_for = (clock[0] + timedelta(days=3)).date().isoformat()
    second = await client.post(
        f"/v1/reports/{report_id}/responses",
        json={"outcome": "scheduled", "scheduled_for": scheduled_for, "text": "Resurfacing."},
        headers=staff,
    )
    assert second.status_code == 201, second.text
    assert second.json()["round"] == 2

    clock[0] = start + timedelta(hours=9)
    by_supporter = await client.post(
        f"/v1/reports/{report_id}/rating", json={"score": 4, "resolved": False}, headers=supporter
    )
    assert by_supporter.status_code == 201
    assert by_supporter.json()["consequence"] is None  # supporters never reopen
    resolved = await client.post(
        f"/v1/reports/{report_id}/rating", json={"score": 5, "resolved": True}, headers=reporter
    )
    assert resolved.status_code == 201, resolved.text
    assert resolved.json()["consequence"] == "closed"
    final = (await client.get(f"/v1/reports/{report_id}")).json()
    assert final["state"] == "closed"
    assert final["closed_at"] is not None

    # The public timeline tells the whole story, in order.
    timeline = (await client.get(f"/v1/reports/{report_id}/timeline")).json()
    changes = [(e["type"], e["to_state"]) for e in timeline if e["to_state"]]
    assert changes == [
        ("accept", "accepted"),
        ("answer", "answered"),
        ("reopen", "reopened"),
        ("answer", "answered"),
        ("close", "closed"),
    ]
    ratings = [
        (e["data"]["round"], e["data"]["resolved"]) for e in timeline if e["type"] == "rating"
    ]
    assert ratings == [(1, False), (2, True)]
    assert "supporter_rating" not in {e["type"] for e in timeline}

    # Both answers are public, with how they were rated.
    published = (await client.get(f"/v1/reports/{report_id}/responses")).json()
    assert [(r["round"], r["outcome"], r["rating"]["reporter_score"]) for r in published] == [
        (1, "fixed", 2),
        (2, "scheduled", 5),
    ]
    assert published[1]["rating"]["supporters_count"] == 1
    assert published[0]["internal"] is None

    rounds = await rounds_of(session, uuid.UUID(report_id))
    assert [(r.number, r.on_time, r.ended_at is not None) for r in rounds] == [
        (1, True, True),
        (2, True, True),
    ]

    # The reporter and the supporter heard of each answer, through the outbox.
    sent = (
        await session.execute(
            select(EmailMessage.recipient, EmailMessage.template).order_by(EmailMessage.created_at)
        )
    ).all()
    assert [t for r, t in sent if r == people.reporter.email] == [
        "report_accepted",
        "answer_published_reporter",
        "answer_published_reporter",
    ]
    assert [t for r, t in sent if r == people.stranger.email] == ["answer_published"] * 2
    await run_worker()
    delivered = mailbox.to(people.reporter.email)
    assert len(delivered) == 3
    # Mail goes out in no promised order; the second answer's text is in one of them.
    assert sum("Resurfacing." in letter.get_content() for letter in delivered) == 1

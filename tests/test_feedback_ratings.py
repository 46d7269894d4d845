"""Ratings: once per person per round and editable in the window; the reporter's "resolved"
closes, "not resolved" reopens with a fresh deadline, and after two reopen rounds goes to
the supervisor instead; supporters' ratings count apart and never reopen; answered reports
close when the window passes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role
from service.calendar import add_working_time
from service.catalog.models import Reason
from service.city import service as city
from service.config import Settings
from service.feedback import ratings
from service.feedback.models import ReportRating
from service.mail.models import EmailMessage
from service.reports.lifecycle.repository import nearest_supervisors
from service.reports.models import ReportSupport
from tests.factories import bearer, make_department, make_user
from tests.feedback_setup import (
    accepted,
    answered,
    cast,
    department_id,
    events_of,
    fresh,
    rounds_of,
)

AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 09:00 in Tartu
ANSWERED = AT + timedelta(hours=2)


def _clock(app: FastAPI, at: datetime) -> None:
    app.state.clock = lambda: at


async def _rate(
    client: AsyncClient, settings: Settings, who: Any, report_id: Any, **body: Any
) -> Any:
    return await client.post(
        f"/v1/reports/{report_id}/rating", json=body, headers=bearer(settings, who)
    )


async def _answer(client: AsyncClient, settings: Settings, who: Any, report_id: Any) -> None:
    response = await client.post(
        f"/v1/reports/{report_id}/responses",
        json={"outcome": "fixed", "text": "Done again."},
        headers=bearer(settings, who),
    )
    assert response.status_code == 201, response.text


async def test_resolved_closes_and_the_rating_may_be_changed_in_the_window(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, AT)
    _clock(app, ANSWERED + timedelta(days=1))
    first = await _rate(client, settings, people.reporter, report.id, score=4, resolved=True)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["consequence"], body["report_state"], body["round"]) == ("closed", "closed", 1)
    assert body["rating_window_ends_at"].startswith("2026-12-07T09:00:00")
    (rnd,) = await rounds_of(session, report.id)
    assert rnd.ended_at == ANSWERED + timedelta(days=1)
    assert (await fresh(session, report)).closed_at == ANSWERED + timedelta(days=1)

    _clock(app, ANSWERED + timedelta(days=2))
    edited = await _rate(
        client, settings, people.reporter, report.id, score=5, resolved=True, comment="Thanks!"
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["score"], edited.json()["consequence"]) == (5, None)
    stored = (
        await session.execute(
            select(ReportRating)
            .where(col(ReportRating.report_id) == report.id)
            .execution_options(populate_existing=True)
        )
    ).scalars()
    assert [(r.score, r.comment, r.by_reporter) for r in stored] == [(5, "Thanks!", True)]
    mine = await client.get(
        f"/v1/reports/{report.id}/rating", headers=bearer(settings, people.reporter)
    )
    assert (mine.status_code, mine.json()["score"]) == (200, 5)
    # Closed is closed: "not resolved" no longer reopens it.
    unsaid = await _rate(client, settings, people.reporter, report.id, score=1, resolved=False)
    assert unsaid.status_code == 409
    assert unsaid.json()["current_state"] == "closed"
    # After the window nothing changes.
    _clock(app, ANSWERED + timedelta(days=14))
    late = await _rate(client, settings, people.reporter, report.id, score=3, resolved=True)
    assert late.status_code == 409
    assert late.json()["reason"] == "rating_window_closed"


async def test_who_may_rate_and_what(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, AT)
    _clock(app, ANSWERED + timedelta(hours=1))
    anonymous = await client.post(
        f"/v1/reports/{report.id}/rating", json={"score": 3, "resolved": True}
    )
    assert anonymous.status_code == 401
    # Someone who neither filed nor supports it.
    stranger = await _rate(client, settings, people.stranger, report.id, score=1, resolved=False)
    assert stranger.status_code == 403
    assert stranger.json()["reason"] == "not_reporter_or_supporter"
    assert (
        await _rate(client, settings, people.staff, report.id, score=5, resolved=True)
    ).status_code == 403
    for body in ({"score": 0, "resolved": True}, {"score": 6, "resolved": True}, {"score": 3}):
        invalid = await _rate(client, settings, people.reporter, report.id, **body)
        assert invalid.status_code == 422
        assert invalid.headers["content-type"] == "application/problem+json"
    missing = await _rate(client, settings, people.reporter, uuid.uuid4(), score=3, resolved=True)
    assert missing.status_code == 404
    nothing = await client.get(
        f"/v1/reports/{report.id}/rating", headers=bearer(settings, people.reporter)
    )
    assert nothing.status_code == 404

    # A supporter rates apart; the report stays answered.
    session.add(ReportSupport(report_id=report.id, user_id=people.stranger.id))
    await session.flush()
    supporter = await _rate(client, settings, people.stranger, report.id, score=2, resolved=False)
    assert supporter.status_code == 201
    assert (supporter.json()["by_reporter"], supporter.json()["consequence"]) == (False, None)
    assert (await client.get(f"/v1/reports/{report.id}")).json()["state"] == "answered"
    listed = (await client.get(f"/v1/reports/{report.id}/responses")).json()
    assert listed[0]["rating"]["supporters_count"] == 1
    assert listed[0]["rating"]["supporters_average"] == 2.0
    assert listed[0]["rating"]["reporter_score"] is None


async def test_nothing_to_rate_before_the_answer(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, AT)
    _clock(app, AT + timedelta(hours=1))
    early = await _rate(client, settings, people.reporter, report.id, score=1, resolved=False)
    assert early.status_code == 409
    assert early.json()["current_state"] == "accepted"


async def test_not_resolved_reopens_twice_then_goes_to_the_supervisor(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, AT)
    pothole = await session.get(Reason, report.reason_id)
    assert pothole is not None
    calendar = await city.load_working_calendar(session, people.roads)

    moment = ANSWERED
    for number in (1, 2):
        moment += timedelta(hours=1)
        _clock(app, moment)
        reopened = await _rate(
            client, settings, people.reporter, report.id, score=1, resolved=False
        )
        assert reopened.status_code == 201, reopened.text
        assert reopened.json()["consequence"] == "reopened"
        assert reopened.json()["round"] == number
        rounds = await rounds_of(session, report.id)
        assert [r.number for r in rounds] == list(range(1, number + 2))
        ended, current = rounds[-2], rounds[-1]
        assert ended.ended_at == moment
        # A fresh deadline in the same department: the reason's SLA from the reopening.
        due = add_working_time(moment, pothole.sla_amount, pothole.sla_unit, calendar)
        assert (current.opened_at, current.due_at, current.initial_due_at) == (moment, due, due)
        assert current.department_id == people.roads
        view = (
            await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, people.staff))
        ).json()
        assert (view["state"], view["private"]["round"]) == ("reopened", number + 1)
        moment += timedelta(hours=1)
        _clock(app, moment)
        await _answer(client, settings, people.staff, report.id)

    # The third "not resolved" does not reopen: the supervisor gets the report.
    moment += timedelta(hours=1)
    _clock(app, moment)
    referred = await _rate(client, settings, people.reporter, report.id, score=1, resolved=False)
    assert referred.status_code == 201
    assert referred.json()["consequence"] == "referred_to_supervisor"
    assert referred.json()["report_state"] == "answered"
    assert [r.number for r in await rounds_of(session, report.id)] == [1, 2, 3]
    event = next(
        e for e in await events_of(session, report.id) if e.type == "referred_to_supervisor"
    )
    assert (event.public, event.data["round"], event.data["supervisors"]) == (True, 3, 1)
    mail = (
        await session.execute(
            select(EmailMessage.recipient).where(col(EmailMessage.template) == "report_referred")
        )
    ).scalars()
    assert list(mail) == [people.supervisor.email]
    # Saying it again changes the rating, not the report, and mails nobody again.
    _clock(app, moment + timedelta(minutes=5))
    repeated = await _rate(client, settings, people.reporter, report.id, score=2, resolved=False)
    assert (repeated.status_code, repeated.json()["consequence"]) == (200, None)
    assert (
        len(
            list(
                (
                    await session.execute(
                        select(EmailMessage.id).where(
                            col(EmailMessage.template) == "report_referred"
                        )
                    )
                ).scalars()
            )
        )
        == 1
    )

    # The rating window does not close it; the supervisor does, with a closing word.
    closed_by_window = await ratings.close_expired(session, moment + timedelta(days=30))
    assert closed_by_window == 0
    path = f"/v1/reports/{report.id}/referral/close"
    note = {"note": "We resurface the street in May; the patching stops here."}
    assert (await client.post(path, json=note)).status_code == 401
    assert (
        await client.post(path, json=note, headers=bearer(settings, people.staff))
    ).status_code == 403
    greenery = await department_id(session, "greenery")
    other_head = await make_user(session, settings, roles=((Role.supervisor, greenery),))
    assert (
        await client.post(path, json=note, headers=bearer(settings, other_head))
    ).status_code == 404
    assert (
        await client.post(
            f"/v1/reports/{uuid.uuid4()}/referral/close",
            json=note,
            headers=bearer(settings, people.supervisor),
        )
    ).status_code == 404
    assert (
        await client.post(path, json={}, headers=bearer(settings, people.supervisor))
    ).status_code == 422
    closed = await client.post(path, json=note, headers=bearer(settings, people.supervisor))
    assert closed.status_code == 200, closed.text
    assert (await fresh(session, report)).state == "closed"
    close_event = next(e for e in await events_of(session, report.id) if e.type == "close")
    assert close_event.data == {"round": 3, "by": "supervisor", "note": note["note"]}
    again = await client.post(path, json=note, headers=bearer(settings, people.supervisor))
    assert again.status_code == 409


async def test_supervisors_of_the_nearest_department_above_get_a_referral(
    session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    unit = await make_department(session, parent_id=people.roads)
    assert [u.id for u in await nearest_supervisors(session, unit.id)] == [people.supervisor.id]
    own = await make_user(session, settings, roles=((Role.supervisor, unit.id),))
    assert [u.id for u in await nearest_supervisors(session, unit.id)] == [own.id]


async def test_the_rating_window_closes_answered_reports(
    session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    old = await answered(session, people, settings, AT)
    recent = await answered(session, people, settings, AT + timedelta(days=3))
    window = timedelta(days=settings.rating_window_days)
    now = ANSWERED + window + timedelta(hours=1)
    assert await ratings.close_expired(session, now) == 1
    assert (await fresh(session, old)).state == "closed"
    assert (await fresh(session, recent)).state == "answered"
    close_event = next(e for e in await events_of(session, old.id) if e.type == "close")
    assert close_event.data["by"] == "rating_window"
    assert close_event.actor_id is None
    (rnd,) = await rounds_of(session, old.id)
    assert rnd.ended_at == now
    # Run again: nothing more to close.
    assert await ratings.close_expired(session, now) == 0
    assert await ratings.close_expired(session, now + timedelta(days=3), window_days=1) == 1

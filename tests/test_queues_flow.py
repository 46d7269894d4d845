"""Clarifications (the paused working time moves the deadline), transfers (direct and by
request), extensions, and a walk through the whole of it over HTTP with a frozen clock.

Times are Tartu's (Europe/Tallinn, UTC+2 in early March; working hours 08:30–17:00). March
2027 from the 1st to the 12th has no public holiday: a pothole's 5 working days from Monday
10:00 end the next Monday at 10:00.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, User
from service.calendar import add_working_time
from service.city import service as city
from service.config import Settings
from service.mail.models import EmailMessage
from service.queues.models import ExtensionRequest, TransferRequest
from service.reports.models import Report, ReportRound
from service.reports.states import ReportState
from tests.conftest import Mailbox, RunWorker
from tests.factories import KESKLINN, bearer, make_user, reason_by_code
from tests.queue_factories import accepted_report, department_id, person


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of March 2027 given in Tartu's time (UTC+2 until the 28th)."""
    return datetime(2027, 3, day, hour - 2, minute, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = local(1, 10)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    frozen = Clock()
    app.state.clock = frozen
    yield frozen
    del app.state.clock


async def _cast(session: AsyncSession, settings: Settings) -> dict[str, User]:
    return {
        "resident": await make_user(session, settings),
        "neighbour": await make_user(session, settings),
        "moderator": await person(session, settings, Role.moderator),
        "staff": await person(session, settings, Role.staff, "roads"),
        "supervisor": await person(session, settings, Role.supervisor, "roads"),
        "greenery_staff": await person(session, settings, Role.staff, "greenery"),
        "greenery_head": await person(session, settings, Role.supervisor, "greenery"),
        "dispatcher": await person(session, settings, Role.staff, "dispatcher"),
        "waste_staff": await person(session, settings, Role.staff, "waste"),
    }


async def _round(session: AsyncSession, report: Report) -> ReportRound:
    found = (
        await session.execute(
            select(ReportRound)
            .where(col(ReportRound.report_id) == report.id, col(ReportRound.number) == report.round)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return found


# --- clarification -------------------------------------------------------------------------


async def test_the_pause_moves_the_deadline_by_the_working_time_it_lasted(
    client: AsyncClient, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(
        session, people["resident"], people["moderator"], when=local(1, 10)
    )
    assert report.due_at == local(8, 10)
    staff = bearer(settings, people["staff"])

    clock.now = local(2, 15)  # Tuesday 15:00
    asked = await client.post(
        f"/v1/reports/{report.id}/clarification-requests",
        json={"question": "Which side of the street is it on?"},
        headers=staff,
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["report"]["state"] == "awaiting_info"
    assert asked.json()["paused_at"] == local(2, 15).isoformat().replace("+00:00", "Z")
    mail = (
        await session.execute(
            select(EmailMessage).where(
                col(EmailMessage.recipient) == people["resident"].email,
                col(EmailMessage.template) == "clarification_requested",
            )
        )
    ).scalar_one()
    assert "Which side of the street is it on?" in mail.body_text
    assert report.tracking_code in mail.subject
    # The question is on the report, for the reporter and for the department.
    for who in ("resident", "staff"):
        shown = await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, people[who]))
        assert shown.status_code == 200, shown.text
        assert shown.json()["private"]["waiting_for"] == "reply"
        assert shown.json()["private"]["question"]["text"] == "Which side of the street is it on?"
    public = await client.get(f"/v1/reports/{report.id}")
    assert public.status_code == 200
    assert public.json()["private"] is None

    clock.now = local(3, 10)  # Wednesday 10:00
    url = f"/v1/reports/{report.id}/clarifications"
    answer = {"answer": "The north side, by the bakery."}
    assert (
        await client.post(url, json=answer, headers=bearer(settings, people["neighbour"]))
    ).status_code == 404
    answered = await client.post(url, json=answer, headers=bearer(settings, people["resident"]))
    assert answered.status_code == 200, answered.text
    assert answered.json()["state"] == "in_progress"
    # Paused Tuesday 15:00–17:00 and Wednesday 08:30–10:00: 3.5 working hours, so the
    # deadline moves from Monday 10:00 to Monday 13:30.
    await session.refresh(report)
    assert report.due_at == local(8, 13, 30)
    assert report.paused_at is None
    rnd = await _round(session, report)
    assert rnd.paused_working_seconds == 3 * 3600 + 1800
    assert rnd.due_at == local(8, 13, 30)
    assert rnd.initial_due_at == local(8, 10)
    assert answered.json()["due_at"] == local(8, 13, 30).isoformat().replace("+00:00", "Z")

    # The answer is for the department and the reporter, not for the public.
    public = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
    assert "The north side, by the bakery." not in str(public)
    assert "Which side of the street is it on?" in str(public)
    reporters = (
        await client.get(
            f"/v1/reports/{report.id}/timeline", headers=bearer(settings, people["resident"])
        )
    ).json()
    assert "The north side, by the bakery." in str(reporters)

    again = await client.post(url, json=answer, headers=bearer(settings, people["resident"]))
    assert again.status_code == 409
    assert again.json()["current_state"] == "in_progress"


async def test_a_pause_over_a_weekend_counts_only_working_hours(
    session: AsyncSession, settings: Settings, client: AsyncClient, clock: Clock
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(
        session, people["resident"], people["moderator"], when=local(1, 10)
    )
    clock.now = local(5, 16)  # Friday 16:00
    await client.post(
        f"/v1/reports/{report.id}/clarification-requests",
        json={"question": "Is it still there?"},
        headers=bearer(settings, people["staff"]),
    )
    clock.now = local(8, 9, 30)  # Monday 09:30
    await client.post(
        f"/v1/reports/{report.id}/clarifications",
        json={"answer": "Yes."},
        headers=bearer(settings, people["resident"]),
    )
    await session.refresh(report)
    assert (await _round(session, report)).paused_working_seconds == 2 * 3600
    assert report.due_at == local(8, 12)


async def test_who_may_ask_and_answer(
    client: AsyncClient, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    url = f"/v1/reports/{report.id}/clarification-requests"
    body = {"question": "Where?"}
    assert (await client.post(url, json=body)).status_code == 401
    assert (
        await client.post(url, json=body, headers=bearer(settings, people["resident"]))
    ).status_code == 403
    assert (
        await client.post(url, json=body, headers=bearer(settings, people["greenery_staff"]))
    ).status_code == 404
    assert (
        await client.post(url, json={"question": ""}, headers=bearer(settings, people["staff"]))
    ).status_code == 422
    assert (
        await client.post(
            f"/v1/reports/{uuid.uuid4()}/clarification-requests",
            json=body,
            headers=bearer(settings, people["staff"]),
        )
    ).status_code == 404
    answered = await accepted_report(
        session, people["resident"], people["moderator"], state=ReportState.answered
    )
    refused = await client.post(
        f"/v1/reports/{answered.id}/clarification-requests",
        json=body,
        headers=bearer(settings, people["staff"]),
    )
    assert refused.status_code == 409

    answer_url = f"/v1/reports/{report.id}/clarifications"
    assert (await client.post(answer_url, json={"answer": "x"})).status_code == 401
    not_asked = await client.post(
        answer_url, json={"answer": "x"}, headers=bearer(settings, people["resident"])
    )
    assert not_asked.status_code == 409
    assert (
        await client.post(answer_url, json={}, headers=bearer(settings, people["resident"]))
    ).status_code == 422
    assert (
        await client.post(
            f"/v1/reports/{uuid.uuid4()}/clarifications",
            json={"answer": "x"},
            headers=bearer(settings, people["resident"]),
        )
    ).status_code == 404


# --- transfers -----------------------------------------------------------------------------


async def test_a_supervisor_transfers_directly_and_the_deadline_stays(
    client: AsyncClient, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    people = await _cast(session, settings)
    greenery = await department_id(session, "greenery")
    report = await accepted_report(
        session,
        people["resident"],
        people["moderator"],
        when=local(1, 10),
        assignee_id=people["staff"].id,
        state=ReportState.in_progress,
    )
    url = f"/v1/reports/{report.id}/transfer"
    body = {"to_department_id": str(greenery), "reason": "The tree roots lifted the asphalt."}
    clock.now = local(3, 11)

    staff_try = await client.post(url, json=body, headers=bearer(settings, people["staff"]))
    assert staff_try.status_code == 403
    assert staff_try.json()["reason"] == "needs_supervisor"
    assert (
        await client.post(url, json=body, headers=bearer(settings, people["greenery_head"]))
    ).status_code == 404
    assert (await client.post(url, json=body)).status_code == 401
    supervisor = bearer(settings, people["supervisor"])
    for invalid in (
        {"to_department_id": str(await department_id(session, "roads")), "reason": "Ours."},
        {"to_department_id": str(uuid.uuid4()), "reason": "Nobody's."},
    ):
        assert (await client.post(url, json=invalid, headers=supervisor)).status_code == 422
    assert (
        await client.post(url, json={"to_department_id": str(greenery)}, headers=supervisor)
    ).status_code == 422
    assert (
        await client.post(f"/v1/reports/{uuid.uuid4()}/transfer", json=body, headers=supervisor)
    ).status_code == 404

    extension = await client.post(
        f"/v1/reports/{report.id}/extension-requests",
        json={"due_at": local(12, 17).isoformat(), "justification": "Waiting for asphalt."},
        headers=bearer(settings, people["staff"]),
    )
    assert extension.status_code == 201

    moved = await client.post(url, json=body, headers=supervisor)
    assert moved.status_code == 200, moved.text
    assert moved.json()["report"]["state"] == "accepted"
    # What roads asked for dies with the move: greenery decides its own deadline.
    request = await session.get(ExtensionRequest, uuid.UUID(extension.json()["id"]))
    assert request is not None
    await session.refresh(request)
    assert request.state == "cancelled"
    assert moved.json()["report"]["department"]["code"] == "greenery"
    assert moved.json()["assignee"] is None  # the roads supervisor no longer works it
    await session.refresh(report)
    assert report.department_id == greenery
    assert report.assignee_id is None
    assert report.due_at == local(8, 10)  # the clock keeps running
    rnd = await _round(session, report)
    assert rnd.department_id == greenery
    assert rnd.due_at == local(8, 10)
    timeline = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
    steps = [(e["type"], e["from_state"], e["to_state"]) for e in timeline]
    assert ("transfer", "in_progress", "transferred") in steps
    assert ("receive_transfer", "transferred", "accepted") in steps
    transfer = next(e for e in timeline if e["type"] == "transfer")
    assert transfer["data"]["to_department"] == "greenery"
    assert transfer["data"]["reason"] == "The tree roots lifted the asphalt."
    # Now it is greenery's to work, and gone from the roads queue.
    roads_queue = await client.get(
        f"/v1/departments/{await department_id(session, 'roads')}/queue",
        headers=bearer(settings, people["staff"]),
    )
    assert roads_queue.status_code == 200, roads_queue.text
    assert str(report.id) not in str(roads_queue.json()["items"])
    assert (
        await client.post(
            f"/v1/reports/{report.id}/claim", headers=bearer(settings, people["greenery_staff"])
        )
    ).status_code == 200


async def test_a_supervisor_may_reset_the_clock(
    client: AsyncClient, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    people = await _cast(session, settings)
    greenery = await department_id(session, "greenery")
    report = await accepted_report(
        session, people["resident"], people["moderator"], when=local(1, 10)
    )
    clock.now = local(3, 11)
    moved = await client.post(
        f"/v1/reports/{report.id}/transfer",
        json={"to_department_id": str(greenery), "reason": "Misrouted.", "reset_clock": True},
        headers=bearer(settings, people["supervisor"]),
    )
    assert moved.status_code == 200, moved.text
    await session.refresh(report)
    reason = await reason_by_code(session, "pothole")
    calendar = await city.load_working_calendar(session, greenery)
    fresh = add_working_time(local(3, 11), reason.sla_amount, reason.sla_unit, calendar)
    assert fresh == local(10, 11)
    assert report.due_at == fresh
    rnd = await _round(session, report)
    assert rnd.due_at == rnd.initial_due_at == fresh


async def test_staff_ask_and_the_target_or_the_dispatcher_decides(
    client: AsyncClient, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    people = await _cast(session, settings)
    roads = await department_id(session, "roads")
    greenery = await department_id(session, "greenery")
    waste = await department_id(session, "waste")
    dispatcher = await department_id(session, "dispatcher")
    report = await accepted_report(
        session, people["resident"], people["moderator"], when=local(1, 10)
    )
    staff = bearer(settings, people["staff"])
    url = f"/v1/reports/{report.id}/transfer-requests"
    clock.now = local(2, 9)

    asked = await client.post(
        url, json={"to_department_id": str(greenery), "reason": "A tree issue."}, headers=staff
    )
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["state"] == "pending"
    assert request["tracking_code"] == report.tracking_code
    twice = await client.post(
        url, json={"to_department_id": str(waste), "reason": "Or waste?"}, headers=staff
    )
    assert twice.status_code == 409
    assert (
        await client.post(
            url,
            json={"to_department_id": str(greenery), "reason": "Not yours to ask."},
            headers=bearer(settings, people["greenery_staff"]),
        )
    ).status_code == 404
    assert (await client.post(url, json={"reason": "No target"}, headers=staff)).status_code == 422

    async def listed(who: str, department: uuid.UUID, **params: Any) -> list[str]:
        answer = await client.get(
            f"/v1/departments/{department}/transfer-requests",
            params=params,
            headers=bearer(settings, people[who]),
        )
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert request["id"] in await listed("greenery_staff", greenery)
    assert request["id"] in await listed("dispatcher", dispatcher)  # the dispatcher sees all
    assert request["id"] in await listed("staff", roads, direction="outgoing")
    assert request["id"] not in await listed("waste_staff", waste)
    assert (
        await client.get(f"/v1/departments/{greenery}/transfer-requests", headers=staff)
    ).status_code == 403

    decide = f"/v1/transfer-requests/{request['id']}"
    assert (
        await client.post(f"{decide}/accept", headers=bearer(settings, people["waste_staff"]))
    ).status_code == 404
    assert (await client.post(f"{decide}/accept", headers=staff)).status_code == 403
    no_reset = await client.post(
        f"{decide}/accept",
        json={"reset_clock": True},
        headers=bearer(settings, people["greenery_staff"]),
    )
    assert no_reset.status_code == 403
    declined = await client.post(
        f"{decide}/decline",
        json={"note": "Roots are the road's business."},
        headers=bearer(settings, people["greenery_staff"]),
    )
    assert declined.status_code == 200
    assert declined.json()["state"] == "declined"
    await session.refresh(report)
    assert report.department_id == roads
    assert (
        await client.post(f"{decide}/accept", headers=bearer(settings, people["greenery_head"]))
    ).status_code == 409

    # Asked again, to waste: the dispatcher takes the decision.
    again = await client.post(
        url, json={"to_department_id": str(waste), "reason": "Dumped rubble."}, headers=staff
    )
    accepted = await client.post(
        f"/v1/transfer-requests/{again.json()['id']}/accept",
        headers=bearer(settings, people["dispatcher"]),
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    await session.refresh(report)
    assert report.department_id == waste
    assert report.state == ReportState.accepted
    assert report.due_at == local(8, 10)
    types = [
        e["type"]
        for e in (
            await client.get(
                f"/v1/reports/{report.id}/timeline", headers=bearer(settings, people["moderator"])
            )
        ).json()
    ]
    assert types.count("transfer_requested") == 2
    assert "transfer_declined" in types
    assert "transfer" in types and "receive_transfer" in types

    assert (
        await client.post(f"/v1/transfer-requests/{uuid.uuid4()}/accept", headers=staff)
    ).status_code == 404


async def test_the_requesting_department_may_cancel(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    greenery = await department_id(session, "greenery")
    report = await accepted_report(session, people["resident"], people["moderator"])
    asked = await client.post(
        f"/v1/reports/{report.id}/transfer-requests",
        json={"to_department_id": str(greenery), "reason": "Maybe theirs."},
        headers=bearer(settings, people["staff"]),
    )
    url = f"/v1/transfer-requests/{asked.json()['id']}/cancel"
    assert (
        await client.post(url, headers=bearer(settings, people["greenery_staff"]))
    ).status_code == 403
    assert (
        await client.post(url, headers=bearer(settings, people["waste_staff"]))
    ).status_code == 404
    cancelled = await client.post(url, headers=bearer(settings, people["staff"]))
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert (await client.post(url, headers=bearer(settings, people["staff"]))).status_code == 409
    request = await session.get(TransferRequest, uuid.UUID(asked.json()["id"]))
    assert request is not None
    assert request.decided_by_id == people["staff"].id


# --- extensions ----------------------------------------------------------------------------


async def test_an_approved_extension_is_public_with_its_justification(
    client: AsyncClient, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    people = await _cast(session, settings)
    roads = await department_id(session, "roads")
    report = await accepted_report(
        session, people["resident"], people["moderator"], when=local(1, 10)
    )
    staff = bearer(settings, people["staff"])
    url = f"/v1/reports/{report.id}/extension-requests"
    clock.now = local(4, 12)
    wanted = local(12, 17)
    body = {"due_at": wanted.isoformat(), "justification": "The asphalt plant opens on the 9th."}

    for invalid in (
        {**body, "due_at": local(5, 10).isoformat()},  # before the current deadline
        {**body, "due_at": "2027-03-12T17:00:00"},  # no offset
        {**body, "justification": ""},
        {"justification": "No date"},
    ):
        assert (await client.post(url, json=invalid, headers=staff)).status_code == 422, invalid
    # The refusal names the current deadline on the city's clock.
    early = await client.post(url, json={**body, "due_at": local(5, 10).isoformat()}, headers=staff)
    assert "(Europe/Tallinn)" in early.json()["detail"], early.text
    assert (
        await client.post(url, json=body, headers=bearer(settings, people["greenery_staff"]))
    ).status_code == 404
    assert (await client.post(url, json=body)).status_code == 401
    asked = await client.post(url, json=body, headers=staff)
    assert asked.status_code == 201, asked.text
    assert asked.json()["state"] == "pending"
    assert asked.json()["current_due_at"] == local(8, 10).isoformat().replace("+00:00", "Z")
    assert (await client.post(url, json=body, headers=staff)).status_code == 409

    listed = await client.get(
        f"/v1/departments/{roads}/extension-requests",
        headers=bearer(settings, people["supervisor"]),
    )
    assert [i["id"] for i in listed.json()["items"]] == [asked.json()["id"]]

    decide = f"/v1/extension-requests/{asked.json()['id']}"
    staff_try = await client.post(f"{decide}/approve", headers=staff)
    assert staff_try.status_code == 403
    assert (
        await client.post(f"{decide}/approve", headers=bearer(settings, people["greenery_head"]))
    ).status_code == 404
    approved = await client.post(
        f"{decide}/approve", headers=bearer(settings, people["supervisor"])
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "accepted"
    await session.refresh(report)
    assert report.due_at == wanted
    rnd = await _round(session, report)
    assert rnd.due_at == wanted
    assert rnd.extensions == 1
    assert rnd.initial_due_at == local(8, 10)
    public = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
    extension = next(e for e in public if e["type"] == "extension")
    assert extension["public"] is True
    assert extension["data"]["due_at"] == wanted.isoformat()
    assert extension["data"]["justification"] == "The asphalt plant opens on the 9th."
    assert (
        (await client.get(f"/v1/reports/{report.id}"))
        .json()["due_at"]
        .startswith("2027-03-12T15:00")
    )
    assert (
        await client.post(f"{decide}/decline", headers=bearer(settings, people["supervisor"]))
    ).status_code == 409
    assert (
        await client.post(
            f"/v1/extension-requests/{uuid.uuid4()}/approve",
            headers=bearer(settings, people["supervisor"]),
        )
    ).status_code == 404


async def test_a_declined_extension_keeps_the_deadline(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    due_at = report.due_at
    assert due_at is not None
    asked = await client.post(
        f"/v1/reports/{report.id}/extension-requests",
        json={"due_at": (due_at + timedelta(days=7)).isoformat(), "justification": "Busy weeks."},
        headers=bearer(settings, people["staff"]),
    )
    declined = await client.post(
        f"/v1/extension-requests/{asked.json()['id']}/decline",
        json={"note": "Do it this week."},
        headers=bearer(settings, people["supervisor"]),
    )
    assert declined.status_code == 200
    assert declined.json()["decision_note"] == "Do it this week."
    await session.refresh(report)
    assert report.due_at == due_at
    request = await session.get(ExtensionRequest, uuid.UUID(asked.json()["id"]))
    assert request is not None
    assert request.decided_by_id == people["supervisor"].id


# --- the whole way, over HTTP ----------------------------------------------------------------


async def test_file_accept_claim_clarify_answer_transfer_extend(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    people = await _cast(session, settings)
    greenery = await department_id(session, "greenery")
    reason = await reason_by_code(session, "pothole")
    resident = bearer(settings, people["resident"])

    clock.now = local(1, 9, 15)
    filed = await client.post(
        "/v1/reports",
        json={
            "reason_id": str(reason.id),
            "lat": KESKLINN[0],
            "lon": KESKLINN[1],
            "description": "A deep pothole by the crossing.",
            "attributes": {"size": "large"},
        },
        headers=resident,
    )
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]

    clock.now = local(1, 10)
    accepted = await client.post(
        f"/v1/moderation/reports/{report_id}/accept",
        headers={**bearer(settings, people["moderator"]), "If-Match": filed.headers["ETag"]},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["due_at"] == "2027-03-08T08:00:00Z"  # Monday 10:00 in Tartu

    clock.now = local(1, 11)
    staff = bearer(settings, people["staff"])
    claimed = await client.post(f"/v1/reports/{report_id}/claim", headers=staff)
    assert claimed.json()["report"]["state"] == "in_progress"

    clock.now = local(2, 15)
    asked = await client.post(
        f"/v1/reports/{report_id}/clarification-requests",
        json={"question": "How deep is it?"},
        headers=staff,
    )
    assert asked.json()["report"]["state"] == "awaiting_info"
    await run_worker()
    assert any(
        "How deep is it?" in message.get_content()
        for message in mailbox.to(people["resident"].email)
    )

    clock.now = local(3, 10)
    answered = await client.post(
        f"/v1/reports/{report_id}/clarifications",
        json={"answer": "About 15 cm."},
        headers=resident,
    )
    assert answered.status_code == 200, answered.text
    # 3.5 working hours paused: Monday 10:00 → Monday 13:30 (11:30 UTC).
    assert answered.json()["due_at"] == "2027-03-08T11:30:00Z"

    clock.now = local(3, 11)
    moved = await client.post(
        f"/v1/reports/{report_id}/transfer",
        json={"to_department_id": str(greenery), "reason": "Roots of the lime tree."},
        headers=bearer(settings, people["supervisor"]),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["report"]["due_at"] == "2027-03-08T11:30:00Z"

    clock.now = local(4, 9)
    greenery_staff = bearer(settings, people["greenery_staff"])
    assert (
        await client.post(f"/v1/reports/{report_id}/claim", headers=greenery_staff)
    ).status_code == 200
    extension = await client.post(
        f"/v1/reports/{report_id}/extension-requests",
        json={"due_at": "2027-03-12T15:00:00Z", "justification": "The tree must be cut first."},
        headers=greenery_staff,
    )
    assert extension.status_code == 201, extension.text
    clock.now = local(4, 10)
    approved = await client.post(
        f"/v1/extension-requests/{extension.json()['id']}/approve",
        headers=bearer(settings, people["greenery_head"]),
    )
    assert approved.status_code == 200, approved.text

    report = (await client.get(f"/v1/reports/{report_id}")).json()
    assert report["due_at"] == "2027-03-12T15:00:00Z"
    assert report["department"]["code"] == "greenery"
    assert report["state"] == "in_progress"
    # Events of one action share its instant (a transfer is two steps at once).
    public = sorted(
        (e["at"], e["type"]) for e in (await client.get(f"/v1/reports/{report_id}/timeline")).json()
    )
    assert public == [
        ("2027-03-01T08:00:00Z", "accept"),
        ("2027-03-01T09:00:00Z", "start_work"),
        ("2027-03-02T13:00:00Z", "ask_info"),
        ("2027-03-03T08:00:00Z", "receive_info"),
        ("2027-03-03T09:00:00Z", "receive_transfer"),
        ("2027-03-03T09:00:00Z", "transfer"),
        ("2027-03-04T07:00:00Z", "start_work"),
        ("2027-03-04T08:00:00Z", "extension"),
    ]
    walked = await session.get(Report, uuid.UUID(report_id))
    assert walked is not None
    rnd = await _round(session, walked)
    assert (rnd.paused_working_seconds, rnd.extensions, rnd.department_id) == (12600, 1, greenery)

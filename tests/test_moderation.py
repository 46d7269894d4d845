"""The state machine, moderation and the reporter's own changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.errors import Conflict
from service.reports.models import Report, ReportEvent, ReportSubscription, ReportSupport
from service.reports.states import (
    TRANSITIONS,
    Action,
    ReportState,
    legal_pairs,
    transition,
)
from tests.conftest import Mailbox, RunWorker
from tests.factories import ANNELINN, KESKLINN, accept_report, bearer, file_report, make_user


def test_every_legal_transition_reaches_its_target() -> None:
    pairs = legal_pairs()
    assert len(pairs) == sum(len(t.sources) for t in TRANSITIONS)
    for source, action, target in pairs:
        assert transition(source, action).target is target
    # Every state of the life cycle is reachable, and every state but the final ones leads on.
    reachable = {target for _, _, target in pairs} | {ReportState.draft}
    assert reachable == set(ReportState)
    final = {ReportState.rejected, ReportState.duplicate, ReportState.withdrawn, ReportState.closed}
    assert {source for source, _, _ in pairs} == set(ReportState) - final


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (ReportState.submitted, Action.answer),
        (ReportState.accepted, Action.accept),
        (ReportState.rejected, Action.withdraw),
        (ReportState.answered, Action.withdraw),
        (ReportState.closed, Action.reopen),
        (ReportState.draft, Action.accept),
        (ReportState.withdrawn, Action.submit),
        (ReportState.duplicate, Action.mark_duplicate),
        (ReportState.in_progress, Action.receive_info),
        (ReportState.transferred, Action.answer),
    ],
)
def test_illegal_transitions_name_the_current_state(state: ReportState, action: Action) -> None:
    with pytest.raises(Conflict) as caught:
        transition(state, action)
    assert caught.value.extensions["current_state"] == state.value
    assert state.value in caught.value.detail


async def _moderator(session: AsyncSession, settings: Settings) -> tuple[Any, dict[str, str]]:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    return moderator, bearer(settings, moderator)


async def test_queue_is_oldest_first_and_for_moderators(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    _, headers = await _moderator(session, settings)
    first = await file_report(session, resident)
    second = await file_report(session, resident)
    page = (await client.get("/v1/moderation/queue", params={"limit": 200}, headers=headers)).json()
    ids = [item["report"]["id"] for item in page["items"]]
    assert ids.index(str(first.id)) < ids.index(str(second.id))
    item = page["items"][ids.index(str(first.id))]
    assert item["moderation_due_at"] is not None
    assert item["overdue"] is False
    # No contact details in the queue: the single report view shows them, audited.
    assert item["report"]["private"]["reporter"]["email"] is None
    assert (await client.get("/v1/moderation/queue")).status_code == 401
    assert (
        await client.get("/v1/moderation/queue", headers=bearer(settings, resident))
    ).status_code == 403


async def test_accept_with_a_correction_routes_again(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    _, headers = await _moderator(session, settings)
    report = await file_report(session, resident, reason_code="street-dirty", point=KESKLINN)
    downtown = report.department_id
    response = await client.post(
        f"/v1/moderation/reports/{report.id}/accept",
        json={"lat": ANNELINN[0], "lon": ANNELINN[1], "note": "Wrong pin", "version": 1},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "accepted"
    assert body["district"]["code"] == "annelinn"
    assert body["department"]["code"] == "waste"
    assert body["department"]["id"] != str(downtown)
    event = (
        await session.execute(
            select(ReportEvent).where(
                ReportEvent.report_id == report.id, ReportEvent.type == "accept"
            )
        )
    ).scalar_one()
    assert event.data["corrections"]["department"]["from"] == str(downtown)
    assert event.public is True
    public_timeline = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
    assert "Wrong pin" not in str(public_timeline)
    staff_timeline = (await client.get(f"/v1/reports/{report.id}/timeline", headers=headers)).json()
    assert {"type": "note", "text": "Wrong pin"} in [
        {"type": e["type"], "text": e["data"].get("text")} for e in staff_timeline
    ]

    again = await client.post(
        f"/v1/moderation/reports/{report.id}/accept", headers={**headers, "If-Match": '"2"'}
    )
    assert again.status_code == 409
    assert again.json()["current_state"] == "accepted"
    outside = await file_report(session, resident)
    refused = await client.post(
        f"/v1/moderation/reports/{outside.id}/accept",
        json={"lat": 59.43, "lon": 24.75, "version": 1},
        headers=headers,
    )
    assert refused.status_code == 422
    missing = await client.post(
        f"/v1/moderation/reports/{uuid.uuid4()}/accept", json={"version": 1}, headers=headers
    )
    assert missing.status_code == 404


async def test_reject_notifies_the_reporter(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    _, headers = await _moderator(session, settings)
    report = await file_report(session, resident)
    bad = await client.post(
        f"/v1/moderation/reports/{report.id}/reject", json={"code": "rude"}, headers=headers
    )
    assert bad.status_code == 422
    response = await client.post(
        f"/v1/moderation/reports/{report.id}/reject",
        json={
            "code": "private_property",
            "text": "This yard belongs to a private company.",
            "version": 1,
        },
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    assert response.json()["private"]["reject_code"] == "private_property"
    await run_worker()
    messages = mailbox.to(resident.email)
    assert len(messages) == 1
    assert report.tracking_code in messages[0]["Subject"]
    assert "private company" in messages[0].get_content()
    # Rejected reports stay private.
    assert (await client.get(f"/v1/reports/{report.id}")).status_code == 404


async def test_duplicate_merges_supporters_and_subscribers(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    first_reporter = await make_user(session, settings)
    second_reporter = await make_user(session, settings)
    neighbour = await make_user(session, settings)
    moderator, headers = await _moderator(session, settings)
    original = await file_report(session, first_reporter)
    await accept_report(session, moderator, original)
    repeat = await file_report(session, second_reporter)
    await accept_report(session, moderator, repeat)
    # Someone supports the repeat, and the original's reporter too (counted once after merge).
    for user in (neighbour, first_reporter):
        response = await client.put(
            f"/v1/reports/{repeat.id}/support", headers=bearer(settings, user)
        )
        assert response.status_code == 200

    merged = await client.post(
        f"/v1/moderation/reports/{repeat.id}/duplicate",
        json={"of": str(original.id), "version": 2},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["state"] == "duplicate"
    assert merged.json()["duplicate_of"] == str(original.id)
    supporters = set(
        (
            await session.execute(
                select(ReportSupport.user_id).where(ReportSupport.report_id == original.id)
            )
        ).scalars()
    )
    assert supporters == {neighbour.id, second_reporter.id}
    subscribers = set(
        (
            await session.execute(
                select(ReportSubscription.user_id).where(
                    ReportSubscription.report_id == original.id
                )
            )
        ).scalars()
    )
    assert subscribers == {first_reporter.id, second_reporter.id, neighbour.id}
    view = (await client.get(f"/v1/reports/{original.id}")).json()
    assert (view["supporters_count"], view["subscribers_count"]) == (2, 3)

    # The merged report stays public (it had been accepted) but takes no more support.
    assert (await client.get(f"/v1/reports/{repeat.id}")).status_code == 200
    more = await client.put(
        f"/v1/reports/{repeat.id}/support",
        headers=bearer(settings, await make_user(session, settings)),
    )
    assert more.status_code == 409
    assert more.json()["duplicate_of"] == str(original.id)
    # One merged straight from moderation was never checked: it stays private.
    unchecked = await file_report(session, second_reporter)
    response = await client.post(
        f"/v1/moderation/reports/{unchecked.id}/duplicate",
        json={"of": str(original.id), "version": 1},
        headers=headers,
    )
    assert response.status_code == 200
    assert (await client.get(f"/v1/reports/{unchecked.id}")).status_code == 404
    listed = await client.get("/v1/reports", params={"state": "duplicate", "limit": 200})
    listed_ids = [i["id"] for i in listed.json()["items"]]
    assert str(repeat.id) in listed_ids
    assert str(unchecked.id) not in listed_ids

    itself = await client.post(
        f"/v1/moderation/reports/{original.id}/duplicate",
        json={"of": str(original.id), "version": 2},
        headers=headers,
    )
    assert itself.status_code == 422
    into_duplicate = await file_report(session, first_reporter)
    chained = await client.post(
        f"/v1/moderation/reports/{into_duplicate.id}/duplicate",
        json={"of": str(repeat.id), "version": 1},
        headers=headers,
    )
    assert chained.status_code == 409


async def test_bulk_moderation_reports_each_result(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator, headers = await _moderator(session, settings)
    waiting = [await file_report(session, resident) for _ in range(2)]
    done = await file_report(session, resident)
    await accept_report(session, moderator, done)
    missing = uuid.uuid4()
    response = await client.post(
        "/v1/moderation/bulk",
        json={
            "action": "accept",
            "items": [{"id": str(r.id), "version": 1} for r in (*waiting, done)]
            + [{"id": str(missing), "version": 1}],
        },
        headers=headers,
    )
    assert response.status_code == 200
    results = {r["id"]: r for r in response.json()["results"]}
    assert [results[str(r.id)]["state"] for r in waiting] == ["accepted", "accepted"]
    assert results[str(done.id)]["status"] == 409
    assert results[str(missing)]["status"] == 404
    for report in waiting:
        await session.refresh(report)
        assert report.state == ReportState.accepted
        assert report.due_at is not None

    rejectable = await file_report(session, resident)
    no_text = await client.post(
        "/v1/moderation/bulk",
        json={"action": "reject", "items": [{"id": str(rejectable.id), "version": 1}]},
        headers=headers,
    )
    assert no_text.status_code == 422
    rejected = await client.post(
        "/v1/moderation/bulk",
        json={
            "action": "reject",
            "items": [{"id": str(rejectable.id), "version": 1}],
            "code": "abusive",
            "text": "Insults",
        },
        headers=headers,
    )
    assert rejected.json()["results"][0]["state"] == "rejected"


async def test_reporter_edits_until_acceptance_and_withdraws_until_answer(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    stranger = await make_user(session, settings)
    moderator, _ = await _moderator(session, settings)
    headers = bearer(settings, resident)
    report = await file_report(session, resident)
    url = f"/v1/reports/{report.id}"

    edited = await client.patch(
        url,
        json={"description": "Deeper than it looked", "attributes": {"size": "small"}},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["description"] == "Deeper than it looked"
    assert edited.json()["attributes"] == {"size": "small"}
    bad = await client.patch(url, json={"attributes": {"size": "enormous"}}, headers=headers)
    assert bad.status_code == 422
    assert (
        await client.patch(url, json={"description": "x"}, headers=bearer(settings, stranger))
    ).status_code == 404
    assert (await client.patch(url, json={"description": None}, headers=headers)).status_code == 422

    await accept_report(session, moderator, report)
    late = await client.patch(url, json={"description": "Too late"}, headers=headers)
    assert late.status_code == 409
    assert late.json()["current_state"] == "accepted"

    withdrawn = await client.post(f"{url}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"
    twice = await client.post(f"{url}/withdraw", headers=headers)
    assert twice.status_code == 409
    assert twice.json()["current_state"] == "withdrawn"
    assert (
        await client.post(f"/v1/reports/{report.id}/withdraw", headers=bearer(settings, stranger))
    ).status_code == 404

    answered = await file_report(session, resident)
    await session.execute(
        Report.__table__.update()  # type: ignore[attr-defined]
        .where(Report.__table__.c.id == answered.id)  # type: ignore[attr-defined]
        .values(state=ReportState.answered)
    )
    too_late = await client.post(f"/v1/reports/{answered.id}/withdraw", headers=headers)
    assert too_late.status_code == 409
    assert too_late.json()["current_state"] == "answered"
    events = (
        await session.execute(
            select(ReportEvent.type)
            .where(ReportEvent.report_id == report.id)
            .order_by(ReportEvent.at)
        )
    ).scalars()
    assert list(events) == ["filed", "edited", "accept", "withdraw"]

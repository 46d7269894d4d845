"""Working one report: claim, assign, unassign, start, notes and priorities; the department's
priority list; and bulk actions, each report on its own."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.routing import APIRoute
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, User
from service.config import Settings
from service.queues.priorities_router import router as priorities_router
from service.queues.requests_router import router as requests_router
from service.queues.router import router as queues_router
from service.reports.models import Report, ReportEvent
from service.reports.states import ReportState
from tests.factories import bearer, make_user
from tests.queue_factories import accepted_report, department_id, person


async def _cast(session: AsyncSession, settings: Settings) -> dict[str, User]:
    return {
        "resident": await make_user(session, settings),
        "moderator": await person(session, settings, Role.moderator),
        "staff": await person(session, settings, Role.staff, "roads"),
        "colleague": await person(session, settings, Role.staff, "roads"),
        "supervisor": await person(session, settings, Role.supervisor, "roads"),
        "stranger": await person(session, settings, Role.staff, "greenery"),
        "head": await person(session, settings, Role.supervisor, "urban-economy"),
    }


async def _events(session: AsyncSession, report_id: uuid.UUID) -> list[ReportEvent]:
    rows = await session.execute(
        select(ReportEvent)
        .where(col(ReportEvent.report_id) == report_id)
        .order_by(col(ReportEvent.at), col(ReportEvent.id))
    )
    return list(rows.scalars())


async def test_claiming_takes_the_report_and_starts_work(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    version = report.version
    url = f"/v1/reports/{report.id}/claim"

    claimed = await client.post(url, headers=bearer(settings, people["staff"]))
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert body["report"]["state"] == "in_progress"
    assert body["assignee"] == {"id": str(people["staff"].id), "display_name": "staff roads"}
    assert body["report"]["version"] > version
    assert claimed.headers["ETag"] == f'"{body["report"]["version"]}"'
    events = {e.type: e for e in await _events(session, report.id)}
    assert events["claimed"].public is False
    assert events["start_work"].public is True
    # Claiming again is harmless; a colleague takes it over by assigning, not by claiming.
    assert (await client.post(url, headers=bearer(settings, people["staff"]))).status_code == 200
    taken = await client.post(url, headers=bearer(settings, people["colleague"]))
    assert taken.status_code == 409
    assert taken.json()["reason"] == "assigned_to_someone_else"

    assert (await client.post(url)).status_code == 401
    assert (await client.post(url, headers=bearer(settings, people["resident"]))).status_code == 403
    other = await client.post(url, headers=bearer(settings, people["stranger"]))
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    missing = await client.post(
        f"/v1/reports/{uuid.uuid4()}/claim", headers=bearer(settings, people["staff"])
    )
    assert missing.status_code == 404
    bad_id = await client.post(
        "/v1/reports/not-a-uuid/claim", headers=bearer(settings, people["staff"])
    )
    assert bad_id.status_code == 422
    answered = await accepted_report(
        session, people["resident"], people["moderator"], state=ReportState.answered
    )
    late = await client.post(
        f"/v1/reports/{answered.id}/claim", headers=bearer(settings, people["staff"])
    )
    assert late.status_code == 409
    assert late.json()["current_state"] == "answered"


async def test_assigning_only_to_colleagues_of_the_reports_department(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    url = f"/v1/reports/{report.id}/assignee"
    headers = bearer(settings, people["staff"])

    given = await client.put(url, json={"user_id": str(people["colleague"].id)}, headers=headers)
    assert given.status_code == 200, given.text
    assert given.json()["assignee"]["id"] == str(people["colleague"].id)
    assert given.json()["report"]["state"] == "accepted"  # assigning does not start work
    # A supervisor above the department is a colleague too.
    above = await client.put(url, json={"user_id": str(people["head"].id)}, headers=headers)
    assert above.status_code == 200
    for outsider in (people["stranger"].id, people["resident"].id, uuid.uuid4()):
        refused = await client.put(url, json={"user_id": str(outsider)}, headers=headers)
        assert refused.status_code == 422, outsider
        assert refused.json()["field"] == "user_id"
    disabled = await person(session, settings, Role.staff, "roads")
    disabled.disabled_at = report.created_at
    await session.flush()
    assert (
        await client.put(url, json={"user_id": str(disabled.id)}, headers=headers)
    ).status_code == 422
    assert (await client.put(url, json={}, headers=headers)).status_code == 422
    assert (
        await client.put(
            url,
            json={"user_id": str(people["staff"].id)},
            headers=bearer(settings, people["stranger"]),
        )
    ).status_code == 404

    cleared = await client.delete(url, headers=headers)
    assert cleared.status_code == 200
    assert cleared.json()["assignee"] is None
    assert (await client.delete(url, headers=headers)).status_code == 200  # nothing to clear
    types = [e.type for e in await _events(session, report.id)]
    assert types.count("assigned") == 2
    assert types.count("unassigned") == 1
    assert (
        await client.delete(url, headers=bearer(settings, people["stranger"]))
    ).status_code == 404
    assert (await client.delete(url)).status_code == 401


async def test_starting_work_follows_the_state_table(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    url = f"/v1/reports/{report.id}/start"
    headers = bearer(settings, people["staff"])
    started = await client.post(url, headers=headers)
    assert started.status_code == 200
    assert started.json()["report"]["state"] == "in_progress"
    again = await client.post(url, headers=headers)
    assert again.status_code == 409
    assert again.json()["current_state"] == "in_progress"
    assert (await client.post(url, headers=bearer(settings, people["stranger"]))).status_code == 404
    assert (await client.post(url, headers=bearer(settings, people["resident"]))).status_code == 403


async def test_internal_notes_stay_inside_and_status_notes_are_public(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    url = f"/v1/reports/{report.id}/notes"
    headers = bearer(settings, people["staff"])

    internal = await client.post(url, json={"text": "Crew B knows the spot."}, headers=headers)
    assert internal.status_code == 201, internal.text
    assert internal.json()["type"] == "note"
    assert internal.json()["public"] is False
    public = await client.post(
        url, json={"text": "Repairs are planned for next week.", "public": True}, headers=headers
    )
    assert public.status_code == 201
    assert public.json()["type"] == "status_note"

    timeline = f"/v1/reports/{report.id}/timeline"
    seen_by_public = [e["data"].get("text") for e in (await client.get(timeline)).json()]
    assert "Repairs are planned for next week." in seen_by_public
    assert "Crew B knows the spot." not in seen_by_public
    seen_by_reporter = [
        e["data"].get("text")
        for e in (await client.get(timeline, headers=bearer(settings, people["resident"]))).json()
    ]
    assert "Crew B knows the spot." not in seen_by_reporter
    seen_by_staff = [
        e["data"].get("text") for e in (await client.get(timeline, headers=headers)).json()
    ]
    assert "Crew B knows the spot." in seen_by_staff

    assert (await client.post(url, json={"text": "  "}, headers=headers)).status_code == 422
    assert (await client.post(url, json={}, headers=headers)).status_code == 422
    assert (
        await client.post(url, json={"text": "x"}, headers=bearer(settings, people["stranger"]))
    ).status_code == 404
    assert (
        await client.post(url, json={"text": "x"}, headers=bearer(settings, people["resident"]))
    ).status_code == 403
    assert (await client.post(url, json={"text": "x"})).status_code == 401
    assert (
        await client.post(f"/v1/reports/{uuid.uuid4()}/notes", json={"text": "x"}, headers=headers)
    ).status_code == 404


async def test_priorities_are_the_departments_own(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    roads = await department_id(session, "roads")
    greenery = await department_id(session, "greenery")
    url = f"/v1/departments/{roads}/priorities"
    boss = bearer(settings, people["supervisor"])

    urgent = await client.post(
        url,
        json={"code": "urgent", "name": "Urgent", "position": 1, "external_code": "P1"},
        headers=boss,
    )
    assert urgent.status_code == 201, urgent.text
    routine = await client.post(
        url, json={"code": "routine", "name": "Routine", "position": 2}, headers=boss
    )
    assert routine.status_code == 201
    assert (
        await client.post(url, json={"code": "urgent", "name": "Again"}, headers=boss)
    ).status_code == 409
    assert (
        await client.post(url, json={"code": "Not A Code", "name": "x"}, headers=boss)
    ).status_code == 422
    assert (
        await client.post(
            url, json={"code": "x", "name": "x"}, headers=bearer(settings, people["staff"])
        )
    ).status_code == 403
    # The supervisor above manages them too; another department's supervisor does not.
    assert (
        await client.post(
            url, json={"code": "low", "name": "Low"}, headers=bearer(settings, people["head"])
        )
    ).status_code == 201
    greenery_head = await person(session, settings, Role.supervisor, "greenery")
    assert (
        await client.post(
            url, json={"code": "y", "name": "y"}, headers=bearer(settings, greenery_head)
        )
    ).status_code == 403
    assert (
        await client.post(
            f"/v1/departments/{uuid.uuid4()}/priorities",
            json={"code": "y", "name": "y"},
            headers=boss,
        )
    ).status_code == 404

    listed = await client.get(url, headers=bearer(settings, people["staff"]))
    assert [p["code"] for p in listed.json()] == ["low", "urgent", "routine"]
    assert (await client.get(url, headers=bearer(settings, people["stranger"]))).status_code == 403
    assert (await client.get(url)).status_code == 401

    urgent_id = urgent.json()["id"]
    changed = await client.patch(
        f"{url}/{urgent_id}", json={"external_code": "CASE-1", "position": 0}, headers=boss
    )
    assert changed.status_code == 200
    assert changed.json()["external_code"] == "CASE-1"
    assert (
        await client.patch(f"{url}/{uuid.uuid4()}", json={"name": "z"}, headers=boss)
    ).status_code == 404
    # A priority is found only under its own department.
    assert (
        await client.patch(
            f"/v1/departments/{greenery}/priorities/{urgent_id}",
            json={"name": "z"},
            headers=bearer(settings, people["head"]),
        )
    ).status_code == 404

    report = await accepted_report(session, people["resident"], people["moderator"])
    set_url = f"/v1/reports/{report.id}/priority"
    staff = bearer(settings, people["staff"])
    given = await client.put(set_url, json={"priority_id": urgent_id}, headers=staff)
    assert given.status_code == 200, given.text
    assert given.json()["priority"] == {
        "id": urgent_id,
        "code": "urgent",
        "name": "Urgent",
        "external_code": "CASE-1",
    }
    queue = await client.get(
        f"/v1/departments/{roads}/queue", params={"priority": urgent_id}, headers=staff
    )
    assert [i["report"]["id"] for i in queue.json()["items"]] == [str(report.id)]
    # The public never sees the department's priority.
    assert "priority" not in (await client.get(f"/v1/reports/{report.id}")).json()

    greenery_priority = await client.post(
        f"/v1/departments/{greenery}/priorities",
        json={"code": "urgent", "name": "Urgent"},
        headers=bearer(settings, people["head"]),
    )
    refused = await client.put(
        set_url, json={"priority_id": greenery_priority.json()["id"]}, headers=staff
    )
    assert refused.status_code == 422
    assert (await client.put(set_url, json={}, headers=staff)).status_code == 422
    assert (
        await client.put(
            set_url, json={"priority_id": None}, headers=bearer(settings, people["stranger"])
        )
    ).status_code == 404

    assert (await client.delete(f"{url}/{urgent_id}", headers=staff)).status_code == 403
    assert (await client.delete(f"{url}/{urgent_id}", headers=boss)).status_code == 204
    await session.refresh(report)
    assert report.priority_id is None
    cleared = await client.put(set_url, json={"priority_id": None}, headers=staff)
    assert cleared.json()["priority"] is None


async def test_bulk_actions_check_and_report_each_report_alone(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    roads = await department_id(session, "roads")
    first = await accepted_report(session, people["resident"], people["moderator"])
    second = await accepted_report(session, people["resident"], people["moderator"])
    closed = await accepted_report(
        session, people["resident"], people["moderator"], state=ReportState.closed
    )
    elsewhere = await accepted_report(
        session, people["resident"], people["moderator"], reason_code="street-dirty"
    )
    missing = uuid.uuid4()
    url = f"/v1/departments/{roads}/queue/bulk"
    headers = bearer(settings, people["staff"])
    ids = [str(r) for r in (first.id, second.id, closed.id, elsewhere.id, missing)]

    answer = await client.post(
        url,
        json={"action": "assign", "report_ids": ids, "user_id": str(people["colleague"].id)},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    statuses = {item["id"]: item["status"] for item in answer.json()["results"]}
    assert statuses == {
        str(first.id): 200,
        str(second.id): 200,
        str(closed.id): 409,
        str(elsewhere.id): 404,
        str(missing): 404,
    }
    for report in (first, second):
        await session.refresh(report)
        assert report.assignee_id == people["colleague"].id
    await session.refresh(elsewhere)
    assert elsewhere.assignee_id is None

    noted = await client.post(
        url,
        json={"action": "status_note", "report_ids": ids[:2], "text": "The crew is on its way."},
        headers=headers,
    )
    assert [item["status"] for item in noted.json()["results"]] == [200, 200]
    for report in (first, second):
        timeline = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
        assert any(e["data"].get("text") == "The crew is on its way." for e in timeline)

    invalid: list[dict[str, Any]] = [
        {"action": "assign", "report_ids": ids},
        {"action": "status_note", "report_ids": ids},
        {"action": "answer", "report_ids": ids, "text": "x"},
        {"action": "assign", "report_ids": [], "user_id": str(people["colleague"].id)},
        {"action": "status_note", "report_ids": [ids[0], ids[0]], "text": "x"},
    ]
    for body in invalid:
        assert (await client.post(url, json=body, headers=headers)).status_code == 422, body
    body = {"action": "status_note", "report_ids": ids[:1], "text": "x"}
    assert (
        await client.post(url, json=body, headers=bearer(settings, people["stranger"]))
    ).status_code == 403
    assert (
        await client.post(url, json=body, headers=bearer(settings, people["resident"]))
    ).status_code == 403
    assert (await client.post(url, json=body)).status_code == 401
    assert (
        await client.post(f"/v1/departments/{uuid.uuid4()}/queue/bulk", json=body, headers=headers)
    ).status_code == 404
    # Nothing was noted on a report outside the queue.
    assert all(e.type != "status_note" for e in await _events(session, elsewhere.id))
    assert (await session.get(Report, closed.id)) is not None


async def test_every_department_work_route_needs_a_person_working_a_department(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """401 without credentials, 403 for a resident and for a moderator (they do not work a
    queue); the reporter's answer to a clarification is the one route for residents."""
    resident = await make_user(session, settings)
    moderator = await person(session, settings, Role.moderator)
    routes = [
        route
        for router in (queues_router, requests_router, priorities_router)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) == 24
    for route in routes:
        path = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), route.path)
        for method in route.methods or ():
            anonymous = await client.request(method, path)
            assert anonymous.status_code == 401, (method, route.path)
            if route.path.endswith("/clarifications"):
                continue
            for who in (resident, moderator):
                answer = await client.request(method, path, headers=bearer(settings, who))
                assert answer.status_code == 403, (method, route.path)
    unverified = await make_user(session, settings, verified=False)
    assert (
        await client.post(
            f"/v1/reports/{uuid.uuid4()}/clarifications",
            json={"answer": "x"},
            headers=bearer(settings, unverified),
        )
    ).status_code == 403


async def test_lists_and_decisions_validate_their_input(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    roads = await department_id(session, "roads")
    staff = bearer(settings, people["staff"])
    boss = bearer(settings, people["supervisor"])
    for url in (
        f"/v1/departments/{roads}/transfer-requests?direction=sideways",
        f"/v1/departments/{roads}/transfer-requests?state=maybe",
        f"/v1/departments/{roads}/extension-requests?state=maybe",
        f"/v1/departments/{roads}/extension-requests?limit=1000",
    ):
        assert (await client.get(url, headers=staff)).status_code == 422, url
    for url in (
        f"/v1/departments/{uuid.uuid4()}/transfer-requests",
        f"/v1/departments/{uuid.uuid4()}/extension-requests",
    ):
        assert (await client.get(url, headers=staff)).status_code == 404, url
    assert (
        await client.get(
            f"/v1/departments/{roads}/extension-requests",
            headers=bearer(settings, people["stranger"]),
        )
    ).status_code == 403
    some = uuid.uuid4()
    for url, body in (
        (f"/v1/transfer-requests/{some}/accept", {"reset_clock": "sometimes"}),
        (f"/v1/transfer-requests/{some}/decline", {"note": "x" * 2001}),
        (f"/v1/extension-requests/{some}/approve", {"surprise": True}),
        (f"/v1/extension-requests/{some}/decline", {"note": 5}),
    ):
        assert (await client.post(url, json=body, headers=boss)).status_code == 422, url
    priorities = f"/v1/departments/{roads}/priorities"
    created = await client.post(priorities, json={"code": "soon", "name": "Soon"}, headers=boss)
    assert (
        await client.patch(
            f"{priorities}/{created.json()['id']}", json={"position": -1}, headers=boss
        )
    ).status_code == 422
    assert (
        await client.patch(
            f"{priorities}/{created.json()['id']}", json={"name": "x"}, headers=staff
        )
    ).status_code == 403
    assert (await client.delete(f"{priorities}/{uuid.uuid4()}", headers=boss)).status_code == 404


async def test_public_status_notes_are_refused_where_the_reason_moderates_answers(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """An illegal-construction answer waits for a moderator: a public status note on such a
    report would put the department's text out unmoderated (409); internal notes stay."""
    people = await _cast(session, settings)
    report = await accepted_report(
        session, people["resident"], people["moderator"], reason_code="illegal-construction"
    )
    staff = await make_user(session, settings, roles=((Role.staff, report.department_id),))
    url = f"/v1/reports/{report.id}/notes"
    headers = bearer(settings, staff)
    refused = await client.post(
        url, json={"text": "The shed has a permit.", "public": True}, headers=headers
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "public_texts_moderated"
    timeline = await client.get(f"/v1/reports/{report.id}/timeline")
    assert timeline.status_code == 200
    assert "The shed has a permit." not in timeline.text
    internal = await client.post(url, json={"text": "Permit 2114/2026."}, headers=headers)
    assert internal.status_code == 201, internal.text
    bulk = await client.post(
        f"/v1/departments/{report.department_id}/queue/bulk",
        json={"action": "status_note", "report_ids": [str(report.id)], "text": "Soon."},
        headers=headers,
    )
    assert bulk.status_code == 200, bulk.text
    assert [r["status"] for r in bulk.json()["results"]] == [409]

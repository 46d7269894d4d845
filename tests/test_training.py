"""Programmes, enrolment, attendance and outreach: the rules and who may do what."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth import service as auth
from service.auth.models import Role, User
from service.auth.schemas import ApiKeyCreate
from service.config import Settings
from service.training.attendance import WRONG_CODES_PER_HOUR
from tests.conftest import Mailbox, RunWorker
from tests.factories import bearer, make_user
from tests.training_factories import (
    SPRING_2019,
    Clock,
    add_session,
    checkin_code,
    coordinator,
    create_programme,
    open_programme,
    outside_building,
    pilot_buildings,
)


async def _enrol(
    client: AsyncClient, settings: Settings, person: User, programme_id: str, building: uuid.UUID
) -> dict[str, object]:
    response = await client.post(
        f"/v1/training/programmes/{programme_id}/enrolments",
        json={"building_id": str(building)},
        headers=bearer(settings, person),
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_check_in_only_in_the_window_once_and_with_the_code(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    clock = Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, (training,) = await open_programme(client, headers, [building], SPRING_2019)
    person = await make_user(session, settings)
    await _enrol(client, settings, person, programme["id"], building)
    code = await checkin_code(client, headers, training["id"])
    url = f"/v1/training/sessions/{training['id']}/check-in"
    mine = bearer(settings, person)

    # 31 minutes before the start, and 31 minutes after the end: closed.
    for moment in (
        SPRING_2019 - timedelta(minutes=31),
        SPRING_2019 + timedelta(minutes=90 + 31),
    ):
        clock.set(moment)
        early = await client.post(url, json={"code": code}, headers=mine)
        assert early.status_code == 409, early.text
        assert early.json()["type"] == "/problems/check-in-closed"
        # The city's wall clock, the month by name: 17:30 in Tartu, not 14:30 UTC.
        assert (
            "from April 8, 2019 at 17:00 (Europe/Tallinn) to April 8, 2019 at 19:30 "
            in (early.json()["detail"])
        )
        assert "+00:00" not in early.json()["detail"]
    # Half an hour before the start it opens; a wrong code is refused.
    clock.set(SPRING_2019 - timedelta(minutes=30))
    wrong = await client.post(
        url, json={"code": "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"}, headers=mine
    )
    assert wrong.status_code == 422
    assert wrong.json()["type"] == "/problems/wrong-check-in-code"
    done = await client.post(url, json={"code": f" {code[:3]}-{code[3:]} "}, headers=mine)
    assert done.status_code == 201, done.text
    assert done.json()["method"] == "check_in"
    # Once per person.
    second = await client.post(url, json={"code": code}, headers=mine)
    assert second.status_code == 409
    assert second.json()["reason"] == "already_checked_in"
    progress = (await client.get("/v1/me/training", headers=mine)).json()["programmes"][0]
    assert progress["sessions_attended"] == 1
    assert progress["sessions"][0]["method"] == "check_in"

    # Someone not enrolled cannot check in, even with the code.
    stranger = await make_user(session, settings)
    refused = await client.post(url, json={"code": code}, headers=bearer(settings, stranger))
    assert refused.status_code == 403
    assert refused.json()["reason"] == "not_enrolled"


async def test_guessing_check_in_codes_is_rate_limited(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=1))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, (training,) = await open_programme(client, headers, [building], SPRING_2019)
    person = await make_user(session, settings)
    await _enrol(client, settings, person, programme["id"], building)
    code = await checkin_code(client, headers, training["id"])
    app.state.clock = lambda: SPRING_2019
    url = f"/v1/training/sessions/{training['id']}/check-in"
    guesses = [c for c in ("222222", "333333", "444444", "555555") if c != code]
    for attempt in range(WRONG_CODES_PER_HOUR):
        response = await client.post(
            url, json={"code": guesses[attempt % len(guesses)]}, headers=bearer(settings, person)
        )
        assert response.status_code == 422
    blocked = await client.post(url, json={"code": code}, headers=bearer(settings, person))
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


async def test_capacity_and_the_waiting_list(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, _ = await open_programme(client, headers, [building], SPRING_2019, capacity=2)
    people = [await make_user(session, settings) for _ in range(4)]
    statuses = [
        await _enrol(client, settings, person, programme["id"], building) for person in people
    ]
    assert [s["status"] for s in statuses] == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    assert [s["waitlist_position"] for s in statuses] == [None, None, 1, 2]
    again = await client.post(
        f"/v1/training/programmes/{programme['id']}/enrolments",
        json={"building_id": str(building)},
        headers=bearer(settings, people[0]),
    )
    assert again.status_code == 409
    # A place given up goes to the first person waiting, who is told by email.
    gone = await client.delete(
        f"/v1/training/programmes/{programme['id']}/enrolments/me",
        headers=bearer(settings, people[1]),
    )
    assert gone.status_code == 200
    assert gone.json()["status"] == "withdrawn"
    third = (await client.get("/v1/me/training", headers=bearer(settings, people[2]))).json()
    assert third["programmes"][0]["status"] == "enrolled"
    fourth = (await client.get("/v1/me/training", headers=bearer(settings, people[3]))).json()
    assert fourth["programmes"][0]["waitlist_position"] == 1
    await run_worker()  # the outreach job queues the email,
    await run_worker()  # and its delivery job sends it
    (message,) = mailbox.to(people[2].email)
    assert "came free" in message.get_content() or "vabanes" in message.get_content()
    assert not mailbox.to(people[3].email)
    # More places promote the rest.
    raised = await client.patch(
        f"/v1/training/programmes/{programme['id']}", json={"capacity": 5}, headers=headers
    )
    assert raised.status_code == 200
    assert raised.json()["enrolled"] == 3
    assert raised.json()["waitlisted"] == 0
    stats = (await client.get(f"/v1/training/programmes/{programme['id']}/stats")).json()
    assert (stats["participants"], stats["waitlisted"], stats["withdrawn"]) == (3, 0, 1)


async def test_enrolment_is_for_the_pilot_area_and_its_window(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    clock = Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    outside = await outside_building(session)
    programme, _ = await open_programme(
        client,
        headers,
        [building],
        SPRING_2019,
        enrolment_closes_at=(SPRING_2019 - timedelta(days=1)).isoformat(),
    )
    person = await make_user(session, settings)
    url = f"/v1/training/programmes/{programme['id']}/enrolments"
    refused = await client.post(
        url, json={"building_id": str(outside)}, headers=bearer(settings, person)
    )
    assert refused.status_code == 422
    assert refused.json()["reason"] == "outside_pilot_area"
    unknown = await client.post(
        url, json={"building_id": str(uuid.uuid4())}, headers=bearer(settings, person)
    )
    assert unknown.status_code == 422
    # A programme that takes outsiders takes them.
    opened = await client.patch(
        f"/v1/training/programmes/{programme['id']}",
        json={"allow_outsiders": True},
        headers=headers,
    )
    assert opened.status_code == 200
    taken = await client.post(
        url, json={"building_id": str(outside)}, headers=bearer(settings, person)
    )
    assert taken.status_code == 201
    # After the window closes nobody enrols.
    clock.set(SPRING_2019)
    late = await client.post(
        url,
        json={"building_id": str(building)},
        headers=bearer(settings, await make_user(session, settings)),
    )
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/enrolment-closed"
    assert "(Europe/Tallinn)" in late.json()["detail"]
    assert not late.json()["closed_at"].endswith("+00:00")
    # Unverified people, strangers and API keys do not enrol.
    assert (await client.post(url, json={"building_id": str(building)})).status_code == 401
    unverified = await make_user(session, settings, verified=False)
    response = await client.post(
        url, json={"building_id": str(building)}, headers=bearer(settings, unverified)
    )
    assert response.status_code == 403
    _, key = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name="app", scopes=["reports:write"], owner_id=person.id),
        SPRING_2019,
    )
    response = await client.post(
        url, json={"building_id": str(building)}, headers={"X-API-Key": key}
    )
    assert response.status_code == 403


async def test_residents_and_other_coordinators_do_not_run_a_programme(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    draft = await create_programme(client, headers, [building])
    training = await add_session(client, headers, draft["id"], SPRING_2019)
    resident = bearer(settings, await make_user(session, settings))
    _, other = await coordinator(session, settings)
    base = f"/v1/training/programmes/{draft['id']}"
    calls = [
        (
            "POST",
            "/v1/training/programmes",
            {
                "code": "x-programme",
                "title": "X",
                "pilot_building_ids": [str(building)],
                "min_sessions": 1,
            },
        ),
        ("PATCH", base, {"title": "Mine now"}),
        ("POST", f"{base}/publish", None),
        (
            "POST",
            f"{base}/sessions",
            {
                "topic": "T",
                "starts_at": SPRING_2019.isoformat(),
                "ends_at": (SPRING_2019 + timedelta(hours=1)).isoformat(),
            },
        ),
        ("PATCH", f"/v1/training/sessions/{training['id']}", {"venue": "Elsewhere"}),
        ("GET", f"/v1/training/sessions/{training['id']}/attendance", None),
        ("PUT", f"/v1/training/sessions/{training['id']}/attendance", {"user_ids": []}),
        ("GET", f"{base}/participants", None),
        ("POST", f"{base}/awards", None),
        ("GET", f"{base}/awards", None),
    ]
    for method, url, body in calls:
        response = await client.request(method, url, json=body, headers=resident)
        assert response.status_code == 403, (method, url, response.text)
        assert (await client.request(method, url, json=body)).status_code == 401
    # A draft is unknown to everyone but those who run it; another coordinator gets 404,
    # and once it is published, 403 on running it.
    assert (await client.get(base)).status_code == 404
    assert (await client.get(base, headers=other)).status_code == 404
    assert (await client.get(f"{base}/stats")).status_code == 404
    assert (await client.post(f"{base}/publish", headers=headers)).status_code == 200
    assert (await client.get(base)).status_code == 200
    for method, url, body in calls[1:]:
        response = await client.request(method, url, json=body, headers=other)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["reason"] == "not_coordinator"
    listed = (await client.get("/v1/training/programmes")).json()["items"]
    assert draft["id"] in {p["id"] for p in listed}


async def test_programme_rules_and_life_cycle(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    invalid = await client.post(
        "/v1/training/programmes",
        json={"code": "Bad Code", "title": "", "min_sessions": 0},
        headers=headers,
    )
    assert invalid.status_code == 422
    both = await client.post(
        "/v1/training/programmes",
        json={
            "code": "both",
            "title": "T",
            "min_sessions": 1,
            "pilot_district_id": str(uuid.uuid4()),
            "pilot_building_ids": [str(building)],
        },
        headers=headers,
    )
    assert both.status_code == 422
    resident = await make_user(session, settings)
    not_coordinator = await client.post(
        "/v1/training/programmes",
        json={
            "code": "co-run",
            "title": "T",
            "min_sessions": 1,
            "pilot_building_ids": [str(building)],
            "coordinator_ids": [str(resident.id)],
        },
        headers=headers,
    )
    assert not_coordinator.status_code == 422
    programme = await create_programme(client, headers, [building], min_sessions=2)
    duplicate = await client.post(
        "/v1/training/programmes",
        json={
            "code": programme["code"],
            "title": "T",
            "min_sessions": 1,
            "pilot_building_ids": [str(building)],
        },
        headers=headers,
    )
    assert duplicate.status_code == 409
    base = f"/v1/training/programmes/{programme['id']}"
    nulled = await client.patch(base, json={"title": None}, headers=headers)
    assert nulled.status_code == 422
    # The rule must be reachable before publishing.
    unreachable = await client.post(f"{base}/publish", headers=headers)
    assert unreachable.status_code == 409
    assert unreachable.json()["reason"] == "no_sessions"
    await add_session(client, headers, programme["id"], SPRING_2019)
    assert (await client.post(f"{base}/publish", headers=headers)).json()["reason"] == (
        "rule_unreachable"
    )
    await add_session(client, headers, programme["id"], SPRING_2019 + timedelta(days=14))
    # draft → open → running → finished, nothing else.
    finish = await client.post(f"{base}/finish", headers=headers)
    assert finish.status_code == 409
    assert finish.json()["state"] == "draft"
    for action, state in (("publish", "open"), ("start", "running"), ("finish", "finished")):
        response = await client.post(f"{base}/{action}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == state
    late = await client.patch(base, json={"title": "Renamed"}, headers=headers)
    assert late.status_code == 409
    events = (
        (
            await session.execute(
                select(AuditEvent.action).where(AuditEvent.subject_id == programme["id"])
            )
        )
        .scalars()
        .all()
    )
    assert {"training.programme_published", "training.programme_finished"} <= set(events)


async def test_roster_corrections_are_audited(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    clock = Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, (training,) = await open_programme(client, headers, [building], SPRING_2019)
    people = [await make_user(session, settings) for _ in range(3)]
    for person in people:
        await _enrol(client, settings, person, programme["id"], building)
    url = f"/v1/training/sessions/{training['id']}/attendance"
    early = await client.put(url, json={"user_ids": [str(people[0].id)]}, headers=headers)
    assert early.status_code == 409  # the session has not begun
    clock.set(SPRING_2019 + timedelta(hours=2))
    stranger = await make_user(session, settings)
    refused = await client.put(url, json={"user_ids": [str(stranger.id)]}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["users"] == [str(stranger.id)]
    repeated = await client.put(url, json={"user_ids": [str(people[0].id)] * 2}, headers=headers)
    assert repeated.status_code == 422
    first = await client.put(
        url, json={"user_ids": [str(people[0].id), str(people[1].id)]}, headers=headers
    )
    assert first.status_code == 200
    corrected = await client.put(
        url, json={"user_ids": [str(people[0].id), str(people[2].id)]}, headers=headers
    )
    assert {a["user_id"] for a in corrected.json()["attendees"]} == {
        str(people[0].id),
        str(people[2].id),
    }
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.subject_id == training["id"])
                .order_by(AuditEvent.id)
            )
        )
        .scalars()
        .all()
    )
    assert [e.action for e in events] == [
        "training.attendance_recorded",
        "training.attendance_corrected",
    ]
    assert events[1].details == {"added": [str(people[2].id)], "removed": [str(people[1].id)]}
    participants = (
        await client.get(f"/v1/training/programmes/{programme['id']}/participants", headers=headers)
    ).json()
    attended = {p["user_id"]: p["sessions_attended"] for p in participants}
    assert attended == {str(people[0].id): 1, str(people[1].id): 0, str(people[2].id): 1}
    # The participants' list names people and buildings, never their addresses.
    assert all(person.email not in str(participants) for person in people)


async def test_outreach_to_the_mailing_list_and_participants(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    outside = await outside_building(session)
    inside_member = await make_user(session, settings, name="Mari Maasikas")
    outside_member = await make_user(session, settings)
    for member, home in ((inside_member, building), (outside_member, outside)):
        joined = await client.put(
            "/v1/me/training/mailing-list",
            json={"building_id": str(home)},
            headers=bearer(settings, member),
        )
        assert joined.status_code == 200
    programme = await create_programme(client, headers, [building], title="Targa maja kool")
    training = await add_session(client, headers, programme["id"], SPRING_2019)
    published = await client.post(
        f"/v1/training/programmes/{programme['id']}/publish", headers=headers
    )
    assert published.status_code == 200
    await run_worker()  # the outreach job queues the emails,
    await run_worker()  # and their delivery jobs send them
    (announcement,) = mailbox.to(inside_member.email)
    assert "Targa maja kool" in announcement["Subject"]
    assert "Tere, Mari Maasikas!" in announcement.get_content()
    # In Tartu's time, the month by name in the reader's language.
    assert "8. aprill 2019 kell 17:30–" in announcement.get_content()
    assert not mailbox.to(outside_member.email)

    participant = await make_user(session, settings)
    await _enrol(client, settings, participant, programme["id"], building)
    mailbox.messages.clear()
    moved = await client.patch(
        f"/v1/training/sessions/{training['id']}",
        json={
            "venue": "Kaunase pst 23",
            "starts_at": (SPRING_2019 + timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert moved.status_code == 200
    bad = await client.patch(
        f"/v1/training/sessions/{training['id']}",
        json={"ends_at": SPRING_2019.isoformat()},
        headers=headers,
    )
    assert bad.status_code == 422
    await run_worker()
    await run_worker()
    (notice,) = mailbox.to(participant.email)
    assert "Kaunase pst 23" in notice.get_content()
    assert "18:30" in notice.get_content()
    assert not mailbox.to(inside_member.email)
    left = await client.delete(
        "/v1/me/training/mailing-list", headers=bearer(settings, inside_member)
    )
    assert left.status_code == 204
    mine = (await client.get("/v1/me/training", headers=bearer(settings, inside_member))).json()
    assert mine == {"programmes": [], "mailing_list_building_id": None}


async def test_admins_grant_the_ambassador_role_for_a_building(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    person = await make_user(session, settings)
    (building,) = await pilot_buildings(session, 1)
    url = f"/v1/admin/users/{person.id}/roles"
    missing = await client.post(url, json={"role": "ambassador"}, headers=bearer(settings, admin))
    assert missing.status_code == 422
    assert missing.json()["field"] == "building_id"
    wrong = await client.post(
        url,
        json={"role": "staff", "building_id": str(building), "department_id": str(uuid.uuid4())},
        headers=bearer(settings, admin),
    )
    assert wrong.status_code == 422
    granted = await client.post(
        url,
        json={"role": "ambassador", "building_id": str(building)},
        headers=bearer(settings, admin),
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["building_id"] == str(building)
    me = (await client.get("/v1/me", headers=bearer(settings, person))).json()
    assert me["roles"][0]["building_id"] == str(building)


def test_the_rule_counts_sessions_and_required_ones() -> None:
    from service.training.awards import qualifies
    from service.training.models import Programme, TrainingSession

    programme = Programme(code="rule", title="Rule", min_sessions=2)
    sessions = [
        TrainingSession(
            programme_id=programme.id,
            topic=f"S{n}",
            starts_at=SPRING_2019,
            ends_at=SPRING_2019 + timedelta(hours=1),
            checkin_code="222222",
            required=n == 0,
        )
        for n in range(3)
    ]
    first, second, third = (s.id for s in sessions)
    assert qualifies(programme, sessions, {first, second})
    assert not qualifies(programme, sessions, {second, third})  # the required one is missing
    assert not qualifies(programme, sessions, {first})
    assert not qualifies(programme, sessions, {first, uuid.uuid4()})  # another programme's


async def test_a_district_as_pilot_area(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from service.city.models import Building, District

    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    annelinn = await session.scalar(select(District.id).where(District.code == "annelinn"))
    programme = await create_programme(
        client, headers, [], pilot_building_ids=[], pilot_district_id=str(annelinn)
    )
    await add_session(client, headers, programme["id"], SPRING_2019)
    await client.post(f"/v1/training/programmes/{programme['id']}/publish", headers=headers)
    inside = await session.scalar(
        select(Building.id)
        .join(District, func.ST_Covers(District.geom, Building.point))
        .where(District.code == "annelinn")
        .limit(1)
    )
    assert inside is not None
    outside = await outside_building(session)
    person = await make_user(session, settings)
    url = f"/v1/training/programmes/{programme['id']}/enrolments"
    refused = await client.post(
        url, json={"building_id": str(outside)}, headers=bearer(settings, person)
    )
    assert refused.status_code == 422
    taken = await client.post(
        url, json={"building_id": str(inside)}, headers=bearer(settings, person)
    )
    assert taken.status_code == 201
    coverage = (await client.get(f"/v1/training/programmes/{programme['id']}/coverage")).json()
    in_annelinn = await session.scalar(
        select(func.count())
        .select_from(Building)
        .join(District, func.ST_Covers(District.geom, Building.point))
        .where(District.code == "annelinn")
    )
    assert in_annelinn is not None
    assert in_annelinn > 100
    assert coverage["pilot_buildings"] == in_annelinn
    assert coverage["covered"] == 0
    shown = (await client.get(f"/v1/training/programmes/{programme['id']}")).json()
    assert shown["pilot_area"]["district_name"] == "Annelinn"


async def test_raising_the_capacity_promotes_the_first_waiting_and_tells_them(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, _ = await open_programme(client, headers, [building], SPRING_2019, capacity=1)
    people = [await make_user(session, settings) for _ in range(4)]
    for person in people:
        await _enrol(client, settings, person, programme["id"], building)
    raised = await client.patch(
        f"/v1/training/programmes/{programme['id']}", json={"capacity": 3}, headers=headers
    )
    assert raised.status_code == 200, raised.text
    assert (raised.json()["enrolled"], raised.json()["waitlisted"]) == (3, 1)
    # In order of arrival: the second and third get the two new places, the fourth waits.
    mine = []
    for person in people:
        seen = await client.get("/v1/me/training", headers=bearer(settings, person))
        assert seen.status_code == 200, seen.text
        mine.append(seen.json()["programmes"][0])
    assert [m["status"] for m in mine] == ["enrolled", "enrolled", "enrolled", "waitlisted"]
    assert mine[3]["waitlist_position"] == 1
    await run_worker()  # the outreach job queues the emails,
    await run_worker()  # and their delivery jobs send them
    for promoted in people[1:3]:
        (message,) = mailbox.to(promoted.email)
        assert "came free" in message.get_content() or "vabanes" in message.get_content()
    assert not mailbox.to(people[3].email)

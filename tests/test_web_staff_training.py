"""The coordinators' console: a programme made through the form is the programme the API
makes (pilot area drawn as a polygon, sessions in the city's time, the rule); another
coordinator gets 404 for a draft and residents the 403 page; the session screen shows the
check-in code and the count of who checked in; the roster editor and awards and revocations
do what the API does; bad input comes back with the errors by the fields, in Estonian."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.city.models import Building
from service.config import Settings
from tests.factories import bearer, client_from, make_user
from tests.training_factories import (
    SPRING_2019,
    Clock,
    awarded_programme,
    checkin_code,
    coordinator,
    open_programme,
    pilot_buildings,
)
from tests.web_pages import csrf_of, post_form, sign_in


async def _box_around(session: AsyncSession, building_id: uuid.UUID) -> dict[str, Any]:
    """A small square polygon around a building's point (about 20 m each way)."""
    row = (
        await session.execute(
            select(func.ST_Y(Building.point), func.ST_X(Building.point)).where(
                Building.id == building_id
            )
        )
    ).one()
    lat, lon = float(row[0]), float(row[1])
    d = 0.0002
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


async def _inside(session: AsyncSession, polygon: dict[str, Any]) -> list[str]:
    area = func.ST_SetSRID(func.ST_GeomFromGeoJSON(json.dumps(polygon)), 4326)
    rows = await session.execute(select(Building.id).where(func.ST_Within(Building.point, area)))
    return sorted(str(found) for found in rows.scalars())


def _form(code: str, polygon: dict[str, Any] | None = None, **changes: str) -> dict[str, str]:
    fields = {
        "code": code,
        "title": "Targa maja koolitus",
        "description": "Kolm kohtumist raamatukogus.",
        "min_sessions": "2",
        "capacity": "30",
        "pilot_area": json.dumps(polygon) if polygon else "",
        "session-0-topic": "Kodukulud",
        "session-0-starts_at": "2027-04-08T17:30",
        "session-0-ends_at": "2027-04-08T19:00",
        "session-0-venue": "Annelinna raamatukogu",
        "session-1-topic": "Nutikas korter",
        "session-1-starts_at": "2027-04-15T17:30",
        "session-1-ends_at": "2027-04-15T19:00",
        "session-1-venue": "Annelinna raamatukogu",
    }
    fields.update(changes)
    return fields


async def test_a_programme_made_through_the_form_is_the_programme_the_api_makes(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    polygon = await _box_around(session, building)
    expected = await _inside(session, polygon)
    assert str(building) in expected
    await sign_in(client, user.email)
    code = f"web-{uuid.uuid4().hex[:8]}"
    made = await post_form(
        client, "/staff/training", "/staff/training/programmes", _form(code, polygon)
    )
    assert made.status_code == 303, made.text
    path = made.headers["location"].split("?")[0]
    programme_id = path.rsplit("/", 1)[1]

    api = await client.get(f"/v1/training/programmes/{programme_id}", headers=headers)
    assert api.status_code == 200, api.text
    view = api.json()
    assert view["code"] == code and view["state"] == "draft"
    assert view["min_sessions"] == 2 and view["capacity"] == 30
    assert sorted(view["pilot_area"]["building_ids"]) == expected
    assert view["pilot_area"]["district_id"] is None
    assert view["coordinator_ids"] == [str(user.id)]
    # 17:30 in Tartu on 8 April 2027 (summer time, UTC+3).
    starts = [datetime.fromisoformat(s["starts_at"]) for s in view["sessions"]]
    assert starts == [
        datetime(2027, 4, 8, 14, 30, tzinfo=UTC),
        datetime(2027, 4, 15, 14, 30, tzinfo=UTC),
    ]
    assert [s["topic"] for s in view["sessions"]] == ["Kodukulud", "Nutikas korter"]

    # The same body through the API gives the same programme.
    body = {
        "code": f"api-{uuid.uuid4().hex[:8]}",
        "title": "Targa maja koolitus",
        "description": "Kolm kohtumist raamatukogus.",
        "min_sessions": 2,
        "capacity": 30,
        "pilot_building_ids": expected,
    }
    twin = await client.post("/v1/training/programmes", json=body, headers=headers)
    assert twin.status_code == 201, twin.text
    for name in ("title", "description", "min_sessions", "capacity", "allow_outsiders"):
        assert twin.json()[name] == view[name]
    assert sorted(twin.json()["pilot_area"]["building_ids"]) == expected

    listing = await client.get("/staff/training")
    assert listing.status_code == 200
    assert f"/staff/training/programmes/{programme_id}" in listing.text
    page = await client.get(path)
    assert page.status_code == 200
    assert "Kodukulud" in page.text and "8. aprill 2027 kell 17:30" in page.text


async def test_a_district_is_a_pilot_area_too_and_one_area_only(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    polygon = await _box_around(session, building)
    districts = await client.get("/v1/districts")
    district = districts.json()["features"][0]["id"]
    await sign_in(client, user.email)
    both = await post_form(
        client,
        "/staff/training",
        "/staff/training/programmes",
        _form(f"both-{uuid.uuid4().hex[:6]}", polygon, pilot_district_id=district),
    )
    assert both.status_code == 422
    assert "Valige linnaosa või joonistage ala kaardile, mitte mõlemat." in both.text
    made = await post_form(
        client,
        "/staff/training",
        "/staff/training/programmes",
        _form(f"district-{uuid.uuid4().hex[:6]}", None, pilot_district_id=district),
    )
    assert made.status_code == 303, made.text
    programme_id = made.headers["location"].split("?")[0].rsplit("/", 1)[1]
    api = await client.get(f"/v1/training/programmes/{programme_id}", headers=headers)
    assert api.json()["pilot_area"]["district_id"] == district


async def test_bad_input_comes_back_with_the_errors_by_the_fields_in_estonian(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user, _ = await coordinator(session, settings)
    await sign_in(client, user.email)
    fields = _form(
        "Not A Code",
        None,
        title="",
        min_sessions="0",
        pilot_area="{not json",
        **{"session-0-ends_at": "2027-04-08T16:00"},
    )
    answer = await post_form(client, "/staff/training", "/staff/training/programmes", fields)
    assert answer.status_code == 422
    text = answer.text
    assert 'id="error-code"' in text and 'id="error-title"' in text
    assert 'id="error-min_sessions"' in text and "See arv on liiga väike." in text
    assert 'id="error-pilot_area"' in text
    assert "Joonistage ala kaardile või andke see GeoJSON-polügoonina." in text
    assert 'id="error-session-0-ends_at"' in text
    assert "Õppus peab lõppema pärast algust." in text
    # What was typed stays in the form.
    assert "Not A Code" in text and "Kodukulud" in text

    # A polygon with no building inside.
    empty = {"type": "Polygon", "coordinates": [[[0, 0], [0.001, 0], [0.001, 0.001], [0, 0]]]}
    answer = await post_form(
        client,
        "/staff/training",
        "/staff/training/programmes",
        _form(f"empty-{uuid.uuid4().hex[:6]}", empty),
    )
    assert answer.status_code == 422
    assert "Joonistatud alal ei ole ühtegi hoonet." in answer.text

    # A self-intersecting ring (a bow tie) and coordinates that are not numbers: the form
    # again with the area's error, never a failure of the database.
    bow_tie = {
        "type": "Polygon",
        "coordinates": [
            [[26.70, 58.37], [26.75, 58.39], [26.75, 58.37], [26.70, 58.39], [26.70, 58.37]]
        ],
    }
    garbled = {"type": "Polygon", "coordinates": [[["east", "north"]]]}
    for area in (bow_tie, garbled):
        answer = await post_form(
            client,
            "/staff/training",
            "/staff/training/programmes",
            _form(f"bad-{uuid.uuid4().hex[:6]}", area),
        )
        assert answer.status_code == 422, answer.text[:300]
        assert 'id="error-pilot_area"' in answer.text


async def test_another_coordinator_gets_404_and_residents_the_403_page(
    client: AsyncClient, app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    user, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    await sign_in(client, user.email)
    made = await post_form(
        client,
        "/staff/training",
        "/staff/training/programmes",
        _form(f"own-{uuid.uuid4().hex[:6]}", await _box_around(session, building)),
    )
    path = made.headers["location"].split("?")[0]
    programme_id = path.rsplit("/", 1)[1]
    api = await client.get(f"/v1/training/programmes/{programme_id}", headers=headers)
    session_id = api.json()["sessions"][0]["id"]

    other = await make_user(session, settings, roles=((Role.coordinator, None),))
    resident = await make_user(session, settings)
    async with client_from(app, "10.0.0.7") as second:
        for path_of in (path, f"/staff/training/sessions/{session_id}"):
            assert (await second.get(path_of)).status_code == 303  # signed out: sign in
        await sign_in(second, other.email)
        for path_of in (
            path,
            f"/staff/training/sessions/{session_id}",
            f"/staff/training/sessions/{session_id}/screen",
        ):
            answer = await second.get(path_of)
            assert answer.status_code == 404, path_of
        assert programme_id not in (await second.get("/staff/training")).text
        refused = await second.post(
            f"/staff/training/programmes/{programme_id}/publish",
            data={"csrf_token": csrf_of(await second.get("/staff/training"))},
        )
        assert refused.status_code == 404
    async with client_from(app, "10.0.0.8") as third:
        await sign_in(third, resident.email)
        for path_of in ("/staff/training", path):
            answer = await third.get(path_of)
            assert answer.status_code == 403
            assert "Teil ei ole õigust seda lehte avada." in answer.text


async def test_the_session_screen_shows_the_code_and_the_count_of_check_ins(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    user, headers = await coordinator(session, settings)
    buildings = await pilot_buildings(session, 2)
    programme, (training,) = await open_programme(client, headers, buildings, SPRING_2019)
    people = [await make_user(session, settings) for _ in range(2)]
    for person, building in zip(people, buildings, strict=True):
        enrolled = await client.post(
            f"/v1/training/programmes/{programme['id']}/enrolments",
            json={"building_id": str(building)},
            headers=bearer(settings, person),
        )
        assert enrolled.status_code == 201, enrolled.text
    code = await checkin_code(client, headers, training["id"])
    await sign_in(client, user.email)
    screen_path = f"/staff/training/sessions/{training['id']}/screen"
    screen = await client.get(screen_path)
    assert screen.status_code == 200
    assert (
        'class="screen-code"' in screen.text
        and f'<span aria-hidden="true">{code}</span>' in screen.text
    )
    assert '<span class="screen-number">0</span>' in screen.text
    assert f'href="{screen_path}"' in screen.text  # the refresh link works without scripts

    Clock(app, SPRING_2019 + timedelta(minutes=5))
    for person in people:
        checked = await client.post(
            f"/v1/training/sessions/{training['id']}/check-in",
            json={"code": code},
            headers=bearer(settings, person),
        )
        assert checked.status_code in (200, 201), checked.text
    count = await client.get(f"{screen_path}/count")
    assert count.status_code == 200
    assert '<span class="screen-number">2</span>' in count.text
    assert "<html" not in count.text  # a fragment for the screen's script
    again = await client.get(screen_path)
    assert '<span class="screen-number">2</span>' in again.text


async def test_the_roster_editor_adds_and_removes_attendance_as_the_api_does(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    user, headers = await coordinator(session, settings)
    buildings = await pilot_buildings(session, 2)
    programme, (training,) = await open_programme(client, headers, buildings, SPRING_2019)
    people = [await make_user(session, settings) for _ in range(2)]
    for person, building in zip(people, buildings, strict=True):
        enrolled = await client.post(
            f"/v1/training/programmes/{programme['id']}/enrolments",
            json={"building_id": str(building)},
            headers=bearer(settings, person),
        )
        assert enrolled.status_code == 201, enrolled.text
    await sign_in(client, user.email)
    page = f"/staff/training/sessions/{training['id']}"
    action = f"{page}/roster"
    early = await post_form(client, page, action, {"user_ids": str(people[0].id)})
    assert early.status_code == 409
    assert "Õppus pole veel alanud." in early.text

    Clock(app, SPRING_2019 + timedelta(hours=2))
    first = await post_form(client, page, action, {"user_ids": str(people[0].id)})
    assert first.status_code == 303
    api = await client.get(f"/v1/training/sessions/{training['id']}/attendance", headers=headers)
    assert [a["user_id"] for a in api.json()["attendees"]] == [str(people[0].id)]

    opened = await client.get(page)
    swapped = await client.post(
        action,
        data={"csrf_token": csrf_of(opened), "user_ids": [str(people[1].id)]},
    )
    assert swapped.status_code == 303
    api = await client.get(f"/v1/training/sessions/{training['id']}/attendance", headers=headers)
    assert [a["user_id"] for a in api.json()["attendees"]] == [str(people[1].id)]

    stranger = await make_user(session, settings)
    refused = await post_form(client, page, action, {"user_ids": str(stranger.id)})
    assert refused.status_code == 422
    assert 'id="error-user_ids"' in refused.text

    participants = await client.get(f"/staff/training/programmes/{programme['id']}")
    assert participants.status_code == 200
    assert people[1].display_name in participants.text


async def test_awards_and_revocations_through_the_console(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buildings = await pilot_buildings(session, 2)
    people = [await make_user(session, settings, name=f"Osaleja {n}") for n in range(2)]
    programme, headers, awards = await awarded_programme(
        app, client, session, settings, list(zip(people, buildings, strict=True))
    )
    runner_id = (
        await client.get(f"/v1/training/programmes/{programme['id']}", headers=headers)
    ).json()["coordinator_ids"][0]
    runner = await session.get(User, uuid.UUID(runner_id))
    assert runner is not None
    await sign_in(client, runner.email)
    page = f"/staff/training/programmes/{programme['id']}"
    opened = await client.get(page)
    assert opened.status_code == 200
    assert awards[0]["diploma_code"] in opened.text

    # Awarding again is idempotent, as the API's command is.
    again = await post_form(client, page, f"{page}/awards", {})
    assert again.status_code == 303

    ambassador = awards[0]["ambassador_id"]
    action = f"/staff/training/ambassadors/{ambassador}/revoke"
    short = await post_form(client, page, action, {"programme": programme["id"], "reason": "x"})
    assert short.status_code == 422
    assert "See on liiga lühike." in short.text
    revoked = await post_form(
        client, page, action, {"programme": programme["id"], "reason": "Kolis linnast ära."}
    )
    assert revoked.status_code == 303
    listed = await client.get(f"/v1/training/programmes/{programme['id']}/awards", headers=headers)
    states = {a["ambassador_id"]: a["revoked_at"] for a in listed.json()}
    assert states[ambassador] is not None and states[awards[1]["ambassador_id"]] is None
    twice = await post_form(
        client, page, action, {"programme": programme["id"], "reason": "Kolis linnast ära."}
    )
    assert twice.status_code == 409

    # The coverage: the revoked ambassador's building is without one again, map and list.
    page_now = await client.get(page)
    assert 'id="uncovered-list"' in page_now.text


async def test_sessions_are_added_and_the_programme_published_through_the_forms(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    user, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    await sign_in(client, user.email)
    fields = _form(f"steps-{uuid.uuid4().hex[:6]}", await _box_around(session, building))
    for name in ("topic", "starts_at", "ends_at", "venue"):
        fields[f"session-0-{name}"] = ""
        fields[f"session-1-{name}"] = ""
    made = await post_form(client, "/staff/training", "/staff/training/programmes", fields)
    assert made.status_code == 303, made.text
    page = made.headers["location"].split("?")[0]
    programme_id = page.rsplit("/", 1)[1]

    # Publishing a programme without sessions is refused as the API refuses it.
    early = await post_form(client, page, f"{page}/publish", {})
    assert early.status_code == 409
    assert "Programmis pole veel õppusi." in early.text

    bad = await post_form(
        client,
        page,
        f"{page}/sessions",
        {"session-topic": "", "session-starts_at": "2027-04-08T17:30", "session-ends_at": "x"},
    )
    assert bad.status_code == 422
    assert 'id="error-session-topic"' in bad.text and 'id="error-session-ends_at"' in bad.text
    for week in (8, 15):
        added = await post_form(
            client,
            page,
            f"{page}/sessions",
            {
                "session-topic": f"Kohtumine {week}",
                "session-starts_at": f"2027-04-{week:02d}T17:30",
                "session-ends_at": f"2027-04-{week:02d}T19:00",
                "session-venue": "Raekoda",
            },
        )
        assert added.status_code == 303, added.text
    published = await post_form(client, page, f"{page}/publish", {})
    assert published.status_code == 303
    api = await client.get(f"/v1/training/programmes/{programme_id}", headers=headers)
    assert api.json()["state"] == "open"
    assert [s["topic"] for s in api.json()["sessions"]] == ["Kohtumine 8", "Kohtumine 15"]
    shown = await client.get(page)
    assert "Alusta programmi" in shown.text  # the next step's button

"""The 2019 Smart House Training Program replayed through the HTTP API: five sessions every
other Monday from 8 April (the fifth at the summer event on 29 May), 40 participants with
their attendance patterns, and the award: exactly the 8 who attended at least 4 become
ambassadors with a diploma whose PDF opens and whose code verifies; awarding again creates
nothing; the histogram and the coverage are right."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, RoleGrant
from service.config import Settings
from service.training.models import Ambassador, Diploma
from tests.conftest import RunWorker
from tests.factories import bearer, make_user
from tests.training_factories import Clock, add_session, coordinator, pilot_buildings

# 17:30 in Tartu (UTC+3 in summer) on every other Monday, and 16:00 at the summer event.
DAYS = [
    datetime(2019, 4, 8, 14, 30, tzinfo=UTC),
    datetime(2019, 4, 22, 14, 30, tzinfo=UTC),
    datetime(2019, 5, 6, 14, 30, tzinfo=UTC),
    datetime(2019, 5, 20, 14, 30, tzinfo=UTC),
    datetime(2019, 5, 29, 13, 0, tzinfo=UTC),
]
TOPICS = [
    "Home expenses and living in a smart apartment",
    "Indoor climate, ventilation and interior",
    "Waste, recycling and sustainability",
    "Smart home system and apartment owners' rights",
    "Green mobility",
]
# Sessions attended by each of the 40: eight with at least four, the rest one to three.
ATTENDED = [5, 5, 5, 4, 4, 4, 4, 4] + [3] * 9 + [2] * 11 + [1] * 12
PILOT = 10


async def test_the_2019_programme_replayed(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    clock = Clock(app, datetime(2019, 3, 18, 9, 0, tzinfo=UTC))
    _, coordinator_headers = await coordinator(session, settings)
    pilot = await pilot_buildings(session, PILOT)
    created = await client.post(
        "/v1/training/programmes",
        json={
            "code": "smart-house-2019-replay",
            "title": "Targa maja koolitusprogramm 2019",
            "pilot_building_ids": [str(b) for b in pilot],
            "min_sessions": 4,
            "enrolment_opens_at": "2019-03-18T00:00:00+02:00",
            "enrolment_closes_at": "2019-05-06T17:00:00+03:00",
            "capacity": 45,
            "award_event_on": "2019-05-29",
            "award_event_place": "Pilot area summer event",
        },
        headers=coordinator_headers,
    )
    assert created.status_code == 201, created.text
    programme_id = created.json()["id"]
    sessions = [
        await add_session(client, coordinator_headers, programme_id, day, topic=topic, minutes=90)
        for day, topic in zip(DAYS, TOPICS, strict=True)
    ]
    assert [s["position"] for s in sessions] == [1, 2, 3, 4, 5]
    for action in ("publish", "start"):
        response = await client.post(
            f"/v1/training/programmes/{programme_id}/{action}", headers=coordinator_headers
        )
        assert response.status_code == 200, response.text
    assert response.json()["state"] == "running"

    # 40 residents of the pilot buildings enrol; the eight future ambassadors live in seven
    # buildings (two share one), the others anywhere in the pilot area.
    rng = random.Random(2019)
    people = []
    for index in range(40):
        person = await make_user(session, settings, name=f"Osaleja {index + 1}")
        building = pilot[min(index, 6)] if index < 8 else rng.choice(pilot)
        response = await client.post(
            f"/v1/training/programmes/{programme_id}/enrolments",
            json={"building_id": str(building)},
            headers=bearer(settings, person),
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "enrolled"
        people.append(person)

    # Who came to which session: each person's count of sessions, drawn at random.
    present: dict[str, list[uuid.UUID]] = {s["id"]: [] for s in sessions}
    for person, count in zip(people, ATTENDED, strict=True):
        for chosen in rng.sample(sessions, count):
            present[chosen["id"]].append(person.id)

    # The first session: everyone present checks in with the code shown at the venue.
    first = sessions[0]
    clock.set(DAYS[0] + timedelta(minutes=5))
    code = (
        await client.get(
            f"/v1/training/sessions/{first['id']}/attendance", headers=coordinator_headers
        )
    ).json()["checkin_code"]
    for person in people:
        if person.id in present[first["id"]]:
            response = await client.post(
                f"/v1/training/sessions/{first['id']}/check-in",
                json={"code": code.lower()},
                headers=bearer(settings, person),
            )
            assert response.status_code == 201, response.text
    # The others: the coordinator's roster, marked after each session.
    for day, chosen in zip(DAYS[1:], sessions[1:], strict=True):
        clock.set(day + timedelta(minutes=100))
        response = await client.put(
            f"/v1/training/sessions/{chosen['id']}/attendance",
            json={"user_ids": [str(u) for u in present[chosen["id"]]]},
            headers=coordinator_headers,
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["attendees"]) == len(present[chosen["id"]])

    stats = (await client.get(f"/v1/training/programmes/{programme_id}/stats")).json()
    assert stats["participants"] == 40
    assert [s["attended"] for s in stats["sessions"]] == [len(present[s["id"]]) for s in sessions]
    assert {b["sessions"]: b["participants"] for b in stats["histogram"]} == {
        0: 0,
        1: 12,
        2: 11,
        3: 9,
        4: 5,
        5: 3,
    }
    assert stats["qualified"] == 8
    assert stats["ambassadors"] == 0

    # The award event on 29 May.
    clock.set(datetime(2019, 5, 29, 15, 0, tzinfo=UTC))
    awarded = await client.post(
        f"/v1/training/programmes/{programme_id}/awards", headers=coordinator_headers
    )
    assert awarded.status_code == 200, awarded.text
    qualified = {str(p.id) for p, n in zip(people, ATTENDED, strict=True) if n >= 4}
    assert {a["user_id"] for a in awarded.json()["awarded"]} == qualified
    assert awarded.json()["already_awarded"] == 0

    # Awarding again, and finishing (which awards too), create nothing new.
    again = await client.post(
        f"/v1/training/programmes/{programme_id}/awards", headers=coordinator_headers
    )
    assert again.json() == {"awarded": [], "already_awarded": 8}
    finished = await client.post(
        f"/v1/training/programmes/{programme_id}/finish", headers=coordinator_headers
    )
    assert finished.json()["state"] == "finished"
    assert await session.scalar(select(func.count()).select_from(Ambassador)) == 8
    assert await session.scalar(select(func.count()).select_from(Diploma)) == 8
    grants = (
        await session.execute(
            select(RoleGrant.user_id, RoleGrant.building_id).where(
                RoleGrant.role == Role.ambassador
            )
        )
    ).all()
    assert {str(user_id) for user_id, _ in grants} == qualified
    assert len(grants) == 8
    assert len({building for _, building in grants}) == 7

    # The worker makes the diplomas; each opens, names its holder, and its code verifies.
    await run_worker()
    for person in people:
        if str(person.id) not in qualified:
            continue
        mine = (await client.get("/v1/me/training", headers=bearer(settings, person))).json()
        progress = mine["programmes"][0]
        assert progress["qualified"] is True
        assert progress["sessions_attended"] >= 4
        ambassador = progress["ambassador"]
        assert ambassador["diploma_ready"] is True
        pdf = await client.get(ambassador["diploma_url"], headers=bearer(settings, person))
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert person.display_name in text
        assert ambassador["diploma_code"] in text
        assert "Targa maja koolitusprogramm 2019" in text
        verified = (await client.get(f"/v1/diplomas/{ambassador['diploma_code']}")).json()
        assert verified == {
            "code": ambassador["diploma_code"],
            "genuine": True,
            "revoked": False,
            "holder_name": person.display_name,
            "programme_title": "Targa maja koolitusprogramm 2019",
            "awarded_on": "2019-05-29",
        }

    # Coverage: seven of the ten pilot buildings have an ambassador.
    coverage = (await client.get(f"/v1/training/programmes/{programme_id}/coverage")).json()
    assert coverage["pilot_buildings"] == PILOT
    assert coverage["covered"] == 7
    assert coverage["ratio"] == 0.7
    assert {b["id"] for b in coverage["uncovered"]} == {str(b) for b in pilot[7:]}
    geojson = await client.get(f"/v1/training/programmes/{programme_id}/coverage/map")
    assert geojson.headers["content-type"] == "application/geo+json"
    assert {f["id"] for f in geojson.json()["features"]} == {str(b) for b in pilot[7:]}
    final = (await client.get(f"/v1/training/programmes/{programme_id}/stats")).json()
    assert final["ambassadors"] == 8
    assert final["histogram"] == stats["histogram"]

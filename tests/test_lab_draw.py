"""Recruiting for a pilot from a 320-person panel: the strata's counts follow the documented
allocation, the same seed draws the same people, nobody withdrawn, erased, unverified,
disabled, on an old consent or held by an overlapping pilot is ever drawn, top-ups refill
the strata people declined, and invitations lapse at their deadline (the worker)."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.config import Settings
from service.lab import sampling
from service.lab.models import PanelMember, Participation
from service.notifications.models import NotificationDelivery, NotificationEvent
from service.privacy.erasure import erase_person
from service.privacy.registry import Erasure, Person
from tests.conftest import RunWorker
from tests.factories import PASSWORD, bearer, make_user
from tests.lab_factories import district_ids, drawn, lab_manager, make_panel, pilot_body


async def _pilot(client: AsyncClient, manager: dict[str, str], **changes: Any) -> str:
    created = await client.post("/v1/lab/pilots", json=pilot_body(**changes), headers=manager)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_stratified_draw_from_320_panellists_follows_the_allocation(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    await make_panel(session, 320, now)
    _, manager = await lab_manager(session, settings)
    pilot_id = await _pilot(client, manager, target_size=60)
    answer = await client.post(
        f"/v1/lab/pilots/{pilot_id}/draws", json={"seed": 2026}, headers=manager
    )
    assert answer.status_code == 201, answer.text
    draw = answer.json()
    assert draw["seed"] == 2026 and draw["invited"] == 60
    strata = {s["stratum"]: s for s in draw["strata"]}
    # 12 districts × 4 age bands: 48 strata of 6 or 7 people.
    assert len(strata) == 48
    assert sum(s["population"] for s in strata.values()) == 320
    for stratum in strata.values():
        share = 60 * stratum["population"] / 320
        assert math.floor(share) <= stratum["quota"] <= math.ceil(share)
        assert stratum["drawn"] == stratum["quota"]
    invited = await drawn(session, pilot_id)
    assert len(invited) == 60
    assert Counter(invited.values()) == {s: v["quota"] for s, v in strata.items() if v["quota"]}
    # Every invited person's stratum is their profile's.
    codes = {v: k for k, v in (await district_ids(session)).items()}
    members = {
        m.user_id: m
        for m in (
            await session.execute(
                select(PanelMember).where(col(PanelMember.user_id).in_(list(invited)))
            )
        ).scalars()
    }
    for person, stratum in invited.items():
        member = members[person]
        assert member.district_id is not None
        assert stratum == f"{codes[member.district_id]}|{member.age_band}"
    state = await client.get(f"/v1/lab/pilots/{pilot_id}", headers=manager)
    assert state.json()["state"] == "recruiting"
    # Each person is told, once.
    told = await session.scalar(
        select(NotificationDelivery.id)
        .join(NotificationEvent, col(NotificationEvent.id) == NotificationDelivery.event_id)
        .where(col(NotificationEvent.event_type) == "lab_invitation")
        .limit(1)
    )
    assert told is not None


async def test_the_same_seed_draws_the_same_people(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    await make_panel(session, 320, now)
    _, manager = await lab_manager(session, settings)
    samples = []
    for seed in (99, 99, 100):
        # Pilots that allow overlapping testers see the same pool.
        pilot_id = await _pilot(client, manager, target_size=50, allow_overlap=True)
        answer = await client.post(
            f"/v1/lab/pilots/{pilot_id}/draws", json={"seed": seed}, headers=manager
        )
        assert answer.status_code == 201, answer.text
        samples.append((answer.json()["pool_digest"], set(await drawn(session, pilot_id))))
    assert samples[0] == samples[1]
    assert samples[0][0] == samples[2][0] and samples[0][1] != samples[2][1]
    draws = await client.get(f"/v1/lab/pilots/{pilot_id}/draws", headers=manager)
    assert [d["seed"] for d in draws.json()] == [100]


def test_the_sample_function_is_reproducible_and_allocates_by_largest_remainder() -> None:
    people = {s: [uuid.uuid4() for _ in range(n)] for s, n in {"a": 10, "b": 7, "c": 3}.items()}
    assert sampling.allocate(10, {"a": 10, "b": 7, "c": 3}) == {"a": 5, "b": 4, "c": 1}
    assert sampling.allocate(30, {"a": 10, "b": 7, "c": 3}) == {"a": 10, "b": 7, "c": 3}
    assert sampling.allocate(5, {"a": 10, "b": 7}, {"a": 2, "b": 9}) == {"a": 2, "b": 7}
    quotas = {"a": 5, "b": 4, "c": 1}
    assert sampling.draw(people, quotas, 5) == sampling.draw(people, quotas, 5)
    assert sampling.draw(people, quotas, 5) != sampling.draw(people, quotas, 6)
    shuffled = {s: list(reversed(ids)) for s, ids in people.items()}
    assert sampling.draw(shuffled, quotas, 5) == sampling.draw(people, quotas, 5)


async def test_nobody_withdrawn_erased_unverified_or_held_is_drawn(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    panel = await make_panel(session, 320, now)
    # Real accounts who leave the way residents do.
    withdrawn = await make_user(session, settings)
    erased = await make_user(session, settings)
    for person in (withdrawn, erased):
        joined = await client.put(
            "/v1/me/lab/panel", json={"consent_version": 1}, headers=bearer(settings, person)
        )
        assert joined.status_code == 200, joined.text
    left = await client.delete("/v1/me/lab/panel", headers=bearer(settings, withdrawn))
    assert left.status_code == 204
    gone = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(settings, erased)
    )
    assert gone.status_code in (200, 204), gone.text
    # Bulk-made ones: erased, unverified, disabled, on an older consent text.
    erased_too, unverified, disabled, old_consent = panel[:4]
    bulk_person = await session.get(User, erased_too)
    assert bulk_person is not None
    await erase_person(
        session,
        Person(bulk_person.id, bulk_person.email, bulk_person.display_name),
        Erasure(now=now, settings=settings),
    )
    await session.execute(
        update(User).where(col(User.id) == unverified).values(email_verified_at=None)
    )
    await session.execute(update(User).where(col(User.id) == disabled).values(disabled_at=now))
    await session.execute(
        update(PanelMember).where(col(PanelMember.user_id) == old_consent).values(consent_version=0)
    )
    _, manager = await lab_manager(session, settings)
    # A pilot of the same period holds its testers.
    holding = await _pilot(client, manager, target_size=20)
    answer = await client.post(f"/v1/lab/pilots/{holding}/draws", json={}, headers=manager)
    assert answer.status_code == 201, answer.text
    held = set(await drawn(session, holding))
    assert len(held) == 20
    # Asking for more than the panel holds draws everyone eligible.
    pilot_id = await _pilot(client, manager, target_size=1000)
    answer = await client.post(f"/v1/lab/pilots/{pilot_id}/draws", json={}, headers=manager)
    assert answer.status_code == 201, answer.text
    everyone = set(await drawn(session, pilot_id))
    never = {withdrawn.id, erased.id, erased_too, unverified, disabled, old_consent}
    assert everyone & never == set()
    assert everyone & held == set()
    assert len(everyone) == 320 - 4 - 20
    # A later pilot that does not overlap may draw the held ones.
    later = await _pilot(
        client,
        manager,
        target_size=1000,
        starts_on=(now + timedelta(days=60)).date().isoformat(),
        ends_on=(now + timedelta(days=90)).date().isoformat(),
    )
    answer = await client.post(f"/v1/lab/pilots/{later}/draws", json={}, headers=manager)
    assert held <= set(await drawn(session, later))
    # Nobody is left for the first pilot: a top-up says so.
    again = await client.post(f"/v1/lab/pilots/{pilot_id}/draws", json={}, headers=manager)
    assert again.status_code == 409
    assert again.json()["reason"] == "nothing_to_draw"


async def test_declines_are_topped_up_from_the_same_strata(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    await make_panel(session, 320, now)
    _, manager = await lab_manager(session, settings)
    pilot_id = await _pilot(client, manager, target_size=48)
    first = await client.post(f"/v1/lab/pilots/{pilot_id}/draws", json={}, headers=manager)
    assert first.status_code == 201
    invited = await drawn(session, pilot_id)
    declining = sorted(invited)[:5]
    await session.execute(
        update(Participation)
        .where(col(Participation.user_id).in_(declining))
        .values(status="declined")
    )
    top_up = await client.post(
        f"/v1/lab/pilots/{pilot_id}/draws", json={"seed": 5}, headers=manager
    )
    assert top_up.status_code == 201, top_up.text
    assert top_up.json()["number"] == 2 and top_up.json()["invited"] == 5
    now_invited = await drawn(session, pilot_id)
    fresh = set(now_invited) - set(invited)
    assert Counter(now_invited[p] for p in fresh) == Counter(invited[p] for p in declining)
    recruitment = await client.get(f"/v1/lab/pilots/{pilot_id}/recruitment", headers=manager)
    totals = recruitment.json()["totals"]
    assert totals["invited"] == 48 and totals["declined"] == 5 and totals["quota"] == 48


async def test_an_invitation_is_answered_by_its_deadline_and_lapses_after_it(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    redis: Any,
    run_worker: RunWorker,
) -> None:
    people = [await make_user(session, settings) for _ in range(3)]
    for person in people:
        joined = await client.put(
            "/v1/me/lab/panel",
            json={"consent_version": 1, "age_band": "30-44"},
            headers=bearer(settings, person),
        )
        assert joined.status_code == 200, joined.text
    _, manager = await lab_manager(session, settings)
    pilot_id = await _pilot(client, manager, target_size=3, invitation_days=2)
    await client.post(f"/v1/lab/pilots/{pilot_id}/draws", json={}, headers=manager)
    mine = await client.get("/v1/me/lab/participations", headers=bearer(settings, people[0]))
    (invitation,) = mine.json()["items"]
    assert invitation["status"] == "invited"
    assert invitation["pilot"]["organisation"] == "Targad Arvestid OÜ"
    # Another person's invitation is not theirs to answer.
    stolen = await client.post(
        f"/v1/me/lab/participations/{invitation['id']}/accept", headers=bearer(settings, people[1])
    )
    assert stolen.status_code == 404
    accepted = await client.post(
        f"/v1/me/lab/participations/{invitation['id']}/accept", headers=bearer(settings, people[0])
    )
    assert accepted.json()["status"] == "accepted"
    again = await client.post(
        f"/v1/me/lab/participations/{invitation['id']}/decline", headers=bearer(settings, people[0])
    )
    assert again.status_code == 409
    await redis.enqueue_job("lab_sweep")  # as the worker's cron does
    await run_worker(lambda: now + timedelta(days=3))
    rows = await session.execute(
        select(col(Participation.user_id), col(Participation.status)).where(
            col(Participation.pilot_id) == uuid.UUID(pilot_id)
        )
    )
    statuses = dict(rows.all())
    assert statuses == {
        people[0].id: "accepted",
        people[1].id: "expired",
        people[2].id: "expired",
    }

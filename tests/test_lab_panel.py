"""The test panel from a resident's side: joining with the current consent and a profile
(the district from the building), changing and withdrawing (the profile goes, open
participations end), the export and the erasure; and a tester's tasks: what is asked and
until when, in their language, answering once, and what is refused."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.city.models import Building
from service.config import Settings
from service.lab.models import Answer, PanelMember, Participation
from service.languages import Language
from service.notifications.models import NotificationDelivery, NotificationEvent
from tests.conftest import RunWorker
from tests.factories import PASSWORD, bearer, make_user
from tests.lab_factories import district_ids, running_pilot


async def _annelinn_building(session: AsyncSession) -> uuid.UUID:
    found = await session.scalar(
        select(col(Building.id)).where(col(Building.is_pilot_area).is_(True)).limit(1)
    )
    assert found is not None
    return found


async def test_joining_changing_and_withdrawing(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await make_user(session, settings)
    headers = bearer(settings, person)
    consent = await client.get("/v1/lab/consent")
    assert consent.status_code == 200
    assert set(consent.json()["text"]) == {"et", "en", "ru"}
    version = consent.json()["version"]
    assert (await client.get("/v1/me/lab/panel", headers=headers)).status_code == 404
    outdated = await client.put(
        "/v1/me/lab/panel", json={"consent_version": version + 1}, headers=headers
    )
    assert outdated.status_code == 422 and outdated.json()["reason"] == "consent_outdated"
    building = await _annelinn_building(session)
    joined = await client.put(
        "/v1/me/lab/panel",
        json={
            "consent_version": version,
            "age_band": "30-44",
            "household_size": 3,
            "languages": ["et", "ru"],
            "devices": ["smartphone"],
            "accessibility_needs": ["vision"],
            "building_id": str(building),
        },
        headers=headers,
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["district_id"] == str((await district_ids(session))["annelinn"])
    assert joined.json()["consent_current"] is True
    bad = await client.put(
        "/v1/me/lab/panel",
        json={"consent_version": version, "age_band": "12-17", "household_size": 0},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    unknown = await client.put(
        "/v1/me/lab/panel",
        json={"consent_version": version, "building_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert unknown.status_code == 422
    changed = await client.put(
        "/v1/me/lab/panel", json={"consent_version": version, "age_band": "45-64"}, headers=headers
    )
    assert changed.json()["age_band"] == "45-64" and changed.json()["building_id"] is None
    assert (await client.get("/v1/me/lab/panel", headers=headers)).json()["age_band"] == "45-64"
    left = await client.delete("/v1/me/lab/panel", headers=headers)
    assert left.status_code == 204
    assert await session.get(PanelMember, person.id) is None
    assert (await client.delete("/v1/me/lab/panel", headers=headers)).status_code == 404
    unverified = await make_user(session, settings, verified=False)
    refused = await client.put(
        "/v1/me/lab/panel", json={"consent_version": version}, headers=bearer(settings, unverified)
    )
    assert refused.status_code == 403 and refused.json()["reason"] == "email_not_verified"


async def test_a_tester_sees_the_task_answers_once_and_withdrawal_ends_it(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    tester, outsider = await make_user(session, settings), await make_user(session, settings)
    tester.language = Language.ru
    running = await running_pilot(app, client, session, settings, [tester], now)
    participation, headers = running.testers[tester.id]
    detail = await client.get(f"/v1/me/lab/participations/{participation}", headers=headers)
    assert detail.status_code == 200, detail.text
    (task,) = detail.json()["tasks"]
    assert task["title"] == "First impressions (ru)" and task["open"] and not task["answered"]
    assert datetime.fromisoformat(task["due_at"]) > now + timedelta(days=6)
    assert [q["kind"] for q in task["questions"]] == ["likert", "single", "number", "text"]
    assert task["questions"][1]["options"][0] == {"code": "yes", "text": "Yes (ru)"}
    url = f"/v1/me/lab/tasks/{running.task_id}/responses"
    likert, single, number, text = running.questions
    for wrong in (
        [{"question_id": likert, "value": 6}, {"question_id": single, "value": "yes"}],
        [{"question_id": likert, "value": 3}, {"question_id": single, "value": "maybe"}],
        [{"question_id": likert, "value": 3}],
        [{"question_id": str(uuid.uuid4()), "value": 3}],
    ):
        refused = await client.post(
            url, json={"answers": [*wrong, {"question_id": number, "value": 5}]}, headers=headers
        )
        assert refused.status_code == 422, refused.text
    answers = [
        {"question_id": likert, "value": 4},
        {"question_id": single, "value": "yes"},
        {"question_id": number, "value": 45},
        {"question_id": text, "value": "Нравится"},
    ]
    stranger = await client.post(url, json={"answers": answers}, headers=bearer(settings, outsider))
    assert stranger.status_code == 404
    first = await client.post(url, json={"answers": answers}, headers=headers)
    assert first.status_code == 201, first.text
    second = await client.post(url, json={"answers": answers}, headers=headers)
    assert second.status_code == 409 and second.json()["reason"] == "already_answered"
    detail = await client.get(f"/v1/me/lab/participations/{participation}", headers=headers)
    assert detail.json()["tasks"][0]["answered"] is True
    # The export holds the membership, the participation and the answers.
    exported = await client.get("/v1/me/export", headers=headers)
    lab = json.loads(exported.text)["living_lab"]
    assert lab["panel"]["consent_version"] == 1
    assert lab["participations"][0]["status"] == "accepted"
    assert {a["value"] for a in lab["answers"] if isinstance(a["value"], str)} == {
        "yes",
        "Нравится",
    }
    left = await client.delete("/v1/me/lab/panel", headers=headers)
    assert left.status_code == 204
    status = await session.scalar(
        select(col(Participation.status)).where(col(Participation.id) == uuid.UUID(participation))
    )
    assert status == "withdrawn"
    closed = await client.post(url, json={"answers": answers}, headers=headers)
    assert closed.status_code == 404


async def test_erasure_keeps_the_answers_held_by_nobody_and_drops_free_text(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    tester = await make_user(session, settings)
    running = await running_pilot(app, client, session, settings, [tester], now)
    participation, headers = running.testers[tester.id]
    likert, single, number, text = running.questions
    await client.post(
        f"/v1/me/lab/tasks/{running.task_id}/responses",
        json={
            "answers": [
                {"question_id": likert, "value": 2},
                {"question_id": single, "value": "no"},
                {"question_id": number, "value": 1},
                {"question_id": text, "value": "I am Mari from flat 12"},
            ],
            "share_text": True,
        },
        headers=headers,
    )
    gone = await client.request("DELETE", "/v1/me", json={"password": PASSWORD}, headers=headers)
    assert gone.status_code in (200, 204), gone.text
    row = await session.get(Participation, uuid.UUID(participation))
    assert row is not None and row.user_id is None and row.status == "withdrawn"
    values = list(
        (
            await session.execute(
                select(col(Answer.value)).where(col(Answer.question_id) == uuid.UUID(text))
            )
        ).scalars()
    )
    assert values == []
    kept = await session.scalar(
        select(col(Answer.value)).where(col(Answer.question_id) == uuid.UUID(likert))
    )
    assert kept == 2
    assert await session.get(PanelMember, tester.id) is None
    assert (await session.get(User, tester.id)) is not None


async def test_the_worker_announces_a_task_and_reminds_only_who_owes_it(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    redis: Any,
    run_worker: RunWorker,
) -> None:
    eager, late = await make_user(session, settings), await make_user(session, settings)
    running = await running_pilot(app, client, session, settings, [eager, late], now)
    _, headers = running.testers[eager.id]
    likert, single, number, _ = running.questions
    answered = await client.post(
        f"/v1/me/lab/tasks/{running.task_id}/responses",
        json={
            "answers": [
                {"question_id": likert, "value": 5},
                {"question_id": single, "value": "yes"},
                {"question_id": number, "value": 10},
            ]
        },
        headers=headers,
    )
    assert answered.status_code == 201
    for _ in range(2):  # a second sweep sends nothing again
        await redis.enqueue_job("lab_sweep")
        await run_worker(lambda: now + timedelta(days=6, hours=12))
    rows = await session.execute(
        select(col(NotificationEvent.event_type), col(NotificationDelivery.user_id))
        .join(NotificationDelivery, col(NotificationDelivery.event_id) == col(NotificationEvent.id))
        .where(col(NotificationEvent.event_type).like("lab_task%"))
        .where(col(NotificationDelivery.channel) == "inbox")
    )
    told = sorted((event, user) for event, user in rows.all())
    assert told == sorted(
        [
            ("lab_task_opened", eager.id),
            ("lab_task_opened", late.id),
            ("lab_task_reminder", late.id),
        ]
    )

"""Each stage of an idea on its own (the README's idea bank, service/ideas/states.py): the
checks return or publish it, experts are given it, a lapsed review passes to another expert,
enough reviews close the stage, the project office approves, returns or rejects, the
committee decides; and each step tells the author or the expert."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.config import Settings
from service.ideas.models import IdeaReview
from tests.conftest import RunWorker
from tests.factories import bearer, make_user
from tests.idea_factories import Area, admin, idea_body, make_area, office, propose
from tests.training_factories import Clock

# Monday 1 March 2027, 09:00 in Tartu: five working days end on Monday 8 March.
START = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
AFTER_THE_DEADLINE = datetime(2027, 3, 8, 8, 0, tzinfo=UTC)
TITLE = "Covered bicycle parking at the railway station"


@dataclass
class Scene:
    clock: Clock
    area: Area
    author: User
    author_headers: dict[str, str]
    office_headers: dict[str, str]
    work: Callable[[], Awaitable[None]]


@pytest.fixture
async def scene(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
    redis: Any,
) -> Scene:
    clock = Clock(app, START)
    admin_headers = await admin(session, settings)
    _, office_headers = await office(session, settings)
    area = await make_area(
        client, session, settings, admin_headers, "stages", experts=2, min_reviews=1
    )
    author = await make_user(session, settings, name="Author Stagewise")

    async def work() -> None:
        await redis.enqueue_job("idea_review_sweep")
        await run_worker(clock=lambda: clock.now)

    return Scene(clock, area, author, bearer(settings, author), office_headers, work)


async def _events(client: AsyncClient, settings: Settings, user: User) -> list[str]:
    inbox = await client.get("/v1/me/notifications?limit=100", headers=bearer(settings, user))
    assert inbox.status_code == 200, inbox.text
    return [item["event_type"] for item in inbox.json()["items"]]


async def _mine(client: AsyncClient, scene: Scene, idea_id: str) -> dict[str, Any]:
    mine = await client.get(f"/v1/me/ideas/{idea_id}", headers=scene.author_headers)
    assert mine.status_code == 200, mine.text
    return dict(mine.json())


async def _reviews(session: AsyncSession, idea_id: str) -> list[IdeaReview]:
    query = (
        select(IdeaReview)
        .where(IdeaReview.idea_id == uuid.UUID(idea_id))
        .order_by(IdeaReview.attempt, IdeaReview.assigned_at)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(query)).scalars())


async def _with_experts(client: AsyncClient, scene: Scene) -> str:
    idea = await propose(client, scene.author_headers, idea_body(scene.area.id, TITLE))
    await scene.work()
    return str(idea["id"])


async def _score(client: AsyncClient, settings: Settings, scene: Scene, review: IdeaReview) -> None:
    expert = next(e for e in scene.area.experts if e.id == review.expert_id)
    headers = bearer(settings, expert)
    one = await client.get(f"/v1/me/idea-reviews/{review.id}", headers=headers)
    assert one.status_code == 200, one.text
    scored = await client.post(
        f"/v1/me/idea-reviews/{review.id}/scores",
        json={"scores": dict.fromkeys(one.json()["criteria"], 4), "comment": "Sound."},
        headers=headers,
    )
    assert scored.status_code == 200, scored.text


async def _in_design(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> str:
    idea_id = await _with_experts(client, scene)
    (review,) = await _reviews(session, idea_id)
    await _score(client, settings, scene, review)
    return idea_id


async def _design(client: AsyncClient, scene: Scene, idea_id: str, decision: str) -> None:
    response = await client.post(
        f"/v1/idea-office/ideas/{idea_id}/design",
        json={"decision": decision, "comment": f"The office says {decision}."},
        headers=scene.office_headers,
    )
    assert response.status_code == 200, response.text


async def test_failing_the_checks_returns_the_idea_unpublished_with_its_reasons(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea = await propose(client, scene.author_headers, idea_body(scene.area.id, "Trees"))
    await scene.work()
    mine = await _mine(client, scene, idea["id"])
    assert mine["state"] == "returned"
    assert "length" in {failure["rule"] for failure in mine["check_failures"]}
    assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 404
    assert await _reviews(session, idea["id"]) == []
    assert "idea_checks_failed" in await _events(client, settings, scene.author)


async def test_passing_the_checks_publishes_the_idea_and_gives_it_to_experts(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _with_experts(client, scene)
    public = await client.get(f"/v1/ideas/{idea_id}")
    assert public.status_code == 200, public.text
    assert public.json()["state"] == "experts"
    # min_reviews is 1: one of the two experts, told so.
    (review,) = await _reviews(session, idea_id)
    assert review.expert_id in {e.id for e in scene.area.experts}
    expert = next(e for e in scene.area.experts if e.id == review.expert_id)
    assert "idea_review_assigned" in await _events(client, settings, expert)
    assert "idea_checks_passed" in await _events(client, settings, scene.author)


async def test_a_lapsed_review_passes_to_another_expert(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _with_experts(client, scene)
    (first,) = await _reviews(session, idea_id)
    scene.clock.set(AFTER_THE_DEADLINE)
    await scene.work()
    lapsed, second = await _reviews(session, idea_id)
    assert lapsed.id == first.id
    assert lapsed.lapsed_at is not None
    assert second.lapsed_at is None and second.submitted_at is None
    assert second.expert_id != first.expert_id
    experts = {e.id: e for e in scene.area.experts}
    assert "idea_review_lapsed" in await _events(client, settings, experts[first.expert_id])
    assert "idea_review_assigned" in await _events(client, settings, experts[second.expert_id])
    assert (await _mine(client, scene, idea_id))["state"] == "experts"
    # The lapsed expert can no longer score it.
    late = await client.post(
        f"/v1/me/idea-reviews/{first.id}/scores",
        json={"scores": {"relevance": 5}, "comment": ""},
        headers=bearer(settings, experts[first.expert_id]),
    )
    assert late.status_code in (409, 422), late.text


async def test_enough_reviews_close_the_expert_stage(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _with_experts(client, scene)
    assert (await _mine(client, scene, idea_id))["state"] == "experts"
    (review,) = await _reviews(session, idea_id)
    await _score(client, settings, scene, review)
    mine = await _mine(client, scene, idea_id)
    assert mine["state"] == "design"
    assert mine["reviews_received"] == mine["reviews_needed"] == 1
    seen = await client.get(f"/v1/idea-office/ideas/{idea_id}", headers=scene.office_headers)
    assert seen.status_code == 200, seen.text
    assert seen.json()["score_mean"] == 4
    assert "idea_reviews_closed" in await _events(client, settings, scene.author)


async def test_the_office_approves_an_idea_for_the_committee(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _in_design(client, session, settings, scene)
    await _design(client, scene, idea_id, "approve")
    assert (await _mine(client, scene, idea_id))["state"] == "committee"
    committee = await client.get(
        f"/v1/idea-areas/{scene.area.id}/committee",
        headers=bearer(settings, scene.area.supervisor),
    )
    assert committee.status_code == 200, committee.text
    assert [item["id"] for item in committee.json()["items"]] == [idea_id]
    assert "idea_design_approved" in await _events(client, settings, scene.author)


async def test_a_returned_idea_goes_through_the_checks_and_the_experts_again(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _in_design(client, session, settings, scene)
    await _design(client, scene, idea_id, "return")
    mine = await _mine(client, scene, idea_id)
    assert mine["state"] == "returned"
    assert mine["design_comment"] == "The office says return."
    assert "idea_design_returned" in await _events(client, settings, scene.author)
    again = await client.post(f"/v1/ideas/{idea_id}/submit", headers=scene.author_headers)
    assert again.status_code == 200, again.text
    assert again.json()["state"] == "submitted"
    await scene.work()
    assert (await _mine(client, scene, idea_id))["state"] == "experts"
    # A fresh expert round: a new review beside the one already submitted.
    reviews = await _reviews(session, idea_id)
    assert [(r.attempt, r.submitted_at is None) for r in reviews] == [(1, False), (2, True)]


async def test_the_office_rejects_an_idea_with_its_reason(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _in_design(client, session, settings, scene)
    await _design(client, scene, idea_id, "reject")
    mine = await _mine(client, scene, idea_id)
    assert mine["state"] == "rejected"
    assert "idea_design_rejected" in await _events(client, settings, scene.author)
    # Rejected ideas go nowhere further.
    approve = await client.post(
        f"/v1/idea-office/ideas/{idea_id}/design",
        json={"decision": "approve", "comment": ""},
        headers=scene.office_headers,
    )
    assert approve.status_code == 409, approve.text


async def test_the_committee_decides_in_public(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _in_design(client, session, settings, scene)
    await _design(client, scene, idea_id, "approve")
    decided = await client.post(
        f"/v1/idea-areas/{scene.area.id}/decisions",
        json={
            "round": 2027,
            "decisions": [
                {
                    "idea_id": idea_id,
                    "rank": 1,
                    "decision": "pilot",
                    "reasoning": "Try it for a year at one station first.",
                }
            ],
        },
        headers=bearer(settings, scene.area.supervisor),
    )
    assert decided.status_code == 200, decided.text
    public = await client.get(f"/v1/ideas/{idea_id}")
    assert public.status_code == 200, public.text
    assert public.json()["state"] == "decided"
    assert public.json()["decision"] == "pilot"
    assert public.json()["decision_reason"] == "Try it for a year at one station first."
    assert public.json()["rank"] == 1
    assert "idea_decided" in await _events(client, settings, scene.author)


async def test_an_expert_is_reminded_a_working_day_before_the_deadline_once(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _with_experts(client, scene)
    (review,) = await _reviews(session, idea_id)
    expert = next(e for e in scene.area.experts if e.id == review.expert_id)
    scene.clock.set(datetime(2027, 3, 3, 7, 30, tzinfo=UTC))  # Wednesday: too early
    await scene.work()
    assert "idea_review_reminder" not in await _events(client, settings, expert)
    scene.clock.set(datetime(2027, 3, 5, 7, 30, tzinfo=UTC))  # Friday, a working day before
    await scene.work()
    await scene.work()
    (reminded,) = await _reviews(session, idea_id)
    assert reminded.reminded_at is not None and reminded.lapsed_at is None
    assert (await _events(client, settings, expert)).count("idea_review_reminder") == 1

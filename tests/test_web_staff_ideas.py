"""The idea bank's staff pages: an expert scores an assigned idea through the criteria form
and never sees its author; another expert gets 404 for that review; the project office
records a design decision; the area's committee ranks and decides; residents get the 403
page; bad input comes back with the errors by the fields, in Estonian."""

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

from service.auth.models import Role, User
from service.config import Settings
from service.ideas.models import IdeaReview
from tests.conftest import RunWorker
from tests.factories import bearer, client_from, make_department, make_user
from tests.idea_factories import Area, admin, idea_body, make_area, office, propose
from tests.training_factories import Clock
from tests.web_pages import csrf_of, post_form, sign_in

START = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
TITLE = "Covered bicycle parking at the railway station"


@dataclass
class Scene:
    area: Area
    author: User
    author_headers: dict[str, str]
    office: User
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
    office_user, office_headers = await office(session, settings)
    area = await make_area(
        client, session, settings, admin_headers, "webstaff", experts=2, min_reviews=1
    )
    author = await make_user(
        session, settings, name="Author Stagewise", email="stagewise.author@example.org"
    )

    async def work() -> None:
        await redis.enqueue_job("idea_review_sweep")
        await run_worker(clock=lambda: clock.now)

    return Scene(area, author, bearer(settings, author), office_user, office_headers, work)


async def _with_experts(client: AsyncClient, session: AsyncSession, scene: Scene) -> str:
    idea = await propose(client, scene.author_headers, idea_body(scene.area.id, TITLE))
    await scene.work()
    return str(idea["id"])


async def _review(session: AsyncSession, idea_id: str) -> IdeaReview:
    query = (
        select(IdeaReview)
        .where(IdeaReview.idea_id == uuid.UUID(idea_id))
        .execution_options(populate_existing=True)
    )
    (review,) = list((await session.execute(query)).scalars())
    return review


def _expert(scene: Scene, review: IdeaReview) -> User:
    return next(e for e in scene.area.experts if e.id == review.expert_id)


async def _scored(
    client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> str:
    idea_id = await _with_experts(client, session, scene)
    review = await _review(session, idea_id)
    headers = bearer(settings, _expert(scene, review))
    one = await client.get(f"/v1/me/idea-reviews/{review.id}", headers=headers)
    scored = await client.post(
        f"/v1/me/idea-reviews/{review.id}/scores",
        json={"scores": dict.fromkeys(one.json()["criteria"], 4), "comment": "Sound."},
        headers=headers,
    )
    assert scored.status_code == 200, scored.text
    return idea_id


async def test_an_expert_scores_an_assigned_idea_and_never_sees_its_author(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _with_experts(client, session, scene)
    review = await _review(session, idea_id)
    expert = _expert(scene, review)
    other = next(e for e in scene.area.experts if e.id != expert.id)
    page = f"/my/reviews/{review.id}"

    signed_out = await client.get(page)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in?next=")

    await sign_in(client, expert.email)
    listing = await client.get("/my/reviews")
    assert listing.status_code == 200
    assert TITLE in listing.text and page in listing.text
    opened = await client.get(page)
    assert opened.status_code == 200
    assert TITLE in opened.text
    for secret in (scene.author.display_name, scene.author.email, "Stagewise"):
        assert secret not in listing.text and secret not in opened.text
    criteria = (
        await client.get(f"/v1/me/idea-reviews/{review.id}", headers=bearer(settings, expert))
    ).json()["criteria"]
    assert criteria

    # A criterion left without a score: the form again, the error by it, in Estonian.
    partial = {f"score-{n}": "4" for n in range(1, len(criteria))}
    bad = await client.post(page, data={"csrf_token": csrf_of(opened), **partial})
    assert bad.status_code == 422
    assert 'id="error-score-0"' in bad.text
    assert "Hinnake iga kriteeriumi skaalal 1–5." in bad.text
    assert scene.author.display_name not in bad.text

    scores = {f"score-{n}": str(3 + n % 3) for n in range(len(criteria))}
    sent = await client.post(
        page, data={"csrf_token": csrf_of(opened), "comment": "Hea mõte.", **scores}
    )
    assert sent.status_code == 303, sent.text
    api = await client.get(f"/v1/me/idea-reviews/{review.id}", headers=bearer(settings, expert))
    assert api.json()["status"] == "submitted"
    assert api.json()["scores"] == {c: 3 + n % 3 for n, c in enumerate(criteria)}
    assert api.json()["comment"] == "Hea mõte."
    done = await client.get(sent.headers["location"])
    assert scene.author.display_name not in done.text and scene.author.email not in done.text

    async with client_from(app, "10.0.0.9") as second:
        await sign_in(second, other.email)
        assert (await second.get(page)).status_code == 404
        refused = await second.post(
            page, data={"csrf_token": csrf_of(await second.get("/my/reviews")), **scores}
        )
        assert refused.status_code == 404
        assert TITLE not in (await second.get("/my/reviews")).text


async def test_the_idea_office_records_a_design_decision(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _scored(client, session, settings, scene)
    await sign_in(client, scene.office.email)
    listing = await client.get("/staff/ideas?state=design")
    assert listing.status_code == 200
    assert TITLE in listing.text and f"/staff/ideas/{idea_id}" in listing.text
    page = f"/staff/ideas/{idea_id}"
    opened = await client.get(page)
    assert opened.status_code == 200
    assert scene.author.display_name in opened.text  # the office's view names the author

    no_reason = await post_form(client, page, f"{page}/design", {"decision": "reject"})
    assert no_reason.status_code == 422
    assert 'id="error-comment"' in no_reason.text
    assert "Kirjutage, miks idee tagasi saadetakse või tagasi lükatakse." in no_reason.text
    no_choice = await post_form(client, page, f"{page}/design", {"comment": "x"})
    assert no_choice.status_code == 422 and 'id="error-decision"' in no_choice.text

    approved = await post_form(
        client, page, f"{page}/design", {"decision": "approve", "comment": "Hea."}
    )
    assert approved.status_code == 303
    api = await client.get(f"/v1/idea-office/ideas/{idea_id}", headers=scene.office_headers)
    assert api.json()["state"] == "committee"
    assert api.json()["design_comment"] == "Hea."
    again = await post_form(
        client, page, f"{page}/design", {"decision": "approve", "comment": "Hea."}
    )
    assert again.status_code == 200 or again.status_code == 409

    resident = await make_user(session, settings)
    async with client_from(app, "10.0.0.10") as second:
        await sign_in(second, resident.email)
        for path in ("/staff/ideas", page):
            answer = await second.get(path)
            assert answer.status_code == 403
            assert "Teil ei ole õigust seda lehte avada." in answer.text
    assert (await client.get(f"/staff/ideas/{uuid.uuid4()}")).status_code == 404


async def test_the_committee_ranks_and_decides(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, scene: Scene
) -> None:
    idea_id = await _scored(client, session, settings, scene)
    decided = await client.post(
        f"/v1/idea-office/ideas/{idea_id}/design",
        json={"decision": "approve", "comment": ""},
        headers=scene.office_headers,
    )
    assert decided.status_code == 200, decided.text
    supervisor = scene.area.supervisor
    await sign_in(client, supervisor.email)
    areas = await client.get("/staff/ideas/committee")
    assert areas.status_code == 200
    page = f"/staff/ideas/committee/{scene.area.id}"
    assert page in areas.text
    opened = await client.get(page)
    assert opened.status_code == 200 and TITLE in opened.text
    for expert in scene.area.experts:
        assert expert.display_name not in opened.text  # scores, never the reviewers

    bad = await post_form(
        client,
        page,
        page,
        {"round": "2027", "idea": idea_id, "include-0": "yes", "rank-0": "1", "reasoning-0": ""},
    )
    assert bad.status_code == 422
    assert 'id="error-decision-0"' in bad.text and 'id="error-reasoning-0"' in bad.text
    assert "Valige üks võimalustest." in bad.text
    nothing = await post_form(client, page, page, {"round": "2027", "idea": idea_id})
    assert nothing.status_code == 422
    assert "Valige vähemalt üks idee, mille kohta otsus teha." in nothing.text

    done = await post_form(
        client,
        page,
        page,
        {
            "round": "2027",
            "idea": idea_id,
            "include-0": "yes",
            "rank-0": "1",
            "decision-0": "pilot",
            "reasoning-0": "Proovime aasta ühes jaamas.",
        },
    )
    assert done.status_code == 303, done.text
    public = await client.get(f"/v1/ideas/{idea_id}")
    assert public.json()["state"] == "decided" and public.json()["decision"] == "pilot"
    assert public.json()["decision_reason"] == "Proovime aasta ühes jaamas."

    department = await make_department(session)
    stranger = await make_user(session, settings, roles=((Role.supervisor, department.id),))
    async with client_from(app, "10.0.0.11") as second:
        await sign_in(second, stranger.email)
        assert (await second.get(page)).status_code == 403
        assert page not in (await second.get("/staff/ideas/committee")).text

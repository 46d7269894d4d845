"""A round of the idea bank replayed through the HTTP API: 20 ideas across 3 areas, four
failing the automatic checks (too short, fields missing, outside the city, a duplicate);
each of the other 16 assessed by 3 experts, one of whom lets the deadline lapse and is
replaced; the project office's design decisions; each committee's ranked decisions. The
stage counts, the anonymity of every response the authors and the experts see, and the
public decisions are checked."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

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

# Monday 1 March 2027, 09:00 in Tartu (UTC+2): five working days end on Monday 8 March.
# (Ahead of the real time: the outbox relay, on the worker's clock, sees the jobs written.)
START = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
OUTSIDE = {"lat": 59.437, "lon": 24.745}  # Tallinn
CLUB = "Tartu Rattaklubi"

TITLES = {
    "ecology": [
        "Rain gardens along Riia street gutters",
        "Community compost bins in Karlova yards",
        "Wildflower meadows instead of lawns in Tammelinn",
        "Bat boxes in the Toome hill park",
        "Free repair cafe every month at the library",
    ],
    "transport": [
        "Covered bicycle parking at the railway station",
        "Raised crossing in front of Kesklinna school",
        "Night bus from Annelinn to the city centre",
        "Real-time arrival screens at Kaubamaja stop",
        "Car-free Sunday on the Emajõgi embankment",
        "Winter maintenance of the Ihaste cycle path",
    ],
    "urban": [
        "Drinking water fountains in the town hall square",
        "Shaded benches along the Emajõgi promenade",
        "Public toilets open at night near the bus station",
        "Outdoor table tennis in Vanemuise park",
        "Lighting for the footbridge at Sõpruse",
    ],
}


def _text(response: Any) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


async def _reviews(session: AsyncSession) -> list[IdeaReview]:
    query = select(IdeaReview).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


def assert_hidden(seen: str, people: list[User], *extra: str) -> None:
    """Nothing in ``seen`` names any of ``people`` (id, name or email) or ``extra``."""
    for person in people:
        for trace in (str(person.id), person.display_name, person.email):
            assert trace not in seen, f"{trace} leaked"
    for trace in extra:
        assert trace not in seen, f"{trace} leaked"


async def test_a_round_of_the_idea_bank(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
    redis: Any,
) -> None:
    clock = Clock(app, START)

    async def work() -> None:
        await redis.enqueue_job("idea_review_sweep")
        await run_worker(clock=lambda: clock.now)

    admin_headers = await admin(session, settings)
    _, office_headers = await office(session, settings)
    # Ten authors with distinctive names; the first is also in the ecology pool (never
    # given their own idea), the second proposes for the cycling club one expert works for.
    authors = [await make_user(session, settings, name=f"Author Surname{n}") for n in range(10)]
    author_headers = [bearer(settings, a) for a in authors]
    areas: dict[str, Area] = {
        "ecology": await make_area(
            client,
            session,
            settings,
            admin_headers,
            "ecology",
            experts=6,
            organisations={0: CLUB},
        ),
        "transport": await make_area(
            client, session, settings, admin_headers, "transport", experts=6
        ),
        "urban": await make_area(client, session, settings, admin_headers, "urban", experts=6),
    }
    added = await client.post(
        f"/v1/idea-areas/{areas['ecology'].id}/experts",
        json={"user_id": str(authors[0].id)},
        headers=admin_headers,
    )
    assert added.status_code == 200
    experts = [e for a in areas.values() for e in a.experts]

    # --- proposals: 16 good ones and 3 that fail the checks; the duplicate comes later ----
    ideas: dict[str, dict[str, Any]] = {}  # title → the author's view at submission
    owner: dict[str, int] = {}
    number = 0
    for code, titles in TITLES.items():
        for title in titles:
            author = number % 10
            extra = {"organisation": CLUB} if author == 1 else {}
            ideas[title] = await propose(
                client, author_headers[author], idea_body(areas[code].id, title, **extra)
            )
            owner[title] = author
            number += 1
    failing = {
        "short": ("ecology", idea_body(areas["ecology"].id, "Trees")),
        "missing": (
            "ecology",
            {
                **idea_body(areas["ecology"].id, "More waste sorting points in Ropka"),
                "benefit": "",
                "cost_band": None,
            },
        ),
        "outside": (
            "transport",
            idea_body(
                areas["transport"].id, "A tram line to the Tallinn airport", location=OUTSIDE
            ),
        ),
    }
    failed: dict[str, dict[str, Any]] = {}
    for key, (_, body) in failing.items():
        failed[key] = await propose(client, author_headers[9], body)
    await work()

    # The three failures are back with their reasons; the author sees them, nobody else.
    for key, rule in (("short", "length"), ("missing", "required"), ("outside", "location")):
        mine = await client.get(f"/v1/me/ideas/{failed[key]['id']}", headers=author_headers[9])
        assert mine.json()["state"] == "returned", key
        assert rule in {f["rule"] for f in mine.json()["check_failures"]}, mine.text
        assert (await client.get(f"/v1/ideas/{failed[key]['id']}")).status_code == 404
    missing = await client.get(f"/v1/me/ideas/{failed['missing']['id']}", headers=author_headers[9])
    assert {f["field"] for f in missing.json()["check_failures"]} == {"benefit", "cost_band"}

    # The duplicate of a public idea fails, naming it.
    original = TITLES["urban"][0]
    failed["duplicate"] = await propose(
        client,
        author_headers[9],
        idea_body(areas["urban"].id, "Drinking water fountains in the town hall square!"),
    )
    await work()
    duplicate = await client.get(
        f"/v1/me/ideas/{failed['duplicate']['id']}", headers=author_headers[9]
    )
    assert duplicate.json()["state"] == "returned"
    assert [f["similar_idea_id"] for f in duplicate.json()["check_failures"]] == [
        ideas[original]["id"]
    ]

    # --- stage 2: three experts each, balanced, never the author or their organisation -----
    for idea in ideas.values():
        public_idea = await client.get(f"/v1/ideas/{idea['id']}")
        assert public_idea.status_code == 200
        assert public_idea.json()["state"] == "experts"
        assert_hidden(_text(public_idea), authors, CLUB)
    rows = await _reviews(session)
    assert len(rows) == 16 * 3
    by_idea: dict[str, list[IdeaReview]] = {}
    for review in rows:
        by_idea.setdefault(str(review.idea_id), []).append(review)
    for title, idea in ideas.items():
        reviewers = {r.expert_id for r in by_idea[idea["id"]]}
        assert len(reviewers) == 3
        assert authors[owner[title]].id not in reviewers
        if owner[title] == 1:
            assert areas["ecology"].experts[0].id not in reviewers  # the club's expert
    for area in areas.values():
        load = Counter(r.expert_id for r in rows if r.expert_id in {e.id for e in area.experts})
        assert max(load.values()) - min(load.values()) <= 1, load

    # Every expert's assignments show the idea and nothing of its author.
    lapsing = {min(by_idea[i["id"]], key=lambda r: str(r.expert_id)).id for i in ideas.values()}
    reviewer_of = {r.id: r.expert_id for r in rows}
    users = {u.id: u for u in [*experts, authors[0]]}
    for expert_id in {r.expert_id for r in rows}:
        headers = bearer(settings, users[expert_id])
        listed = await client.get("/v1/me/idea-reviews", headers=headers)
        assert listed.status_code == 200
        assert_hidden(_text(listed), authors, CLUB)
        for item in listed.json()["items"]:
            one = await client.get(f"/v1/me/idea-reviews/{item['id']}", headers=headers)
            assert_hidden(_text(one), authors, CLUB)
            if uuid.UUID(item["id"]) in lapsing:
                continue
            scored = await client.post(
                f"/v1/me/idea-reviews/{item['id']}/scores",
                json={
                    "scores": {c: 3 + len(item["idea"]["title"]) % 3 for c in item["criteria"]},
                    "comment": "Sound and affordable.",
                },
                headers=headers,
            )
            assert scored.status_code == 200, scored.text
            assert scored.json()["status"] == "submitted"
            assert_hidden(_text(scored), authors, CLUB)

    # A working day before the deadline the sweep reminds the experts still owing a review.
    clock.set(datetime(2027, 3, 5, 7, 30, tzinfo=UTC))
    await work()
    for review_id in lapsing:
        expert = users[reviewer_of[review_id]]
        inbox = await client.get("/v1/me/notifications", headers=bearer(settings, expert))
        types = [n["event_type"] for n in inbox.json()["items"]]
        assert "idea_review_reminder" in types and "idea_review_assigned" in types
        assert_hidden(_text(inbox), authors, CLUB)
    assert all(r.reminded_at is None for r in await _reviews(session) if r.id not in lapsing)

    # After the deadline: each lapsing review is lapsed and handed to a fourth expert.
    clock.set(datetime(2027, 3, 8, 8, 0, tzinfo=UTC))
    await work()
    rows = await _reviews(session)
    assert len(rows) == 16 * 4
    assert {r.id for r in rows if r.lapsed_at is not None} == lapsing
    late = await client.post(
        f"/v1/me/idea-reviews/{next(iter(lapsing))}/scores",
        json={"scores": {"relevance": 5, "feasibility": 5, "impact": 5}},
        headers=bearer(settings, users[reviewer_of[next(iter(lapsing))]]),
    )
    assert late.status_code == 409
    for review in rows:
        if review.submitted_at is None and review.lapsed_at is None:
            assert review.expert_id not in {
                r.expert_id for r in rows if r.idea_id == review.idea_id and r.id != review.id
            }
            scored = await client.post(
                f"/v1/me/idea-reviews/{review.id}/scores",
                json={"scores": {"relevance": 4, "feasibility": 4, "impact": 5}, "comment": ""},
                headers=bearer(settings, users[review.expert_id]),
            )
            assert scored.status_code == 200, scored.text

    # --- the author's view: counts of reviews, never a reviewer -------------------------
    for n, headers in enumerate(author_headers):
        mine = await client.get("/v1/me/ideas", headers=headers)
        assert mine.status_code == 200
        assert_hidden(_text(mine), [*experts, *(a for a in authors[:1] if n != 0)])
        for item in mine.json()["items"]:
            if item["title"] in ideas:
                assert item["state"] == "design"
                assert item["reviews_received"] == item["reviews_needed"] == 3
            timeline = await client.get(f"/v1/ideas/{item['id']}/timeline")
            if timeline.status_code == 200:
                assert_hidden(_text(timeline), [*experts, *authors])
        inbox = await client.get("/v1/me/notifications", headers=headers)
        assert_hidden(_text(inbox), experts)

    # --- stage 3: the project office sees everything, reviewers included ------------------
    clock.set(datetime(2027, 3, 10, 9, 0, tzinfo=UTC))
    waiting = await client.get("/v1/idea-office/ideas?state=design", headers=office_headers)
    assert waiting.status_code == 200
    assert len(waiting.json()["items"]) == 16
    first = waiting.json()["items"][0]
    assert first["author_name"].startswith("Author Surname")
    assert all(r["expert_id"] for r in first["reviews"]) and len(first["reviews"]) == 4
    assert first["score_mean"] is not None and first["score_spread"] is not None
    design = {
        TITLES["ecology"][4]: ("return", "Say where the repair cafe would be held."),
        TITLES["transport"][5]: ("reject", "The cycle path is already maintained in winter."),
        TITLES["urban"][3]: ("return", "Name the park's area for the tables."),
        TITLES["urban"][4]: ("reject", "The footbridge is being rebuilt with lighting."),
    }
    for title, idea in ideas.items():
        decision, comment = design.get(title, ("approve", ""))
        response = await client.post(
            f"/v1/idea-office/ideas/{idea['id']}/design",
            json={"decision": decision, "comment": comment},
            headers=office_headers,
        )
        assert response.status_code == 200, response.text
    returned = await client.get(
        f"/v1/me/ideas/{ideas[TITLES['ecology'][4]]['id']}",
        headers=author_headers[owner[TITLES["ecology"][4]]],
    )
    assert returned.json()["state"] == "returned"
    assert returned.json()["design_comment"] == "Say where the repair cafe would be held."
    # Returned for revision, the author may edit it: it leaves the public side until it
    # passes the automatic checks again, so no unchecked text is ever public.
    returned_id = ideas[TITLES["ecology"][4]]["id"]
    hidden = await client.get(f"/v1/ideas/{returned_id}")
    assert hidden.status_code == 404
    listed = await client.get("/v1/ideas", params={"limit": 100})
    assert listed.status_code == 200
    assert returned_id not in {i["id"] for i in listed.json()["items"]}
    assert (await client.get(f"/v1/ideas/{returned_id}/timeline")).status_code == 404

    # --- stage 4: each committee ranks its approved ideas of the round ----------------------
    clock.set(datetime(2027, 4, 6, 12, 0, tzinfo=UTC))
    outcomes = ["implement", "pilot"]
    for code, area in areas.items():
        committee = bearer(settings, area.supervisor)
        queue = await client.get(f"/v1/idea-areas/{area.id}/committee", headers=committee)
        assert queue.status_code == 200, queue.text
        items = queue.json()["items"]
        assert all(r["expert_id"] is None for i in items for r in i["reviews"])
        decisions = [
            {
                "idea_id": item["id"],
                "rank": rank,
                "decision": outcomes[rank - 1] if rank <= 2 else "declined",
                "reasoning": f"Ranked {rank} of {len(items)} in {code}.",
            }
            for rank, item in enumerate(items, start=1)
        ]
        decided = await client.post(
            f"/v1/idea-areas/{area.id}/decisions",
            json={"round": 2027, "decisions": decisions},
            headers=committee,
        )
        assert decided.status_code == 200, decided.text
        assert len(decided.json()["decided"]) == len(items)

    # --- public: decisions with their reasoning, and the stage counts ---------------------
    public_list = await client.get("/v1/ideas?state=decided&limit=100")
    decided_items = public_list.json()["items"]
    assert len(decided_items) == 12
    assert Counter(i["decision"] for i in decided_items) == {
        "implement": 3,
        "pilot": 3,
        "declined": 6,
    }
    assert all(i["decision_reason"].startswith("Ranked") for i in decided_items)
    assert_hidden(_text(public_list), [*experts, *authors], CLUB)
    one = decided_items[0]
    timeline = await client.get(f"/v1/ideas/{one['id']}/timeline")
    assert [e["type"] for e in timeline.json()][-1] == "decided"
    assert timeline.json()[-1]["details"]["reasoning"] == one["decision_reason"]
    stats = {s["code"]: s for s in (await client.get("/v1/ideas/stats")).json()}
    expected = {
        "ecology": (7, 5, 5, 4, 4, 1, 1, 2),
        "transport": (7, 6, 6, 5, 5, 1, 1, 3),
        "urban": (6, 5, 5, 3, 3, 1, 1, 1),
    }
    fields = (
        "submitted",
        "passed_checks",
        "passed_experts",
        "passed_design",
        "decided",
        "implement",
        "pilot",
        "declined",
    )
    for code, counts in expected.items():
        assert tuple(stats[code][f] for f in fields) == counts, stats[code]
    geo = await client.get(f"/v1/ideas/map?area_id={areas['transport'].id}")
    assert geo.headers["content-type"].startswith("application/geo+json")
    assert len(geo.json()["features"]) == 6
    assert START + timedelta(days=7) <= clock.now

"""Who may see and do what in the idea bank: authors never reach reviews or reviewers,
experts never reach the author, residents never reach the project office's or committees'
endpoints; API keys act only through ``ideas:write`` and never review or decide. Also the
request validation, the PDF pipeline, supports, withdrawal and resubmission."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from httpx import AsyncClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.models import Role, User
from service.auth.schemas import ApiKeyCreate
from service.config import Settings
from service.ideas.models import IdeaReview
from tests.conftest import RunWorker
from tests.factories import accept_report, bearer, file_report, make_department, make_user
from tests.idea_factories import Area, admin, idea_body, make_area, office, propose

CONTENT_FIELDS = {
    "id",
    "area_id",
    "title",
    "summary",
    "problem",
    "solution",
    "benefit",
    "cost_band",
    "location",
    "district_id",
    "tags",
    "attachments",
}


@dataclass
class Scene:
    area: Area
    author: User
    author_headers: dict[str, str]
    idea_id: str
    reviews: list[IdeaReview]
    admin_headers: dict[str, str]


async def _scene(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> Scene:
    admin_headers = await admin(session, settings)
    area = await make_area(
        client, session, settings, admin_headers, f"area-{uuid.uuid4().hex[:6]}", experts=3
    )
    author = await make_user(session, settings, name="Mari Maasikas")
    headers = bearer(settings, author)
    idea = await propose(
        client, headers, idea_body(area.id, "Bicycle repair stands at every school")
    )
    await run_worker()
    reviews = list(
        (
            await session.execute(
                select(IdeaReview).where(IdeaReview.idea_id == uuid.UUID(idea["id"]))
            )
        ).scalars()
    )
    assert len(reviews) == 3
    return Scene(area, author, headers, idea["id"], reviews, admin_headers)


async def _key(session: AsyncSession, owner: User, *scopes: str) -> dict[str, str]:
    _, secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name="Partner app", scopes=list(scopes), owner_id=owner.id),
        datetime.now(UTC),
    )
    return {"X-API-Key": secret}


async def test_authors_never_reach_reviews_or_reviewers(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    scene = await _scene(client, session, settings, run_worker)
    headers = scene.author_headers
    for path in ("/v1/idea-office/ideas", f"/v1/idea-office/ideas/{scene.idea_id}"):
        assert (await client.get(path, headers=headers)).status_code == 403
    review_id = scene.reviews[0].id
    assert (
        await client.get(f"/v1/me/idea-reviews/{review_id}", headers=headers)
    ).status_code == 404
    scored = await client.post(
        f"/v1/me/idea-reviews/{review_id}/scores",
        json={"scores": {"relevance": 5, "feasibility": 5, "impact": 5}},
        headers=headers,
    )
    assert scored.status_code == 404
    assert (await client.get("/v1/me/idea-reviews", headers=headers)).json()["items"] == []
    mine = await client.get(f"/v1/me/ideas/{scene.idea_id}", headers=headers)
    assert mine.status_code == 200
    assert "reviews" not in mine.json() and "author_id" not in mine.json()
    for expert in scene.area.experts:
        assert str(expert.id) not in mine.text and expert.display_name not in mine.text


async def test_experts_never_reach_the_authors_identity(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    scene = await _scene(client, session, settings, run_worker)
    first, second = scene.reviews[0], scene.reviews[1]
    expert = bearer(settings, await session.get(User, first.expert_id))
    assert (await client.get(f"/v1/me/ideas/{scene.idea_id}", headers=expert)).status_code == 404
    for path in (
        f"/v1/idea-office/ideas/{scene.idea_id}",
        f"/v1/idea-areas/{scene.area.id}/experts",
    ):
        assert (await client.get(path, headers=expert)).status_code == 403
    # Another expert's review of the same idea is unknown to this one.
    assert (await client.get(f"/v1/me/idea-reviews/{second.id}", headers=expert)).status_code == 404
    own = await client.get(f"/v1/me/idea-reviews/{first.id}", headers=expert)
    assert own.status_code == 200
    assert set(own.json()["idea"]) == CONTENT_FIELDS
    public = await client.get(f"/v1/ideas/{scene.idea_id}", headers=expert)
    assert public.status_code == 200, public.text
    assert "author" not in public.text and "organisation" not in public.json()
    for seen in (own.text, public.text):
        assert str(scene.author.id) not in seen and "Maasikas" not in seen
        assert scene.author.email not in seen


async def test_residents_cannot_call_office_or_committee_endpoints(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    scene = await _scene(client, session, settings, run_worker)
    resident = bearer(settings, await make_user(session, settings))
    other_department = await make_department(session)
    other_supervisor = bearer(
        settings,
        await make_user(session, settings, roles=((Role.supervisor, other_department.id),)),
    )
    key = await _key(session, scene.author, "ideas:write")
    _, office_headers = await office(session, settings)
    decisions = {
        "round": datetime.now(UTC).year,
        "decisions": [
            {"idea_id": scene.idea_id, "rank": 1, "decision": "implement", "reasoning": "Yes."}
        ],
    }
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/v1/idea-office/ideas", None),
        ("POST", f"/v1/idea-office/ideas/{scene.idea_id}/design", {"decision": "approve"}),
        ("GET", f"/v1/idea-areas/{scene.area.id}/committee", None),
        ("POST", f"/v1/idea-areas/{scene.area.id}/decisions", decisions),
        ("POST", "/v1/idea-areas", {"code": "x", "name": "X", "department_id": str(uuid.uuid4())}),
        ("POST", f"/v1/idea-areas/{scene.area.id}/experts", {"user_id": str(uuid.uuid4())}),
    ]
    for method, path, body in calls:
        assert (await client.request(method, path, json=body)).status_code == 401, path
        response = await client.request(method, path, json=body, headers=resident)
        assert response.status_code == 403, path
        keyed = await client.request(method, path, json=body, headers=key)
        assert keyed.status_code == 403 and keyed.json()["reason"] == "api_key_not_allowed"
    # A supervisor of another department is no member of this area's committee.
    for method, path, body in calls[2:4]:
        response = await client.request(method, path, json=body, headers=other_supervisor)
        assert response.status_code == 403 and response.json()["reason"] == "not_on_committee"
    # The office decides design, not priority.
    response = await client.request("POST", calls[3][1], json=decisions, headers=office_headers)
    assert response.status_code == 403
    # Keys never review.
    review = f"/v1/me/idea-reviews/{scene.reviews[0].id}"
    expert_key = await _key(
        session, await session.get(User, scene.reviews[0].expert_id), "ideas:write"
    )
    assert (await client.get(review, headers=expert_key)).status_code == 403


async def test_drafts_and_other_peoples_ideas_answer_404(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    admin_headers = await admin(session, settings)
    area = await make_area(client, session, settings, admin_headers, "drafts")
    author = bearer(settings, await make_user(session, settings))
    other = bearer(settings, await make_user(session, settings))
    draft = await propose(
        client, author, idea_body(area.id, "Skating rink in the Raatuse yard"), submit=False
    )
    path = f"/v1/ideas/{draft['id']}"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=author)).status_code == 404  # public view only
    assert (await client.get(f"/v1/me/ideas/{draft['id']}", headers=other)).status_code == 404
    assert (await client.patch(path, json={"title": "Mine now"}, headers=other)).status_code == 404
    assert (await client.post(f"{path}/submit", headers=other)).status_code == 404
    assert (await client.put(f"{path}/support", headers=other)).status_code == 404
    assert (await client.get(f"/v1/ideas/{uuid.uuid4()}/timeline")).status_code == 404
    # An office member sees submitted ideas, never drafts.
    _, office_headers = await office(session, settings)
    office_view = await client.get(f"/v1/idea-office/ideas/{draft['id']}", headers=office_headers)
    assert office_view.status_code == 404


async def test_api_keys_propose_only_with_ideas_write(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin_headers = await admin(session, settings)
    area = await make_area(client, session, settings, admin_headers, "keys")
    owner = await make_user(session, settings)
    body = idea_body(area.id, "Benches at the Annelinn bus stops")
    without = await client.post(
        "/v1/ideas", json=body, headers=await _key(session, owner, "reports:write")
    )
    assert without.status_code == 403 and without.json()["reason"] == "missing_scope"
    key = await _key(session, owner, "ideas:write")
    created = await client.post("/v1/ideas", json=body, headers=key)
    assert created.status_code == 201
    listed = await client.get("/v1/me/ideas", headers=key)
    assert [i["id"] for i in listed.json()["items"]] == [created.json()["id"]]
    unverified = bearer(settings, await make_user(session, settings, verified=False))
    refused = await client.post("/v1/ideas", json=body, headers=unverified)
    assert refused.status_code == 403 and refused.json()["reason"] == "email_not_verified"


async def test_validation_errors(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    scene = await _scene(client, session, settings, run_worker)
    headers = scene.author_headers
    bad_area = await client.post(
        "/v1/ideas", json=idea_body(str(uuid.uuid4()), "A garden on every roof"), headers=headers
    )
    assert bad_area.status_code == 422
    for bad in (
        {"location": {"lat": 91, "lon": 0}},
        {"tags": ["x" * 41]},
        {"title": "a\x00b"},
        {"cost_band": "priceless"},
    ):
        response = await client.post(
            "/v1/ideas",
            json={**idea_body(scene.area.id, "Roof gardens on every school"), **bad},
            headers=headers,
        )
        assert response.status_code == 422, bad
    expert = bearer(settings, await session.get(User, scene.reviews[0].expert_id))
    path = f"/v1/me/idea-reviews/{scene.reviews[0].id}/scores"
    for scores, status in (
        ({"relevance": 6, "feasibility": 5, "impact": 5}, 422),
        ({"relevance": 5}, 422),  # a criterion is missing
        ({"relevance": 5, "feasibility": 5, "impact": 5, "beauty": 5}, 422),
    ):
        response = await client.post(path, json={"scores": scores}, headers=expert)
        assert response.status_code == status, response.text
    _, office_headers = await office(session, settings)
    no_reason = await client.post(
        f"/v1/idea-office/ideas/{scene.idea_id}/design",
        json={"decision": "reject"},
        headers=office_headers,
    )
    assert no_reason.status_code == 422
    early = await client.post(
        f"/v1/idea-office/ideas/{scene.idea_id}/design",
        json={"decision": "approve"},
        headers=office_headers,
    )
    assert early.status_code == 409 and early.json()["state"] == "experts"
    ranks = await client.post(
        f"/v1/idea-areas/{scene.area.id}/decisions",
        json={
            "round": 2026,
            "decisions": [
                {"idea_id": scene.idea_id, "rank": 1, "decision": "pilot", "reasoning": "a"},
                {"idea_id": str(uuid.uuid4()), "rank": 1, "decision": "pilot", "reasoning": "b"},
            ],
        },
        headers=bearer(settings, scene.area.supervisor),
    )
    assert ranks.status_code == 422


def _pdf(author: str = "Mari Maasikas") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Plan of the bicycle stands")
    pdf.set_author(author)
    pdf.set_creator("Mari's laptop")
    return bytes(pdf.output())


async def test_attachments_are_sniffed_and_lose_their_metadata(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    admin_headers = await admin(session, settings)
    area = await make_area(client, session, settings, admin_headers, "files")
    author = bearer(settings, await make_user(session, settings))
    idea = await propose(
        client, author, idea_body(area.id, "Bicycle stands at Lõunakeskus"), submit=False
    )
    documents = f"/v1/ideas/{idea['id']}/documents"
    stored = await client.post(
        documents,
        files={"file": ("Mari Maasikas plan.pdf", _pdf(), "application/pdf")},
        headers=author,
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["pages"] == 1 and "Maasikas" not in stored.text
    fetched = await client.get(stored.json()["url"], headers=author)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(fetched.content))
    assert not reader.metadata and b"Maasikas" not in fetched.content
    assert "Plan of the bicycle stands" in reader.pages[0].extract_text()
    assert (await client.get(stored.json()["url"])).status_code == 404  # not public yet
    for name, raw, declared, status in (
        ("fake.pdf", b"not a pdf at all", "application/pdf", 415),
        ("plan.png", _pdf(), "image/png", 415),
        ("broken.pdf", b"%PDF-1.7\n garbage", "application/pdf", 422),
        ("big.pdf", b"%PDF-" + b"0" * settings.photo_max_bytes, "application/pdf", 413),
    ):
        response = await client.post(
            documents, files={"file": (name, raw, declared)}, headers=author
        )
        assert response.status_code == status, (name, response.text)
    # Photos go through the report photo pipeline: EXIF (the GPS position) is gone.
    image = Image.new("RGB", (64, 48), "green")
    exif = Image.Exif()
    exif[0x8825] = {2: (58.0, 22.0, 40.0)}
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", exif=exif)
    photo = await client.post(
        f"/v1/ideas/{idea['id']}/photos",
        files={"file": ("p.jpg", jpeg.getvalue(), "image/jpeg")},
        headers=author,
    )
    assert photo.status_code == 201, photo.text
    await run_worker()
    thumbnail = await client.get(f"{photo.json()['url']}?variant=thumbnail", headers=author)
    assert thumbnail.status_code == 200
    assert not Image.open(io.BytesIO(thumbnail.content)).getexif()
    full = await client.get(photo.json()["url"], headers=author)
    assert not Image.open(io.BytesIO(full.content)).getexif()


async def test_supports_withdrawal_and_resubmission(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> None:
    scene = await _scene(client, session, settings, run_worker)
    support = f"/v1/ideas/{scene.idea_id}/support"
    resident = bearer(settings, await make_user(session, settings))
    for _ in range(2):
        response = await client.put(support, headers=resident)
        assert response.json() == {"supported": True, "support_count": 1}
    assert (await client.put(support, headers=scene.author_headers)).status_code == 409
    assert (await client.delete(support, headers=resident)).json()["support_count"] == 0
    # Withdrawn: the open reviews end, and the experts can no longer score.
    withdrawn = await client.post(
        f"/v1/ideas/{scene.idea_id}/withdraw", headers=scene.author_headers
    )
    assert withdrawn.json()["state"] == "withdrawn"
    expert = bearer(settings, await session.get(User, scene.reviews[0].expert_id))
    late = await client.post(
        f"/v1/me/idea-reviews/{scene.reviews[0].id}/scores",
        json={"scores": {"relevance": 5, "feasibility": 5, "impact": 5}},
        headers=expert,
    )
    assert late.status_code == 409
    # A failed idea, changed and submitted again, passes.
    short = await propose(client, scene.author_headers, idea_body(scene.area.id, "Trees"))
    await run_worker()
    mine = f"/v1/me/ideas/{short['id']}"
    assert (await client.get(mine, headers=scene.author_headers)).json()["state"] == "returned"
    changed = await client.patch(
        f"/v1/ideas/{short['id']}",
        json={
            "title": "Trees along the Vanemuise street",
            "summary": "Trees along the Vanemuise street, planted by the residents in spring.",
        },
        headers=scene.author_headers,
    )
    assert changed.status_code == 200, changed.text
    again = await client.post(f"/v1/ideas/{short['id']}/submit", headers=scene.author_headers)
    assert again.json()["attempt"] == 2
    await run_worker()
    passed = await client.get(mine, headers=scene.author_headers)
    assert passed.json()["state"] == "experts" and passed.json()["check_failures"] == []


async def test_support_changes_count_against_the_hourly_engagement_budget(
    app: Any,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    scene = await _scene(client, session, settings, run_worker)
    app.state.settings = settings.model_copy(update={"engagement_changes_per_hour": 4})
    support = f"/v1/ideas/{scene.idea_id}/support"
    resident = await make_user(session, settings)
    headers = bearer(settings, resident)
    # One budget with the supports of reports: a report support spends from it too.
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accept_report(session, moderator, await file_report(session, scene.author))
    reported = await client.put(f"/v1/reports/{report.id}/support", headers=headers)
    assert reported.status_code == 200, reported.text
    for number, method in enumerate(("PUT", "DELETE", "PUT")):
        response = await client.request(method, support, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["RateLimit-Limit"] == "4"
        assert response.headers["RateLimit-Remaining"] == str(2 - number)
    refused = await client.delete(support, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["RateLimit-Remaining"] == "0"
    # Nothing changed: the support stands, and another person's budget is their own.
    assert (await client.get(f"/v1/ideas/{scene.idea_id}")).json()["support_count"] == 1
    other = bearer(settings, await make_user(session, settings))
    assert (await client.put(support, headers=other)).status_code == 200

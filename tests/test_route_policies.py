"""Every route of the app has an access policy (service/auth/policy.py), and behaves as it
says for six callers: anonymous, a resident who owns the objects, another resident, staff of
another department, an admin's API key, and the right caller (OWASP API1 BOLA, API5 BFLA);
routes of a department's objects also for a supervisor of another department. The idea
bank's routes must moreover admit their right caller (a 2xx).

Path parameters name objects arranged here: the resident's accepted report in the roads
service, the roads service itself, a coordinator's programme and session, the resident's
ambassadorship and diploma, transfer and extension requests of the roads service, a
living lab pilot the resident tests with its survey, and in the idea bank an area of the
roads service (whose committee is its supervisor) with the resident in its expert pool,
the resident's draft idea with a photo, and another author's ideas in expert assessment
(reviewed by the resident), design and committee stages. Bodies are the smallest that the
OpenAPI document accepts, so that object-level checks in the services are reached rather
than a 422 of request validation.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fpdf import FPDF
from httpx import AsyncClient
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.auth import service as auth
from service.auth.models import Role
from service.auth.policy import Caller, Objects, Policy, route_policy
from service.auth.schemas import ApiKeyCreate
from service.config import Settings
from service.ideas.models import Idea, IdeaReview, IdeaState
from service.main import create_app
from service.training.models import Ambassador, Diploma
from service.web.errors import is_web_path
from tests.factories import actor_of, bearer, make_user
from tests.feedback_setup import Cast as People
from tests.feedback_setup import accepted, cast, department_id
from tests.idea_factories import idea_body
from tests.lab_factories import running_pilot
from tests.training_factories import (
    awarded_programme,
    coordinator,
    pilot_buildings,
)

# The framework's own documentation pages (FastAPI adds them; they need no caller).
DOCUMENTATION = {"/docs", "/docs/oauth2-redirect", "/redoc"}
# A 403 for these reasons, a 401 or a 404 is a refusal; any other answer got past the check.
ACCESS_REASONS = {"api_key_not_allowed", "missing_scope", "missing_role", "email_not_verified"}


def _routes(app: FastAPI) -> list[tuple[str, str, Policy | None]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path in DOCUMENTATION:
            continue
        for method in sorted(context.methods or ()):
            found.append((method, str(context.path), route_policy(context.dependant)))
    return found


def test_every_route_declares_a_policy() -> None:
    routes = _routes(create_app())
    assert len(routes) > 150
    missing = [f"{method} {path}" for method, path, policy in routes if policy is None]
    assert missing == []


def test_a_route_without_a_policy_is_found() -> None:
    app = create_app()

    @app.get("/v1/forgotten")
    async def forgotten() -> None:
        return None

    assert ("GET", "/v1/forgotten", None) in _routes(app)


def _pdf() -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="A plan of the benches")
    return bytes(document.output())


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(out, "JPEG")
    return out.getvalue()


async def _idea_bank(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    people: People,
    admin_headers: dict[str, str],
) -> dict[str, str]:
    """An area of the roads service with the resident in its pool (one review an idea), the
    resident's draft with a photo, and another author's ideas: one in expert assessment
    (assigned to the resident), one waiting for the project office, one for the committee."""
    area = await client.post(
        "/v1/idea-areas",
        json={
            "code": f"probe-{uuid.uuid4().hex[:6]}",
            "name": "Streets",
            "department_id": str(people.roads),
            "min_reviews": 1,
        },
        headers=admin_headers,
    )
    assert area.status_code == 201, area.text
    area_id = area.json()["id"]
    joined = await client.post(
        f"/v1/idea-areas/{area_id}/experts",
        json={"user_id": str(people.reporter.id)},
        headers=admin_headers,
    )
    assert joined.status_code == 200, joined.text
    resident = bearer(settings, people.reporter)
    draft = await client.post(
        "/v1/ideas",
        json=idea_body(area_id, "Benches along the Emajõgi promenade"),
        headers=resident,
    )
    assert draft.status_code == 201, draft.text
    photo = await client.post(
        f"/v1/ideas/{draft.json()['id']}/photos",
        files={"file": ("bench.jpg", _jpeg(), "image/jpeg")},
        headers=resident,
    )
    assert photo.status_code == 201, photo.text
    author = bearer(settings, await make_user(session, settings, name="Idea Author"))
    now = datetime.now(UTC)
    staged: dict[IdeaState, str] = {}
    for state, title in (
        (IdeaState.experts, "Rain gardens along Riia street gutters"),
        (IdeaState.design, "Covered bicycle parking at the railway station"),
        (IdeaState.committee, "Drinking water fountains in the town hall square"),
    ):
        created = await client.post("/v1/ideas", json=idea_body(area_id, title), headers=author)
        assert created.status_code == 201, created.text
        staged[state] = created.json()["id"]
        # Moved on as the checks, the experts and the office would have moved it.
        await session.execute(
            update(Idea)
            .where(Idea.id == uuid.UUID(staged[state]))
            .values(
                state=state,
                attempt=1,
                round=now.year,
                submitted_at=now,
                published_at=now,
                score_mean=None if state is IdeaState.experts else 4.0,
            )
        )
    review = IdeaReview(
        idea_id=uuid.UUID(staged[IdeaState.experts]),
        attempt=1,
        expert_id=people.reporter.id,
        assigned_at=now,
        due_at=now + timedelta(days=7),
    )
    session.add(review)
    await session.flush()
    return {
        "area_id": area_id,
        "idea_id": draft.json()["id"],
        "attachment_id": photo.json()["id"],
        "public_idea_id": staged[IdeaState.experts],
        "design_idea_id": staged[IdeaState.design],
        "committee_idea_id": staged[IdeaState.committee],
        "review_id": str(review.id),
        "expert_id": str(people.reporter.id),
        "round": str(now.year),
    }


@dataclass
class Cast:
    ids: dict[str, str]
    headers: dict[str, dict[str, str]]


async def _arrange(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> Cast:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - timedelta(hours=2))
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    moderator = people.moderator
    _, api_key = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="Partner app", scopes=["reports:read", "reports:write"]),
        datetime.now(UTC),
    )
    (building,) = await pilot_buildings(session, 1)
    programme, coordinator_headers, _ = await awarded_programme(
        app, client, session, settings, [(people.reporter, building)]
    )
    app.state.clock = lambda: datetime.now(UTC)
    ambassador = await session.scalar(
        select(Ambassador).where(Ambassador.user_id == people.reporter.id)
    )
    assert ambassador is not None
    diploma = await session.scalar(select(Diploma).where(Diploma.ambassador_id == ambassador.id))
    assert ambassador is not None and diploma is not None
    sessions = await client.get(
        f"/v1/training/programmes/{programme['id']}", headers=coordinator_headers
    )
    staff = bearer(settings, people.staff)
    transfer = await client.post(
        f"/v1/reports/{report.id}/transfer-requests",
        json={"department_id": str(people.roads), "reason": "Not ours"},
        headers=staff,
    )
    extension = await client.post(
        f"/v1/reports/{report.id}/extension-requests",
        json={"working_days": 2, "justification": "Waiting for asphalt"},
        headers=staff,
    )
    priority = await client.post(
        f"/v1/departments/{people.roads}/priorities",
        json={"name": "Urgent", "rank": 1},
        headers=bearer(settings, people.supervisor),
    )
    _, other_coordinator = await coordinator(session, settings)
    greenery = await department_id(session, "greenery")
    other_supervisor = await make_user(session, settings, roles=((Role.supervisor, greenery),))
    ideas = await _idea_bank(client, session, settings, people, bearer(settings, admin))
    # The living lab: a running pilot the resident tests, with an open survey.
    lab = await running_pilot(app, client, session, settings, [people.reporter], datetime.now(UTC))
    ids = {
        **ideas,
        "report_id": str(report.id),
        "department_id": str(people.roads),
        "programme_id": programme["id"],
        "session_id": sessions.json()["sessions"][0]["id"],
        "ambassador_id": str(ambassador.id),
        "code": diploma.code,
        "building_id": str(building),
        "tracking_code": report.tracking_code,
        "transfer_request_id": transfer.json().get("id", str(uuid.uuid4())),
        "extension_request_id": extension.json().get("id", str(uuid.uuid4())),
        "priority_id": priority.json().get("id", str(uuid.uuid4())),
        "pilot_id": lab.pilot_id,
        "participation_id": lab.testers[people.reporter.id][0],
        "task_id": lab.task_id,
        "user_id": str(people.stranger.id),
        "fmt": "json",
        "day": date.today().isoformat(),
    }
    return Cast(
        ids=ids,
        headers={
            "anonymous": {},
            "resident": bearer(settings, people.reporter),
            "other_resident": bearer(settings, people.stranger),
            "other_department": bearer(settings, people.other_staff),
            "admin_api_key": {"X-API-Key": api_key},
            "admin": bearer(settings, admin),
            "moderator": bearer(settings, moderator),
            "staff": staff,
            "supervisor": bearer(settings, people.supervisor),
            "coordinator": coordinator_headers,
            "other_coordinator": other_coordinator,
            "other_supervisor": bearer(settings, other_supervisor),
        },
    )


def _right_caller(policy: Policy) -> str:
    if policy.objects is Objects.own or Role.ambassador in policy.roles:
        return "resident"
    if policy.caller is Caller.role:
        for role, caller in (
            (Role.staff, "staff"),
            (Role.supervisor, "supervisor"),
            (Role.moderator, "moderator"),
            (Role.coordinator, "coordinator"),
        ):
            if role in policy.roles:
                return caller
        return "admin"
    return "resident"


def _expected_refusals(policy: Policy) -> set[str]:
    """The callers the policy refuses."""
    refused: set[str] = set()
    if policy.caller in (Caller.anyone, Caller.credentials):
        return refused
    refused.add("anonymous")
    key_passes = policy.caller in (Caller.signed_in, Caller.scope) and (
        policy.scope in (None, "reports:read", "reports:write")
    )
    if not key_passes:
        refused.add("admin_api_key")
    if policy.caller is Caller.role:
        # The arranged resident is an ambassador (of a pilot building), nobody else here.
        refused |= (
            {"other_resident"}
            if Role.ambassador in policy.roles
            else {"resident", "other_resident"}
        )
        if not policy.roles & {Role.staff, Role.supervisor}:
            refused.add("other_department")
    if policy.caller is Caller.api_key:
        refused |= {"resident", "other_resident", "other_department"}
    if policy.objects is Objects.own:
        refused |= {"other_resident", "other_department", "admin_api_key"}
    if policy.objects is Objects.departments:
        refused |= {"other_department", "other_supervisor"}
    if policy.objects is Objects.programmes:
        refused.add("other_coordinator")
    return refused


# Idea routes naming another object than the resident's draft (``idea_id``).
IDEA_OBJECTS: dict[tuple[str, str], str] = {
    ("GET", "/v1/ideas/{idea_id}"): "public_idea_id",
    ("GET", "/v1/ideas/{idea_id}/timeline"): "public_idea_id",
    ("GET", "/v1/ideas/{idea_id}/support"): "public_idea_id",
    ("PUT", "/v1/ideas/{idea_id}/support"): "public_idea_id",
    ("DELETE", "/v1/ideas/{idea_id}/support"): "public_idea_id",
    ("GET", "/v1/idea-office/ideas/{idea_id}"): "public_idea_id",
    ("POST", "/v1/idea-office/ideas/{idea_id}/design"): "design_idea_id",
}


def _path(method: str, path: str, ids: dict[str, str]) -> str:
    names = dict(ids)
    names["idea_id"] = ids[IDEA_OBJECTS.get((method, path), "idea_id")]
    if path.startswith("/v1/idea-areas/{area_id}/experts/"):
        names["user_id"] = ids["expert_id"]
    names["request_id"] = ids[
        "transfer_request_id"
        if path.startswith("/v1/transfer-requests")
        else "extension_request_id"
    ]
    for name in ("service_code", "service_request_id", "token", "photo_id", "notification_id"):
        names.setdefault(name, str(uuid.uuid4()))
    for name in ("grant_id", "key_id", "webhook_id", "rule_id", "calendar_id", "item_id"):
        names.setdefault(name, str(uuid.uuid4()))
    names.setdefault("reason_id", str(uuid.uuid4()))
    names.setdefault("template_id", str(uuid.uuid4()))
    names.setdefault("response_id", str(uuid.uuid4()))
    names.setdefault("unknown", "nothing")
    return path.replace("{unknown:path}", "{unknown}").format(**names)


def _example(schema: dict[str, Any], document: dict[str, Any], ids: dict[str, str]) -> Any:
    """The smallest value ``schema`` accepts (ids of arranged objects for id fields)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(document["components"]["schemas"][name], document, ids)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], document, ids) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        body = {}
        for name in schema.get("required", []):
            value = _example(schema["properties"].get(name, {}), document, ids)
            if name.endswith("_id") and name in ids and isinstance(value, str):
                value = ids[name]
            body[name] = value
        return body
    if kind == "array":
        count = schema.get("minItems", 0)
        return [_example(schema.get("items", {}), document, ids) for _ in range(count)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return datetime.now(UTC).isoformat()
        if fmt == "date":
            return date.today().isoformat()
        if fmt == "email":
            return "someone@example.org"
        return "x" * max(schema.get("minLength", 1), 1)
    return None


# Bodies whose rules across fields the smallest schema-valid value does not meet.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/departments/{department_id}/queue/bulk"): {
        "action": "status_note",
        "report_ids": ["{report_id}"],
        "text": "The crew comes on Monday.",
    },
    ("POST", "/v1/reports/{report_id}/responses"): {"outcome": "fixed", "text": "Patched."},
    ("POST", "/v1/me/idea-reviews/{review_id}/scores"): {
        "scores": {"relevance": 4, "feasibility": 3, "impact": 5},
        "comment": "Cheap and welcome.",
    },
    ("POST", "/v1/idea-areas/{area_id}/decisions"): {
        "round": "{round}",
        "decisions": [
            {
                "idea_id": "{committee_idea_id}",
                "rank": 1,
                "decision": "implement",
                "reasoning": "Fits this year's budget.",
            }
        ],
    },
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with the arranged ids put in (``"{round}"`` becomes a number)."""
    if isinstance(value, dict):
        return {name: _fill(item, ids) for name, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{"):
        filled = value.format(**ids)
        return int(filled) if filled.isdigit() else filled
    return value


def _body(document: dict[str, Any], method: str, path: str, ids: dict[str, str]) -> dict[str, Any]:
    if (method, path) in BODIES:
        return {"json": _fill(BODIES[(method, path)], ids)}
    operation = document["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return {"json": _example(content["application/json"]["schema"], document, ids)}
    if "application/x-www-form-urlencoded" in content:
        form = _example(content["application/x-www-form-urlencoded"]["schema"], document, ids)
        return {"data": form}
    if "multipart/form-data" in content:
        if path == "/v1/ideas/{idea_id}/photos":
            return {"files": {"file": ("photo.jpg", _jpeg(), "image/jpeg")}}
        if path == "/v1/ideas/{idea_id}/documents":
            return {"files": {"file": ("plan.pdf", _pdf(), "application/pdf")}}
        return {"files": {"file": ("photo.jpg", b"not an image", "image/jpeg")}}
    return {}


def _refused(status: int) -> bool:
    """401, 403 and 404 (an object the caller may not know of) refuse the caller."""
    return status in (401, 403, 404)


def _refused_by_function(status: int, body: Any) -> bool:
    """A refusal by the caller dependencies (not a rule of the domain, such as a report
    in the wrong state or a supervisor's decision)."""
    reason = body.get("reason") if isinstance(body, dict) else None
    return status == 401 or (status == 403 and reason in ACCESS_REASONS)


async def test_every_route_answers_each_caller_as_its_policy_says(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
    redis: Any,
    settings: Settings,
) -> None:
    arranged = await _arrange(app, client, session, settings)
    document = app.openapi()
    failures = []
    probed = 0
    for method, path, policy in _routes(app):
        assert policy is not None
        if is_web_path(path):
            continue  # pages sign in by cookie: tests/test_web_access.py probes them
        refusals = _expected_refusals(policy)
        callers = [
            "anonymous",
            "resident",
            "other_resident",
            "other_department",
            "admin_api_key",
            _right_caller(policy),
        ]
        if policy.objects is Objects.programmes:
            callers.append("other_coordinator")
        if policy.objects is Objects.departments:
            callers.append("other_supervisor")
        url = _path(method, path, arranged.ids)
        for caller in dict.fromkeys(callers):
            kwargs = _body(document, method, path, arranged.ids)
            # Each call in its own savepoint: what an allowed call changes is undone.
            savepoint = await connection.begin_nested()
            response = await client.request(method, url, headers=arranged.headers[caller], **kwargs)
            await savepoint.rollback()
            await redis.flushdb()  # rate limits counted by the calls before
            probed += 1
            try:
                body = response.json()
            except ValueError:
                body = None
            status = response.status_code
            if caller in refusals and not _refused(status):
                failures.append(f"{method} {path} as {caller}: {status}, not refused {body}")
            # Routes admitting by a token in the request answer 401 to the made-up ones here.
            if (
                caller not in refusals
                and policy.caller is not Caller.credentials
                and _refused_by_function(status, body)
            ):
                failures.append(f"{method} {path} as {caller}: refused {status} {body}")
            # The idea bank's objects are arranged so that each route admits its right caller.
            if caller == _right_caller(policy) and "/idea" in path and not 200 <= status < 300:
                failures.append(f"{method} {path} as {caller}: {status}, not admitted {body}")
            # /readyz answers 503 where no worker runs: that is its job.
            if response.status_code >= 500 and not path.startswith("/readyz"):
                failures.append(f"{method} {path} as {caller}: {response.status_code}")
    assert probed > 900
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    ("policy", "refused"),
    [
        (Policy(Caller.anyone), set()),
        (Policy(Caller.person), {"anonymous", "admin_api_key"}),
        (
            Policy(Caller.role, roles=frozenset({Role.admin})),
            {"anonymous", "admin_api_key", "resident", "other_resident", "other_department"},
        ),
        (
            Policy(Caller.scope, scope="reports:write", objects=Objects.own),
            {"anonymous", "admin_api_key", "other_resident", "other_department"},
        ),
    ],
)
def test_expected_refusals_follow_the_policy(policy: Policy, refused: set[str]) -> None:
    assert _expected_refusals(policy) == refused

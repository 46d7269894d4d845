"""Every living lab route for every kind of caller: anonymous, the tester, another resident,
staff, a lab manager, an admin, and an admin's API key. Pilots are run by lab managers (and
the idea office and admins) only; a participation and its tasks are their tester's only (404
for anyone else, the managers included); API keys never act in the lab."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.auth import service as auth
from service.auth.models import Role
from service.auth.schemas import ApiKeyCreate
from service.config import Settings
from tests.factories import actor_of, bearer, make_department, make_user
from tests.lab_factories import SURVEY_QUESTIONS, pilot_body, running_pilot, texts

CALLERS = (
    "anonymous",
    "tester",
    "other_resident",
    "staff",
    "lab_manager",
    "office",
    "admin",
    "api_key",
)
MANAGERS = {"lab_manager", "office", "admin"}


def _lab_routes(app: FastAPI) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        if isinstance(context.original_route, APIRoute) and path.startswith(
            ("/v1/lab", "/v1/me/lab")
        ):
            found.extend((method, path) for method in sorted(context.methods or ()))
    return found


def _expected(method: str, path: str, caller: str) -> str:
    """``ok`` (admitted: 2xx, or a 409/422 of the domain), or the refusal's status."""
    if path == "/v1/lab/consent":
        return "ok"
    if caller == "anonymous":
        return "401"
    if caller == "api_key":
        return "403"
    if path.startswith("/v1/lab/"):
        return "ok" if caller in MANAGERS else "403"
    if "{" in path:
        return "ok" if caller == "tester" else "404"
    if method == "GET" and path == "/v1/me/lab/panel" and caller != "tester":
        return "404"  # not on the panel
    if method == "DELETE" and caller != "tester":
        return "404"
    return "ok"


async def test_every_lab_route_for_every_caller(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
    settings: Settings,
    now: datetime,
) -> None:
    tester = await make_user(session, settings)
    running = await running_pilot(app, client, session, settings, [tester], now)
    participation, tester_headers = running.testers[tester.id]
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    department = await make_department(session)
    _, api_key = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="Partner", scopes=["reports:read", "reports:write"]),
        now,
    )
    headers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "tester": tester_headers,
        "other_resident": bearer(settings, await make_user(session, settings)),
        "staff": bearer(
            settings, await make_user(session, settings, roles=((Role.staff, department.id),))
        ),
        "lab_manager": running.manager,
        "office": bearer(
            settings, await make_user(session, settings, roles=((Role.idea_office, None),))
        ),
        "admin": bearer(settings, admin),
        "api_key": {"X-API-Key": api_key},
    }
    ids = {
        "pilot_id": running.pilot_id,
        "participation_id": participation,
        "task_id": running.task_id,
    }
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/lab/pilots"): pilot_body(),
        ("PATCH", "/v1/lab/pilots/{pilot_id}"): {"title": "Smart meter app, second look"},
        ("POST", "/v1/lab/pilots/{pilot_id}/transitions"): {"action": "finish"},
        ("POST", "/v1/lab/pilots/{pilot_id}/draws"): {"seed": 1},
        ("POST", "/v1/lab/pilots/{pilot_id}/tasks"): {
            "kind": "diary",
            "title": texts("Daily use"),
            "opens_at": now.isoformat(),
            "due_at": (now + timedelta(days=14)).isoformat(),
            "questions": SURVEY_QUESTIONS[:1],
        },
        ("PUT", "/v1/me/lab/panel"): {"consent_version": 1, "age_band": "65+"},
        ("POST", "/v1/me/lab/tasks/{task_id}/responses"): {
            "answers": [
                {"question_id": running.questions[0], "value": 5},
                {"question_id": running.questions[1], "value": "yes"},
                {"question_id": running.questions[2], "value": 12},
            ]
        },
    }
    routes = _lab_routes(app)
    assert len(routes) >= 20
    failures = []
    for method, path in routes:
        url = path.format(**ids)
        for caller in CALLERS:
            savepoint = await connection.begin_nested()
            answer = await client.request(
                method, url, headers=headers[caller], json=bodies.get((method, path))
            )
            await savepoint.rollback()
            expected = _expected(method, path, caller)
            status = answer.status_code
            admitted = status < 400 or status in (409, 422)
            if (expected == "ok" and not admitted) or (
                expected != "ok" and str(status) != expected
            ):
                failures.append(f"{method} {path} as {caller}: {status}, expected {expected}")
            if status >= 500:
                failures.append(f"{method} {path} as {caller}: {status}")
    assert failures == [], "\n".join(failures)


async def test_managers_see_no_tester_and_testers_no_pilot_management(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    tester = await make_user(session, settings, name="Kadri Katsetaja")
    running = await running_pilot(app, client, session, settings, [tester], now)
    participation, tester_headers = running.testers[tester.id]
    for path in ("", "/draws", "/recruitment", "/tasks", "/results", "/results.csv"):
        answer = await client.get(
            f"/v1/lab/pilots/{running.pilot_id}{path}", headers=running.manager
        )
        assert answer.status_code == 200, (path, answer.text)
        assert str(tester.id) not in answer.text and participation not in answer.text
        assert "Katsetaja" not in answer.text
    # A manager may not open a tester's participation, even knowing its id.
    peek = await client.get(f"/v1/me/lab/participations/{participation}", headers=running.manager)
    assert peek.status_code == 404
    mine = await client.get(f"/v1/me/lab/participations/{participation}", headers=tester_headers)
    assert mine.status_code == 200
    assert "Targad" in mine.text and "quotas" not in mine.text and "seed" not in mine.text

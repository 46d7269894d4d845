"""Every page of the web app declares who may open it (the same policies as the API's
routes, read from its dependencies), and answers each caller as its policy says: anonymous,
a resident, another resident, staff, a living lab manager, and an admin. A page for people
sends an anonymous reader to the sign-in page; a page for a role answers others with a 403
page; a page naming an object that is not there answers a 404 page — always HTML, never
JSON.

Objects of a particular person (their report, their idea) are probed in each area's tests:
here a path's objects are made-up ids, which every caller must get a 404 page for, exactly
as the API answers an object the caller may not know of.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.auth.policy import Caller, Policy, route_policy
from service.config import Settings
from service.main import create_app
from service.web.errors import is_web_path
from tests.factories import make_department, make_user
from tests.web_pages import sign_in


def _pages(app: FastAPI) -> list[tuple[str, str, Policy | None]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and is_web_path(str(context.path)):
            for method in sorted(context.methods or ()):
                found.append((method, str(context.path), route_policy(context.dependant)))
    return found


def test_every_page_declares_a_policy_and_posts_check_the_form_token() -> None:
    app = create_app()
    pages = _pages(app)
    assert any(path == "/" for _, path, _ in pages)
    assert [f"{m} {p}" for m, p, policy in pages if policy is None] == []
    unprotected = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not is_web_path(str(context.path)):
            continue
        if "POST" in (context.methods or ()):
            calls = {getattr(d.call, "__name__", "") for d in context.dependant.dependencies}
            if "form_check" not in calls:
                unprotected.append(str(context.path))
    assert unprotected == []


# Path parameters that name no object: a value the page takes.
VALUES = {"language": "en"}


def _filled(path: str) -> str:
    names = dict(VALUES)
    for part in path.split("{")[1:]:
        name = part.split("}")[0]
        names.setdefault(name.split(":")[0], str(uuid.uuid4()) if "id" in name else "NOPE99")
    for name in names:
        path = path.replace("{" + name + "}", names[name]).replace(
            "{" + name + ":path}", names[name]
        )
    return path


def _expected(policy: Policy, caller: str, has_objects: bool) -> set[int]:
    """The statuses a GET of the page may answer ``caller`` with."""
    signed_in = caller != "anonymous"
    if policy.caller in (Caller.person, Caller.verified_person, Caller.role) and not signed_in:
        return {303}
    if policy.caller is Caller.role:
        holds = {
            "staff": {Role.staff},
            "lab_manager": {Role.lab_manager},
            "admin": {Role.admin},
        }.get(caller, set())
        if not holds & policy.roles:
            return {403}
    if has_objects:
        return {404}
    return {200, 303}


async def test_every_page_answers_each_caller_as_its_policy_says(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    department = await make_department(session)
    people = {
        "resident": await make_user(session, settings),
        "other_resident": await make_user(session, settings),
        "staff": await make_user(session, settings, roles=((Role.staff, department.id),)),
        "lab_manager": await make_user(session, settings, roles=((Role.lab_manager, None),)),
        "admin": await make_user(session, settings, roles=((Role.admin, None),)),
    }
    failures = []
    probed = 0
    for caller in ("anonymous", *people):
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            if caller != "anonymous":
                await sign_in(client, people[caller].email)
            for method, path, policy in _pages(app):
                if method != "GET" or policy is None:
                    continue
                answer = await client.get(_filled(path))
                probed += 1
                # A control character in any query value is a 422 page, whoever asks.
                guarded = await client.get(_filled(path), params={"q": "a\x00b"})
                if guarded.status_code != 422:
                    failures.append(f"{caller} GET {path}?q=NUL: {guarded.status_code}")
                named = path
                for name in VALUES:
                    named = named.replace("{" + name + "}", "")
                objects = "{" in named
                expected = _expected(policy, caller, objects)
                kind = answer.headers.get("content-type", "")
                if answer.status_code not in expected or (
                    answer.status_code != 303
                    and not kind.startswith(("text/html", "image/", "application/pdf", "text/csv"))
                ):
                    failures.append(f"{caller} GET {path}: {answer.status_code} {kind}")
                if answer.status_code == 303 and expected == {303}:
                    assert answer.headers["location"].startswith("/sign-in?next=")
    assert probed >= 5
    assert failures == []


async def test_an_api_key_or_a_bearer_token_never_opens_a_page(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    """Pages read only the session cookie: an admin's API key or access token sent to a page
    is an anonymous visit (the sign-in page for pages of people, never the admin's view)."""
    from service.auth import service as auth
    from service.auth.schemas import ApiKeyCreate
    from tests.factories import actor_of, bearer

    admin = await make_user(session, settings, roles=((Role.admin, None),))
    _, key = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="pages", scopes=["reports:read"]),
        datetime.now(UTC),
    )
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        for headers in ({"X-API-Key": key}, bearer(settings, admin)):
            for path in ("/staff/admin", "/my/reports", "/staff"):
                answer = await client.get(path, headers=headers)
                assert answer.status_code == 303, (path, answer.status_code)
                assert answer.headers["location"].startswith("/sign-in?next=")

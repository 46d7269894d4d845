"""Every feedback route against callers it must turn away: no credentials (401, unless the
route is public), an API key where a person must act (403), and a malformed id or body
(422), each as a problem document."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.models import Role
from service.auth.schemas import ApiKeyCreate
from service.auth.scopes import Scope
from service.config import Settings
from tests.factories import actor_of, bearer, make_user

ANY = str(uuid.uuid4())
# (method, path, body); "{id}" is replaced by a well-formed or a malformed id.
PRIVATE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/reports/{id}/response-templates", None),
    ("POST", "/v1/reports/{id}/responses", {"outcome": "fixed", "text": "Done."}),
    ("GET", "/v1/moderation/answers", None),
    ("POST", "/v1/moderation/answers/{id}/approve", None),
    ("POST", "/v1/moderation/answers/{id}/return", {"comment": "Why?"}),
    ("POST", "/v1/reports/{id}/rating", {"score": 3, "resolved": True}),
    ("GET", "/v1/reports/{id}/rating", None),
    ("POST", "/v1/reports/{id}/referral/close", {"note": "Closed."}),
    ("GET", "/v1/departments/{id}/stats", None),
    ("GET", "/v1/admin/response-templates", None),
    ("POST", "/v1/admin/response-templates", {"code": "x", "texts": {"et": "x"}}),
    ("GET", "/v1/admin/response-templates/{id}", None),
    ("PATCH", "/v1/admin/response-templates/{id}", {"active": False}),
    ("DELETE", "/v1/admin/response-templates/{id}", None),
]
# Routes where a person acts, never an API key, whatever its scopes.
PEOPLE_ONLY = [route for route in PRIVATE_ROUTES if "rating" not in route[1]]


async def _call(
    client: AsyncClient,
    route: tuple[str, str, dict[str, Any] | None],
    identifier: str,
    headers: dict[str, str] | None = None,
) -> Any:
    method, path, body = route
    return await client.request(
        method, path.replace("{id}", identifier), json=body, headers=headers or {}
    )


@pytest.mark.parametrize("route", PRIVATE_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
async def test_without_credentials_the_answer_is_401(
    client: AsyncClient, route: tuple[str, str, dict[str, Any] | None]
) -> None:
    response = await _call(client, route, ANY)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "WWW-Authenticate" in response.headers


async def test_an_api_key_does_not_act_as_its_owner(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    _, secret = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="partner", scopes=list(Scope)),
        datetime.now(UTC),
    )
    for route in PEOPLE_ONLY:
        response = await _call(client, route, ANY, {"X-API-Key": secret})
        assert response.status_code == 403, route


@pytest.mark.parametrize(
    "route",
    [r for r in PRIVATE_ROUTES if "{id}" in r[1]],
    ids=lambda r: f"{r[0]} {r[1]}",
)
async def test_a_malformed_id_is_422(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    route: tuple[str, str, dict[str, Any] | None],
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    response = await _call(client, route, "not-an-id", bearer(settings, admin))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_public_routes_answer_without_credentials(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    assert (await client.get(f"/v1/reports/{ANY}/responses")).status_code == 404
    assert (await client.get("/v1/reports/not-an-id/responses")).status_code == 422
    assert (await client.get("/v1/stats/departments")).status_code == 200
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    for params in ({"limit": 0}, {"cursor": "garbage"}):
        refused = await client.get(
            "/v1/moderation/answers", params=params, headers=bearer(settings, moderator)
        )
        assert refused.status_code == 422, params

"""Role grants, disabling accounts and API keys: admin endpoints and their policies."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth.models import ApiKey, Role
from service.config import Settings
from tests.factories import bearer, make_department, make_user


async def _admin(session: AsyncSession, settings: Settings):
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    return admin, bearer(settings, admin)


async def test_role_endpoints_need_an_admin(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    target = await make_user(session, settings)
    url = f"/v1/admin/users/{target.id}/roles"
    assert (await client.get(url)).status_code == 401
    for user in (resident, moderator):
        response = await client.post(
            url, json={"role": "moderator"}, headers=bearer(settings, user)
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        await client.get("/v1/admin/users", headers=bearer(settings, resident))
    ).status_code == 403


async def test_grant_list_and_revoke_roles(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin, headers = await _admin(session, settings)
    department = await make_department(session)
    target = await make_user(session, settings)
    url = f"/v1/admin/users/{target.id}/roles"

    unscoped_staff = await client.post(url, json={"role": "staff"}, headers=headers)
    assert unscoped_staff.status_code == 422
    assert unscoped_staff.json()["field"] == "department_id"
    scoped_moderator = await client.post(
        url, json={"role": "moderator", "department_id": str(department.id)}, headers=headers
    )
    assert scoped_moderator.status_code == 422
    unknown_department = await client.post(
        url, json={"role": "staff", "department_id": str(uuid.uuid4())}, headers=headers
    )
    assert unknown_department.status_code == 422
    assert unknown_department.json()["field"] == "department_id"
    unknown_building = await client.post(
        url, json={"role": "ambassador", "building_id": str(uuid.uuid4())}, headers=headers
    )
    assert unknown_building.status_code == 422
    assert unknown_building.json()["field"] == "building_id"
    bad_role = await client.post(url, json={"role": "emperor"}, headers=headers)
    assert bad_role.status_code == 422

    granted = await client.post(
        url, json={"role": "staff", "department_id": str(department.id)}, headers=headers
    )
    assert granted.status_code == 201, granted.text
    duplicate = await client.post(
        url, json={"role": "staff", "department_id": str(department.id)}, headers=headers
    )
    assert duplicate.status_code == 409
    assert (await client.post(url, json={"role": "moderator"}, headers=headers)).status_code == 201
    assert (await client.post(url, json={"role": "moderator"}, headers=headers)).status_code == 409

    listed = (await client.get(url, headers=headers)).json()
    assert {(g["role"], g["department_id"]) for g in listed} == {
        ("staff", str(department.id)),
        ("moderator", None),
    }
    # The grant works at once: the target's /v1/me shows it.
    me = (await client.get("/v1/me", headers=bearer(settings, target))).json()
    assert {g["role"] for g in me["roles"]} == {"staff", "moderator"}

    grant_id = granted.json()["id"]
    # A grant id under another user's URL is not found.
    other = await make_user(session, settings)
    wrong_owner = await client.delete(
        f"/v1/admin/users/{other.id}/roles/{grant_id}", headers=headers
    )
    assert wrong_owner.status_code == 404
    assert (await client.delete(f"{url}/{grant_id}", headers=headers)).status_code == 204
    assert (await client.delete(f"{url}/{grant_id}", headers=headers)).status_code == 404

    actions = (
        (
            await session.execute(
                select(AuditEvent.action).where(AuditEvent.subject_id == str(target.id))
            )
        )
        .scalars()
        .all()
    )
    assert actions.count("role.granted") == 2
    assert actions.count("role.revoked") == 1


async def test_unknown_user_is_404(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, headers = await _admin(session, settings)
    missing = uuid.uuid4()
    assert (await client.get(f"/v1/admin/users/{missing}", headers=headers)).status_code == 404
    response = await client.post(
        f"/v1/admin/users/{missing}/roles", json={"role": "moderator"}, headers=headers
    )
    assert response.status_code == 404
    assert (await client.get("/v1/admin/users/not-a-uuid", headers=headers)).status_code == 422


async def test_admin_cannot_lock_themselves_out(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin, headers = await _admin(session, settings)
    grants = (await client.get(f"/v1/admin/users/{admin.id}/roles", headers=headers)).json()
    own_admin = next(g for g in grants if g["role"] == "admin")
    response = await client.delete(
        f"/v1/admin/users/{admin.id}/roles/{own_admin['id']}", headers=headers
    )
    assert response.status_code == 409
    assert (
        await client.post(f"/v1/admin/users/{admin.id}/disable", headers=headers)
    ).status_code == 409


async def test_disable_and_enable_a_user(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, headers = await _admin(session, settings)
    target = await make_user(session, settings)
    target_headers = bearer(settings, target)
    disabled = await client.post(f"/v1/admin/users/{target.id}/disable", headers=headers)
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert (await client.get("/v1/me", headers=target_headers)).status_code == 401
    enabled = await client.post(f"/v1/admin/users/{target.id}/enable", headers=headers)
    assert enabled.json()["disabled"] is False
    assert (await client.get("/v1/me", headers=target_headers)).status_code == 200


async def test_user_list_search_and_pagination(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, headers = await _admin(session, settings)
    for number in range(5):
        await make_user(session, settings, email=f"pager{number}@example.org")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": "pager", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/admin/users", params=params, headers=headers)).json()
        seen += [item["email"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"pager{n}@example.org" for n in range(5)]
    # LIKE wildcards in the query are literal.
    wildcard = await client.get("/v1/admin/users", params={"q": "%"}, headers=headers)
    assert wildcard.json()["items"] == []
    too_big = await client.get("/v1/admin/users", params={"limit": 1000}, headers=headers)
    assert too_big.status_code == 422
    bad_cursor = await client.get("/v1/admin/users", params={"cursor": "!!"}, headers=headers)
    assert bad_cursor.status_code == 422


async def test_api_key_lifecycle(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin, headers = await _admin(session, settings)
    created = await client.post(
        "/v1/api-keys",
        json={
            "name": "FixMyTartu app",
            "scopes": ["reports:write"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("mk_")

    stored = (await session.execute(select(ApiKey))).scalar_one()
    assert key not in stored.key_hash and stored.key_hash != key

    listed = await client.get("/v1/api-keys", headers=headers)
    assert listed.status_code == 200
    assert "key" not in listed.json()[0]
    assert key not in listed.text

    as_key = await client.get("/v1/me", headers={"X-API-Key": key})
    assert as_key.status_code == 200
    assert as_key.json()["id"] == str(admin.id)  # a key acts for its creator
    await session.refresh(stored)
    assert stored.last_used_at is not None

    wrong = await client.get("/v1/me", headers={"X-API-Key": key + "x"})
    assert wrong.status_code == 401

    revoked = await client.delete(f"/v1/api-keys/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/me", headers={"X-API-Key": key})).status_code == 401
    assert (await client.delete(f"/v1/api-keys/{uuid.uuid4()}", headers=headers)).status_code == 404

    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert {"api_key.created", "api_key.revoked"} <= set(actions)


async def test_api_keys_need_an_admin_person(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin, headers = await _admin(session, settings)
    resident = await make_user(session, settings)
    body = {"name": "k", "scopes": ["reports:read"]}
    assert (await client.post("/v1/api-keys", json=body)).status_code == 401
    assert (
        await client.post("/v1/api-keys", json=body, headers=bearer(settings, resident))
    ).status_code == 403
    assert (
        await client.post("/v1/api-keys", json={"name": "k", "scopes": ["root"]}, headers=headers)
    ).status_code == 422
    assert (
        await client.post("/v1/api-keys", json={"name": "k", "scopes": []}, headers=headers)
    ).status_code == 422
    # A key owned by an admin still cannot administer.
    admin_key = (await client.post("/v1/api-keys", json=body, headers=headers)).json()["key"]
    response = await client.get("/v1/api-keys", headers={"X-API-Key": admin_key})
    assert response.status_code == 403

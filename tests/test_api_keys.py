"""API keys act only through their scopes: never through their owner's roles, not even roles
the owner gets after the key was made, and not after ``expires_at``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.models import ApiKey, Role, User
from service.auth.schemas import ApiKeyCreate
from service.auth.scopes import Scope
from service.config import Settings
from service.reports.states import ReportState
from tests.factories import bearer, file_report, make_user

EVERY_SCOPE = [scope.value for scope in Scope]


async def _admin(session: AsyncSession, settings: Settings) -> tuple[User, dict[str, str]]:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    return admin, bearer(settings, admin)


async def _create_key(
    client: AsyncClient, admin_headers: dict[str, str], **fields: object
) -> dict[str, object]:
    response = await client.post(
        "/v1/api-keys", json={"name": "Partner app", **fields}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def _operator_key(session: AsyncSession, owner: User, scopes: list[Scope]) -> str:
    """A key for another account, as only the operator's command line may make one."""
    _, secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name="Partner app", scopes=scopes, owner_id=owner.id),
        datetime.now(UTC),
    )
    return secret


async def test_an_admin_cannot_make_a_key_owned_by_someone_else(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """A key for a resident would let the admin act as the resident (file, rate, withdraw
    in their name): a key acts for the account that creates it."""
    admin, admin_headers = await _admin(session, settings)
    resident = await make_user(session, settings, name="Resident")
    refused = await client.post(
        "/v1/api-keys",
        json={"name": "as Mari", "scopes": ["reports:write"], "owner_id": str(resident.id)},
        headers=admin_headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "not_own_key"
    assert (await session.execute(select(ApiKey))).first() is None
    # Naming oneself, or no one, makes the admin's own key.
    own = await _create_key(client, admin_headers, scopes=["reports:read"], owner_id=str(admin.id))
    assert own["owner_id"] == str(admin.id)
    mine = await _create_key(client, admin_headers, scopes=["reports:read"])
    assert mine["owner_id"] == str(admin.id)


async def test_a_key_an_admin_makes_for_a_partner_app_cannot_moderate_or_administer(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, admin_headers = await _admin(session, settings)
    # The admin's own key (no owner_id), with every scope there is.
    created = await _create_key(client, admin_headers, scopes=EVERY_SCOPE)
    key = {"X-API-Key": str(created["key"])}
    reporter = await make_user(session, settings)
    report = await file_report(session, reporter)

    queue = await client.get("/v1/moderation/queue", headers=key)
    assert queue.status_code == 403
    assert queue.json()["reason"] == "api_key_not_allowed"
    assert reporter.email not in queue.text
    assert (await client.get("/v1/admin/users", headers=key)).status_code == 403
    bulk = await client.post(
        "/v1/moderation/bulk",
        json={"action": "reject", "ids": [str(report.id)], "code": "other", "text": "spam"},
        headers=key,
    )
    assert bulk.status_code == 403
    await session.refresh(report)
    assert report.state == ReportState.submitted
    # The admin in person may do all three.
    assert (await client.get("/v1/moderation/queue", headers=admin_headers)).status_code == 200
    assert (await client.get("/v1/admin/users", headers=admin_headers)).status_code == 200


async def test_a_key_never_gains_a_role_its_owner_gets_later(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, admin_headers = await _admin(session, settings)
    partner = await make_user(session, settings, name="Partner")
    key = {"X-API-Key": await _operator_key(session, partner, [Scope.reports_write])}
    assert (await client.get("/v1/moderation/queue", headers=key)).status_code == 403

    granted = await client.post(
        f"/v1/admin/users/{partner.id}/roles", json={"role": "moderator"}, headers=admin_headers
    )
    assert granted.status_code == 201
    assert (
        await client.get("/v1/moderation/queue", headers=bearer(settings, partner))
    ).status_code == 200
    assert (await client.get("/v1/moderation/queue", headers=key)).status_code == 403
    granted = await client.post(
        f"/v1/admin/users/{partner.id}/roles", json={"role": "admin"}, headers=admin_headers
    )
    assert granted.status_code == 201
    assert (await client.get("/v1/admin/users", headers=key)).status_code == 403


async def test_reports_private_is_grantable(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, admin_headers = await _admin(session, settings)
    created = await _create_key(client, admin_headers, scopes=["reports:private"])
    assert created["scopes"] == ["reports:private"]
    stored = (await session.execute(select(ApiKey))).scalar_one()
    assert stored.scopes == ["reports:private"]


async def test_a_key_may_expire(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, admin_headers = await _admin(session, settings)
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = await _create_key(
        client, admin_headers, scopes=["reports:write"], expires_at=until.isoformat()
    )
    assert datetime.fromisoformat(str(created["expires_at"])) == until
    listed = (await client.get("/v1/api-keys", headers=admin_headers)).json()
    assert [datetime.fromisoformat(k["expires_at"]) for k in listed] == [until]
    key = {"X-API-Key": str(created["key"])}
    assert (await client.get("/v1/me", headers=key)).status_code == 200

    # Time passes: the key is refused like a revoked one.
    stored = (await session.execute(select(ApiKey))).scalar_one()
    stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.flush()
    expired = await client.get("/v1/me", headers=key)
    assert expired.status_code == 401
    assert expired.json()["detail"] == "The API key is not valid."

    never = await _create_key(client, admin_headers, scopes=["reports:read"])
    assert never["expires_at"] is None


async def test_an_expiry_must_be_a_future_instant_with_an_offset(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, admin_headers = await _admin(session, settings)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    for value in (past, naive, "next tuesday"):
        response = await client.post(
            "/v1/api-keys",
            json={"name": "k", "scopes": ["reports:read"], "expires_at": value},
            headers=admin_headers,
        )
        assert response.status_code == 422, value
    assert (await session.execute(select(ApiKey))).first() is None


async def test_a_key_cannot_change_its_owners_account_or_sessions(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, admin_headers = await _admin(session, settings)
    partner = await make_user(session, settings, name="Partner", verified=False)
    key = {"X-API-Key": await _operator_key(session, partner, list(Scope))}
    assert (await client.get("/v1/me", headers=key)).status_code == 200  # whom it acts for
    for method, url, body in (
        ("PATCH", "/v1/me", {"display_name": "Hijacked"}),
        ("POST", "/v1/me/password", {"current_password": "x", "new_password": "y" * 12}),
        ("POST", "/v1/auth/logout-all", None),
        ("POST", "/v1/auth/verify/resend", None),
    ):
        response = await client.request(method, url, json=body, headers=key)
        assert response.status_code == 403, url
    await session.refresh(partner)
    assert partner.display_name == "Partner"

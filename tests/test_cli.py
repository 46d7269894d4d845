"""The operator commands, run against the test database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.auth import repository
from service.auth.models import ApiKey
from service.cli import run
from service.config import Settings
from tests.factories import make_department, make_user


async def test_create_admin_grant_role_and_api_key(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    settings: Settings,
    client: AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEIELINN_ADMIN_PASSWORD", "operator chosen secret")
    out = await run(["create-admin", "--email", "ops@city.example"], sessionmaker, settings)
    assert "ops@city.example" in out
    login = await client.post(
        "/v1/auth/token",
        data={"username": "ops@city.example", "password": "operator chosen secret"},
    )
    assert login.status_code == 200
    me = await client.get(
        "/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert [g["role"] for g in me.json()["roles"]] == ["admin"]
    assert me.json()["email_verified"] is True

    department = await make_department(session, code="t-roads")
    await session.commit()
    out = await run(
        ["grant-role", "--email", "ops@city.example", "--role", "staff", "--department", "t-roads"],
        sessionmaker,
        settings,
    )
    assert out == "granted staff to ops@city.example"
    user = await repository.user_by_email(session, "ops@city.example")
    assert user is not None
    grants = await repository.grants_of(session, user.id)
    assert {(g.role, g.department_id) for g in grants} == {
        ("admin", None),
        ("staff", department.id),
    }

    with pytest.raises(SystemExit):
        await run(
            [
                "grant-role",
                "--email",
                "ops@city.example",
                "--role",
                "staff",
                "--department",
                "nope",
            ],
            sessionmaker,
            settings,
        )

    out = await run(
        [
            "create-api-key",
            "--owner",
            "ops@city.example",
            "--name",
            "311",
            "--scope",
            "open311:write",
        ],
        sessionmaker,
        settings,
    )
    key = out.splitlines()[1]
    assert key.startswith("mk_")
    assert (await client.get("/v1/me", headers={"X-API-Key": key})).status_code == 200


async def test_create_api_key_with_an_expiry(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    settings: Settings,
    client: AsyncClient,
) -> None:
    owner = await make_user(session, settings, email="partner@city.example")
    await session.commit()
    out = await run(
        [
            "create-api-key",
            "--owner",
            owner.email,
            "--name",
            "Partner app",
            "--scope",
            "reports:private",
            "--expires-at",
            "2099-01-01T00:00:00+02:00",
        ],
        sessionmaker,
        settings,
    )
    assert "until 2099-01-01T00:00:00+02:00" in out.splitlines()[0]
    key = out.splitlines()[1]
    stored = (await session.execute(select(ApiKey))).scalar_one()
    assert stored.expires_at == datetime(2098, 12, 31, 22, 0, tzinfo=UTC)
    assert stored.scopes == ["reports:private"]
    assert (await client.get("/v1/me", headers={"X-API-Key": key})).status_code == 200

    for bad in (["--expires-at", "2099-01-01T00:00:00"], ["--expires-at", "soon"], []):
        with pytest.raises(SystemExit):
            await run(
                [
                    "create-api-key",
                    "--owner",
                    owner.email,
                    "--name",
                    "x",
                    "--scope",
                    "root" if not bad else "reports:read",
                    *bad,
                ],
                sessionmaker,
                settings,
            )

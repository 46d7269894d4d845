"""A password change, a password reset and "sign out everywhere" end every session, access
tokens included (``User.sessions_valid_after`` against the token's ``iat``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth.models import User
from service.auth.tokens import issue_access_token
from service.config import Settings
from tests.conftest import Mailbox, RunWorker
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "another long passphrase"


async def _login(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


def _auth(pair: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def _me(client: AsyncClient, pair: dict[str, str]) -> int:
    return (await client.get("/v1/me", headers=_auth(pair))).status_code


async def _refresh(client: AsyncClient, pair: dict[str, str]) -> Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})


async def test_changing_the_password_ends_every_session_and_starts_a_new_one(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    laptop = await _login(client, user.email)
    phone = await _login(client, user.email)

    changed = await client.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=_auth(laptop),
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert fresh["token_type"] == "bearer"

    for old in (laptop, phone):
        assert await _me(client, old) == 401
        assert (await _refresh(client, old)).status_code == 401
    assert await _me(client, fresh) == 200
    assert (await _refresh(client, fresh)).status_code == 200
    assert (
        await client.post("/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    ).status_code == 401
    assert await _me(client, await _login(client, user.email, NEW_PASSWORD)) == 200
    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert "user.password_changed" in actions


async def test_changing_the_password_needs_the_current_one(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    pair = await _login(client, user.email)
    wrong = await client.post(
        "/v1/me/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=_auth(pair),
    )
    assert wrong.status_code == 403
    assert wrong.json()["field"] == "current_password"
    assert await _me(client, pair) == 200  # nothing ended
    for body in (
        {"new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": "short"},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"},
    ):
        response = await client.post("/v1/me/password", json=body, headers=_auth(pair))
        assert response.status_code == 422, body
    anonymous = await client.post(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert anonymous.status_code == 401
    # The name and language form no longer takes a password.
    patched = await client.patch(
        "/v1/me",
        json={"new_password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=_auth(pair),
    )
    assert patched.status_code == 422


async def test_a_password_reset_ends_existing_access_tokens(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    user = await make_user(session, settings)
    pair = await _login(client, user.email)
    assert (
        await client.post("/v1/auth/password-reset", json={"email": user.email})
    ).status_code == 202
    await run_worker()
    [mail] = mailbox.to(user.email)
    match = re.search(r"(?:Code|Kood|Код): (\S+)", mail.get_content())
    assert match
    done = await client.post(
        "/v1/auth/password-reset/confirm",
        json={"token": match.group(1), "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 204
    assert await _me(client, pair) == 401
    assert (await _refresh(client, pair)).status_code == 401
    assert await _me(client, await _login(client, user.email, NEW_PASSWORD)) == 200


async def test_sign_out_everywhere(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    other = await make_user(session, settings)
    laptop = await _login(client, user.email)
    phone = await _login(client, user.email)
    bystander = await _login(client, other.email)

    assert (await client.post("/v1/auth/logout-all")).status_code == 401
    ended = await client.post("/v1/auth/logout-all", headers=_auth(phone))
    assert ended.status_code == 204
    for old in (laptop, phone):
        assert await _me(client, old) == 401
        assert (await _refresh(client, old)).status_code == 401
    # Only this account's sessions ended; signing in again works at once.
    assert await _me(client, bystander) == 200
    assert await _me(client, await _login(client, user.email)) == 200
    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert "auth.logout_everywhere" in actions


async def test_a_token_issued_a_microsecond_before_the_end_is_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    ended_at = datetime.now(UTC).replace(microsecond=500_000)
    stored = await session.get(User, user.id)
    assert stored is not None
    stored.sessions_valid_after = ended_at
    await session.flush()
    # Same second, either side of the instant: whole-second ``iat`` could not tell them apart.
    before = issue_access_token(settings, user.id, ended_at - timedelta(microseconds=1))
    at = issue_access_token(settings, user.id, ended_at)
    later = issue_access_token(settings, user.id, ended_at + timedelta(milliseconds=300))
    statuses = [
        (await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code
        for token in (before, at, later)
    ]
    assert statuses == [401, 200, 200]

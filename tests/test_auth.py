"""Registration, verification, sign-in, tokens, password reset and the /v1/me endpoints."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth.models import User
from service.auth.passwords import hash_password, verify_password
from service.config import Environment, Settings
from service.mail.models import DeliveryStatus, EmailMessage
from tests.conftest import Mailbox, RunWorker
from tests.factories import PASSWORD, bearer, make_user
from tests.fuzzing import assert_documented

PROBLEM = "application/problem+json"


def _code(mail_body: str) -> str:
    match = re.search(r"(?:Code|Kood|Код): (\S+)", mail_body)
    assert match, mail_body
    return match.group(1)


async def _login(client: AsyncClient, email: str, password: str = PASSWORD):
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


async def test_register_verify_login_end_to_end(
    client: AsyncClient, mailbox: Mailbox, run_worker: RunWorker, session: AsyncSession
) -> None:
    response = await client.post(
        "/v1/auth/register",
        json={
            "email": "Mari.Maasikas@example.org",
            "password": "a long enough passphrase",
            "display_name": "Mari Maasikas",
            "language": "en",
        },
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    assert "password" not in response.text and "hash" not in response.text

    # Nothing is sent until the worker delivers the outbox.
    assert mailbox.to("Mari.Maasikas@example.org") == []
    worker = await run_worker()
    assert worker.jobs_failed == 0
    [mail] = mailbox.to("Mari.Maasikas@example.org")
    assert mail["Subject"] == "Confirm your email address"
    code = _code(mail.get_content())
    stored = (await session.execute(select(EmailMessage))).scalar_one()
    assert stored.status == DeliveryStatus.sent

    # A second worker run sends nothing again.
    await run_worker()
    assert len(mailbox.to("Mari.Maasikas@example.org")) == 1

    # Unverified users may sign in.
    assert (
        await _login(client, "mari.maasikas@example.org", "a long enough passphrase")
    ).status_code == 200

    verified = await client.post("/v1/auth/verify", json={"token": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True

    again = await client.post("/v1/auth/verify", json={"token": code})
    assert again.status_code == 422
    assert again.headers["content-type"] == PROBLEM

    login = await _login(client, "MARI.maasikas@example.org", "a long enough passphrase")
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "Mari.Maasikas@example.org"
    assert me.json()["email_verified"] is True


async def test_verification_email_is_in_the_users_language(
    client: AsyncClient, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    for language, subject in (("et", "Kinnitage"), ("ru", "Подтвердите")):
        email = f"{language}@example.org"
        response = await client.post(
            "/v1/auth/register",
            json={"email": email, "password": "x" * 12, "display_name": "N", "language": language},
        )
        assert response.status_code == 202
        await run_worker()
        [mail] = mailbox.to(email)
        assert mail["Subject"].startswith(subject)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-address", "password": "x" * 12, "display_name": "A"}, "email"),
        ({"email": "a@example.org", "password": "short", "display_name": "A"}, "password"),
        ({"email": "a@example.org", "password": "x" * 12, "display_name": "  "}, "display_name"),
        (
            {"email": "a@example.org", "password": "x" * 12, "display_name": "A", "language": "fi"},
            "language",
        ),
        ({"email": "a@example.org", "password": "x" * 129, "display_name": "A"}, "password"),
    ],
)
async def test_register_validation(
    client: AsyncClient, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/v1/auth/register", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert field in {error["loc"][-1] for error in response.json()["errors"]}


async def test_registration_is_rate_limited_per_address(
    client: AsyncClient, app, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"registrations_per_hour_per_ip": 2})
    for number in range(2):
        response = await client.post(
            "/v1/auth/register",
            json={"email": f"r{number}@example.org", "password": "x" * 12, "display_name": "R"},
        )
        assert response.status_code == 202
    blocked = await client.post(
        "/v1/auth/register",
        json={"email": "r9@example.org", "password": "x" * 12, "display_name": "R"},
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["ratelimit-remaining"] == "0"


async def test_bad_credentials_do_not_reveal_whether_the_account_exists(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    wrong_password = await _login(client, user.email, "wrong password!")
    unknown = await _login(client, "nobody@example.org", "wrong password!")
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json()["detail"] == unknown.json()["detail"]
    assert wrong_password.headers["www-authenticate"].startswith("Bearer")


async def test_failed_login_is_audited_although_the_request_failed(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    assert (await _login(client, user.email, "wrong password!")).status_code == 401
    events = (
        (await session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")))
        .scalars()
        .all()
    )
    assert [e.subject_id for e in events] == [str(user.id)]
    assert str(events[0].ip) == "127.0.0.1"
    assert (await _login(client, user.email)).status_code == 200
    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert "auth.login" in actions


async def test_disabled_account_cannot_sign_in_or_use_its_token(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    headers = bearer(settings, user)
    user.disabled_at = datetime.now(UTC)
    await session.flush()
    assert (await _login(client, user.email)).status_code == 401
    assert (await client.get("/v1/me", headers=headers)).status_code == 401


def _forge(settings: Settings, user: User, **changes) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": "x",
        "typ": "access",
    } | changes
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")


async def test_access_token_validation(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    good = _forge(settings, user)
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200

    expired = _forge(settings, user, exp=datetime.now(UTC) - timedelta(minutes=1))
    wrong_audience = _forge(settings, user, aud="someone-else")
    wrong_issuer = _forge(settings, user, iss="evil")
    header, payload, signature = good.split(".")
    tampered_payload = (
        base64.urlsafe_b64encode(
            json.dumps(
                {**jwt.decode(good, options={"verify_signature": False}), "sub": "0" * 32}
            ).encode()
        )
        .decode()
        .rstrip("=")
    )
    tampered = f"{header}.{tampered_payload}.{signature}"
    bad_signature = f"{header}.{payload}.{signature[:-4]}AAAA"
    unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    alg_none = f"{unsigned_header}.{payload}."
    other_key = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}),
        "another-key-entirely-0123456789ab",
        algorithm="HS256",
    )
    missing_jti = jwt.encode(
        {
            k: v
            for k, v in jwt.decode(good, options={"verify_signature": False}).items()
            if k != "jti"
        },
        settings.secret_key.get_secret_value(),
        algorithm="HS256",
    )
    for name, token in {
        "expired": expired,
        "wrong audience": wrong_audience,
        "wrong issuer": wrong_issuer,
        "tampered payload": tampered,
        "bad signature": bad_signature,
        "alg none": alg_none,
        "other key": other_key,
        "missing jti": missing_jti,
        "garbage": "not.a.jwt",
    }.items():
        response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith("Bearer"), name


async def test_me_needs_credentials(client: AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == PROBLEM


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    first = (await _login(client, user.email)).json()
    second = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]

    # The rotated token comes back: someone copied it. Both holders are signed out.
    reuse = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    latest = await client.post(
        "/v1/auth/refresh", json={"refresh_token": second_pair["refresh_token"]}
    )
    assert latest.status_code == 401
    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert "auth.refresh_reused" in actions

    # Another sign-in (another family) is untouched.
    other = (await _login(client, user.email)).json()
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 200


async def test_refresh_validation_and_unknown_token(client: AsyncClient) -> None:
    assert (await client.post("/v1/auth/refresh", json={})).status_code == 422
    unknown = await client.post("/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 401


async def test_logout_revokes_the_refresh_token(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    pair = (await _login(client, user.email)).json()
    assert (
        await client.post("/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 204
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401


async def test_password_reset_by_email(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    user = await make_user(session, settings)
    old_pair = (await _login(client, user.email)).json()

    unknown = await client.post("/v1/auth/password-reset", json={"email": "ghost@example.org"})
    known = await client.post("/v1/auth/password-reset", json={"email": user.email})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    await run_worker()
    assert mailbox.to("ghost@example.org") == []
    [mail] = mailbox.to(user.email)
    code = _code(mail.get_content())

    bad = await client.post(
        "/v1/auth/password-reset/confirm",
        json={"token": "y" * 43, "new_password": "brand new secret"},
    )
    assert bad.status_code == 422
    done = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": code, "new_password": "brand new secret"}
    )
    assert done.status_code == 204
    assert (await _login(client, user.email)).status_code == 401
    assert (await _login(client, user.email, "brand new secret")).status_code == 200
    # Sessions started with the old password are gone.
    stale = await client.post("/v1/auth/refresh", json={"refresh_token": old_pair["refresh_token"]})
    assert stale.status_code == 401


async def test_patch_me(client: AsyncClient, session: AsyncSession, settings: Settings) -> None:
    user = await make_user(session, settings)
    headers = bearer(settings, user)
    renamed = await client.patch(
        "/v1/me", json={"display_name": "Jaan", "language": "ru"}, headers=headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["display_name"] == "Jaan"
    assert renamed.json()["language"] == "ru"

    assert (await client.patch("/v1/me", json={"display_name": "X"})).status_code == 401
    assert (
        await client.patch("/v1/me", json={"role": "admin"}, headers=headers)
    ).status_code == 422


async def test_password_rehashed_on_login_when_parameters_change(
    client: AsyncClient, app, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    old_hash = user.password_hash
    stronger = settings.model_copy(update={"argon2_time_cost": 2})
    app.state.settings = stronger
    assert (await _login(client, user.email)).status_code == 200
    await session.refresh(user)
    assert user.password_hash != old_hash
    assert "t=2" in user.password_hash
    assert await verify_password(stronger, user.password_hash, PASSWORD)


async def test_unknown_account_still_costs_a_hash() -> None:
    # The dummy verification runs the real hasher, and never admits anyone.
    settings = Settings(
        env=Environment.test, argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1
    )
    assert await verify_password(settings, None, "anything") is False
    real = await hash_password(settings, "anything")
    assert await verify_password(settings, real, "anything") is True


def test_settings_refuse_weak_hashing_and_default_secret_outside_tests() -> None:
    with pytest.raises(ValueError, match="OWASP"):
        Settings(env=Environment.development, argon2_memory_kib=1024)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(env=Environment.production)
    Settings(  # a real key is fine
        env=Environment.production,
        secret_key="z" * 40,
        encryption_keys="a2V5LWZvci10aGUtdGVzdHMtb2YtdGhlLXNldHRpbmc=",
    )


@pytest.mark.parametrize(
    "path",
    ["/v1/reports", "/v1/training/programmes", "/v1/training/coverage"],
)
async def test_a_bad_token_on_a_public_route_is_a_documented_401(
    client: AsyncClient, path: str
) -> None:
    # Public routes that show more to signed-in callers check a token when one is sent; the
    # document did not list their 401.
    response = await client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert_documented(response, "get", path)

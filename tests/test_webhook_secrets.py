"""Webhook signing secrets are stored encrypted under MEIELINN_ENCRYPTION_KEYS: not in the
row, readable with the keys (the first encrypts, each decrypts), required in production, and
the migration encrypts the secrets that were stored in clear before it."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from httpx import AsyncClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from service.config import Environment, Settings, get_settings
from service.encryption import UndecryptableSecret, decrypt, derived_key, encrypt
from tests.conftest import ROOT, XDIST_WORKER, _asyncpg_dsn
from tests.test_webhooks import _admin_headers, _create

REAL_KEY = "k" * 48


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def test_the_secret_is_stored_encrypted(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin_headers(session, settings)
    created = await _create(client, headers, "http://127.0.0.1:9/hook", ["sla_breached"])
    secret = created["secret"]
    row = (
        (
            await session.execute(
                text("SELECT * FROM webhook_endpoint WHERE id = :id"), {"id": created["id"]}
            )
        )
        .mappings()
        .one()
    )
    stored = " ".join(str(value) for value in row.values())
    assert secret not in stored and secret[10:20] not in stored
    assert decrypt(settings, row["secret_encrypted"]) == secret
    assert row["secret_hint"] == secret[:10]

    rotated = await client.post(
        f"/v1/admin/webhooks/{created['id']}/rotate-secret", headers=headers
    )
    assert rotated.status_code == 200
    token = (
        await session.execute(
            text("SELECT secret_encrypted FROM webhook_endpoint WHERE id = :id"),
            {"id": created["id"]},
        )
    ).scalar_one()
    assert decrypt(settings, token) == rotated.json()["secret"]
    assert rotated.json()["secret_hint"] == rotated.json()["secret"][:10] + "…"


def test_keys_rotate_and_production_needs_its_own() -> None:
    old, new = _fernet_key(), _fernet_key()
    before = Settings(encryption_keys=SecretStr(old))
    token = encrypt(before, "whsec_test")
    after = Settings(encryption_keys=SecretStr(f"{new},{old}"))
    assert decrypt(after, token) == "whsec_test"  # the old key still decrypts
    assert decrypt(Settings(encryption_keys=SecretStr(new)), encrypt(after, "x")) == "x"
    with pytest.raises(UndecryptableSecret):
        decrypt(Settings(encryption_keys=SecretStr(new)), token)
    # Without keys, development derives one from the secret key, and a different secret key
    # gives a different one.
    assert derived_key("a" * 40) != derived_key("b" * 40)
    derived = Settings(env=Environment.development, secret_key=SecretStr(REAL_KEY))
    assert decrypt(derived, encrypt(derived, "s")) == "s"

    with pytest.raises(ValidationError, match="MEIELINN_ENCRYPTION_KEYS"):
        Settings(env=Environment.production, secret_key=SecretStr(REAL_KEY))
    for malformed in ("not-a-key", f"{new},", "x" * 44):
        with pytest.raises(ValidationError, match="URL-safe base64"):
            Settings(encryption_keys=SecretStr(malformed))
    assert Settings(
        env=Environment.production,
        secret_key=SecretStr(REAL_KEY),
        encryption_keys=SecretStr(new),
    )


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    """An empty database of its own, for running the migrations up and down."""
    base = make_url(get_settings().database_url)
    name = f"{base.database}_test_secrets_{XDIST_WORKER}"
    admin = await asyncpg.connect(_asyncpg_dsn(get_settings().database_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_the_migration_encrypts_secrets_stored_in_clear(scratch_database: str) -> None:
    engine = create_async_engine(scratch_database, poolclass=NullPool)
    webhook_id = uuid.uuid4()
    secret = "whsec_" + "s" * 43
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0025")
            await connection.execute(
                text(
                    "INSERT INTO webhook_endpoint (id, url, description, event_types, secret, "
                    "active, consecutive_failures, created_at, updated_at) VALUES (:id, "
                    "'https://93.184.215.14/hook', '', ARRAY['sla_breached'], :secret, true, 0, "
                    "now(), now())"
                ),
                {"id": webhook_id, "secret": secret},
            )
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0026")
            row = (
                (
                    await connection.execute(
                        text("SELECT * FROM webhook_endpoint WHERE id = :id"), {"id": webhook_id}
                    )
                )
                .mappings()
                .one()
            )
        assert "secret" not in row and secret not in row["secret_encrypted"]
        assert decrypt(get_settings(), row["secret_encrypted"]) == secret
        assert row["secret_hint"] == "whsec_ssss"
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0025", down=True)
            back = (
                await connection.execute(
                    text("SELECT secret FROM webhook_endpoint WHERE id = :id"), {"id": webhook_id}
                )
            ).scalar_one()
        assert back == secret
    finally:
        await engine.dispose()

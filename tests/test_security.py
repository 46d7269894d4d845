"""Security headers, CORS, error bodies that give nothing away, and a busy database answering
a fast 503 with Retry-After (an exhausted pool, a statement that runs into the timeout)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.auth.models import Role
from service.config import Environment, Settings
from service.db import SessionDep, create_engine, create_sessionmaker
from service.main import create_app
from service.security import DOCS_POLICY
from tests.factories import accept_report, bearer, file_report, make_user

REAL_KEY = "k" * 48


async def test_every_answer_carries_the_security_headers(client: AsyncClient) -> None:
    for response in (
        await client.get("/v1/catalog"),
        await client.get("/v1/reports/00000000-0000-0000-0000-000000000000"),
        await client.post("/v1/auth/token", content=b"x" * 2_000_000),  # the body limit's 413
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        # Not in development or test: HSTS pins a host to HTTPS for two years.
        assert "strict-transport-security" not in response.headers


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_may_load_their_own_scripts_and_nothing_from_elsewhere(
    client: AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == DOCS_POLICY
    assert "default-src 'self'" in DOCS_POLICY and "https:" not in DOCS_POLICY
    assert response.headers["x-frame-options"] == "DENY"


async def test_production_answers_with_hsts(settings: Settings) -> None:
    production = settings.model_copy(update={"env": Environment.production})
    async with _client(create_app(production)) as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_cors_wildcard_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="any web page"):
        Settings(cors_origins="*", cors_allow_credentials=True)
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins="https://app.example.org/path")
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins="https://*.example.org")
    assert Settings(cors_origins="*").cors_origin_list == ["*"]


async def test_cors_answers_only_the_configured_origins(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"cors_origins": "https://app.example.org, https://kaart.example.org"}
    )
    async with _client(create_app(configured)) as client:
        allowed = await client.options(
            "/v1/reports",
            headers={
                "Origin": "https://kaart.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        refused = await client.get("/healthz", headers={"Origin": "https://evil.example.com"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://kaart.example.org"
    assert "access-control-allow-credentials" not in allowed.headers
    assert refused.status_code == 200, refused.text
    assert "access-control-allow-origin" not in refused.headers


async def test_no_cors_unless_configured(client: AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Origin": "https://app.example.org"})
    assert response.status_code == 200, response.text
    assert "access-control-allow-origin" not in response.headers


async def test_an_internal_error_shows_neither_sql_nor_a_traceback(
    app: FastAPI, client: AsyncClient
) -> None:
    @app.get("/v1/broken")
    @app.get("/broken-page")
    async def broken(session: SessionDep) -> None:
        await session.execute(text("SELECT secret_column FROM no_such_table WHERE id = 1"))

    response = await client.get("/v1/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    page = await client.get("/broken-page")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    for body in (response.text, page.text):
        for leak in ("SELECT", "no_such_table", "secret_column", "Traceback", "sqlalchemy"):
            assert leak not in body
        assert "asyncpg" not in body
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert page.headers["x-request-id"] in page.text


def _client(app: FastAPI) -> AsyncClient:
    return AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )


@pytest.fixture
async def busy_app(settings: Settings, redis: Any) -> AsyncIterator[tuple[FastAPI, AsyncEngine]]:
    """The app on its own engine (not the test's transaction): one connection, a short wait
    for it, and a short statement timeout."""
    tight = settings.model_copy(
        update={
            "database_pool_size": 1,
            "database_max_overflow": 0,
            "database_pool_timeout_seconds": 0.3,
            "database_statement_timeout_seconds": 0.5,
        }
    )
    app = create_app(tight)
    engine = create_engine(tight)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.redis = redis
    yield app, engine
    await engine.dispose()


async def test_an_exhausted_pool_answers_503_at_once(
    busy_app: tuple[FastAPI, AsyncEngine],
) -> None:
    app, engine = busy_app
    async with _client(app) as client:
        assert (await client.get("/v1/districts")).status_code == 200
        async with engine.connect() as held:  # the pool's only connection
            await held.execute(text("SELECT 1"))
            response = await client.get("/v1/districts")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        # The pool's own wait gave up (not the statement timeout, not a hang); how long
        # that takes is in bench/timing_bench.py.
        assert response.json()["reason"] == "database_pool_exhausted"
        # Once the connection is back, requests are served again.
        assert (await client.get("/v1/districts")).status_code == 200


async def test_a_statement_over_the_timeout_answers_503(
    busy_app: tuple[FastAPI, AsyncEngine], engine: AsyncEngine
) -> None:
    app, _ = busy_app
    # Another transaction holds the table: reading it waits until the timeout cancels it.
    async with _client(app) as client, engine.connect() as other, other.begin():
        await other.execute(text("LOCK TABLE district IN ACCESS EXCLUSIVE MODE"))
        response = await client.get("/v1/districts")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    # The statement timeout cancelled the wait (its time: bench/timing_bench.py).
    assert response.json()["reason"] == "database_busy"


async def test_connections_carry_the_statement_timeout(
    busy_app: tuple[FastAPI, AsyncEngine],
) -> None:
    _, engine = busy_app
    async with engine.connect() as connection:
        assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "500ms"


# --- limits ------------------------------------------------------------------------------


async def test_json_nested_too_deeply_is_refused_before_parsing(client: AsyncClient) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    response = await client.post(
        "/v1/auth/register", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/json-too-deep"
    assert response.json()["max_depth"] == 32
    # Brackets inside strings do not count; a body at the limit is parsed as usual.
    shallow = {"email": "[[[[" * 100, "password": '"\\[{' * 10, "display_name": "x"}
    response = await client.post("/v1/auth/register", json=shallow)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"


async def test_support_changes_are_rate_limited_with_headers(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"engagement_changes_per_hour": 2})
    reporter = await make_user(session, settings)
    supporter = await make_user(session, settings)
    report = await file_report(session, reporter)
    await accept_report(
        session, await make_user(session, settings, roles=((Role.moderator, None),)), report
    )
    headers = bearer(settings, supporter)
    url = f"/v1/reports/{report.id}/support"
    assert (await client.put(url, headers=headers)).status_code == 200
    assert (await client.delete(url, headers=headers)).status_code == 200
    refused = await client.put(url, headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-limit"] == "2"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert "ratelimit-reset" in refused.headers

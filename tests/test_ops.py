"""Health, readiness, metrics, request ids and the problem+json error shape."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.errors import Conflict
from service.main import create_app, create_redis
from service.ops.models import WorkerHeartbeat
from tests.conftest import RunWorker
from tests.fuzzing import assert_documented

PROBLEM = "application/problem+json"


async def test_healthz(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_every_dependency(client: AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert set(checks) == {"database", "postgis", "redis"}
    assert all(check["status"] == "ok" for check in checks.values())
    assert checks["postgis"]["version"].startswith("3.")


async def test_readyz_names_redis_when_it_is_unreachable(
    app: FastAPI, client: AsyncClient, settings: Settings
) -> None:
    # Port 9 (discard) is closed on loopback: the connection is refused at once.
    unreachable = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:9/0", "readiness_timeout_seconds": 1.0}
    )
    app.state.redis = create_redis(unreachable)
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.redis.aclose()
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "failed"
    assert body["type"] == "/problems/not-ready"
    # The document named no media type for this 503.
    assert_documented(response, "get", "/readyz")


async def test_unknown_route_is_a_problem_document(client: AsyncClient) -> None:
    response = await client.get("/v1/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "/problems/not-found"
    assert body["title"] == "Not Found"
    assert body["status"] == 404
    assert body["instance"] == "/v1/no/such/thing"
    assert body["request_id"] == response.headers["x-request-id"]
    # Outside the API's paths an unknown address is the web app's page, not JSON.
    page = await client.get("/no/such/thing")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


@pytest.fixture
def app_with_probes(app: FastAPI) -> FastAPI:
    """Routes that exercise each error path of the handlers."""

    @app.get("/v1/_probe/number")
    async def number(value: int) -> dict[str, int]:
        return {"value": value}

    @app.get("/v1/_probe/crash")
    async def crash() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret/path.py")

    @app.get("/v1/_probe/conflict")
    async def conflict() -> None:
        raise Conflict("The report is already closed.", current_state="closed")

    @app.post("/v1/_probe/echo")
    async def echo(payload: dict[str, str]) -> dict[str, int]:
        return {"keys": len(payload)}

    return app


async def test_validation_error_is_a_problem_with_field_errors(
    app_with_probes: FastAPI, client: AsyncClient
) -> None:
    response = await client.get("/v1/_probe/number", params={"value": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert body["errors"][0]["loc"] == ["query", "value"]
    assert body["errors"][0]["type"] == "int_parsing"


async def test_domain_error_carries_its_extensions(
    app_with_probes: FastAPI, client: AsyncClient
) -> None:
    response = await client.get("/v1/_probe/conflict")
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "/problems/conflict"
    assert body["detail"] == "The report is already closed."
    assert body["current_state"] == "closed"


async def test_unhandled_error_is_500_without_internals(
    app_with_probes: FastAPI, client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="meielinn.errors"):
        response = await client.get("/v1/_probe/crash", headers={"X-Request-ID": "trace-me-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-request-id"] == "trace-me-42"
    body = response.json()
    assert body["type"] == "/problems/internal-error"
    assert body["request_id"] == "trace-me-42"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    # The operator still gets the whole story in the log.
    assert any("hunter2" in (r.exc_text or "") for r in caplog.records)


async def test_declared_oversized_body_is_refused_with_413(
    app_with_probes: FastAPI, client: AsyncClient, settings: Settings
) -> None:
    big = "x" * (settings.max_body_bytes + 1)
    response = await client.post("/v1/_probe/echo", json={"a": big})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/payload-too-large"


async def test_streamed_oversized_body_is_refused_with_413(
    app_with_probes: FastAPI, client: AsyncClient, settings: Settings
) -> None:
    chunk = b'{"a": "' + b"x" * 65536

    async def body():  # no Content-Length: the limit must hold on the stream itself
        sent = 0
        while sent <= settings.max_body_bytes:
            yield chunk
            sent += len(chunk)
        yield b'"}'

    response = await client.post(
        "/v1/_probe/echo", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"


async def test_request_id_is_kept_or_made(client: AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    # Unsafe ids (log injection) are replaced, not echoed.
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id\nforged"})
    assert replaced.headers["x-request-id"] != "bad id\nforged"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_access_log_line_carries_request_id(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="meielinn.access"):
        response = await client.get("/healthz")
    records = [r for r in caplog.records if r.name == "meielinn.access"]
    assert records, "no access log line"
    record = records[-1]
    assert record.__dict__["request_id"] == response.headers["x-request-id"]
    assert record.__dict__["status"] == 200
    assert record.__dict__["route"] == "/healthz"


async def test_metrics_exposes_request_latency(client: AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'meielinn_http_request_duration_seconds_count{method="GET",route="/healthz"' in (
        response.text
    )


async def test_metrics_refuse_a_remote_scraper_without_the_token(app: FastAPI) -> None:
    """Queue depths and overdue counts are for the city's monitoring: from another machine
    /metrics answers 403 until a scrape token is configured, and then only with it."""
    remote = ASGITransport(app=app, client=("203.0.113.9", 4711))
    async with AsyncClient(transport=remote, base_url="http://test") as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert "meielinn_" not in refused.text
        original = app.state.settings
        app.state.settings = original.model_copy(update={"metrics_token": SecretStr("s3cret")})
        try:
            assert (await client.get("/metrics")).status_code == 403
            wrong = {"Authorization": "Bearer other"}
            assert (await client.get("/metrics", headers=wrong)).status_code == 403
            right = {"Authorization": "Bearer s3cret"}
            scraped = await client.get("/metrics", headers=right)
            assert scraped.status_code == 200
            assert "meielinn_outbox_backlog" in scraped.text
        finally:
            app.state.settings = original


async def test_metrics_refuse_a_request_forwarded_by_a_local_proxy(client: AsyncClient) -> None:
    forwarded = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert forwarded.status_code == 403


async def test_heartbeat_job_runs_on_a_real_worker(
    redis, run_worker, session, settings: Settings
) -> None:
    await redis.enqueue_job("heartbeat")
    worker = await run_worker()
    assert worker.jobs_complete == 2  # the outbox relay and the heartbeat
    assert worker.jobs_failed == 0
    beat = (await session.execute(select(WorkerHeartbeat))).scalar_one()
    assert beat.worker_name == "test"
    assert beat.beats == 1

    await redis.enqueue_job("heartbeat")
    await run_worker()
    session.expire_all()
    beat = (await session.execute(select(WorkerHeartbeat))).scalar_one()
    assert beat.beats == 2
    assert beat.last_beat_at >= beat.first_beat_at


async def test_separate_transport_sees_lifespan_resources(settings: Settings) -> None:
    """The real lifespan wires the engine and Redis: /readyz through it is healthy."""
    from service.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/readyz")
    assert response.status_code == 200


async def test_workers_readiness_follows_the_heartbeat(
    client: AsyncClient, session: AsyncSession, redis: Any, run_worker: RunWorker
) -> None:
    await session.execute(delete(WorkerHeartbeat))
    stale = await client.get("/readyz/workers")
    assert stale.status_code == 503
    assert stale.json()["checks"]["workers"]["status"] == "stale"
    assert_documented(stale, "get", "/readyz/workers")
    await redis.enqueue_job("heartbeat")  # the cron runs it at start-up and every period
    await run_worker()
    fresh = await client.get("/readyz/workers")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["checks"]["workers"]["last_beat_seconds_ago"] < 30


async def test_metrics_read_the_outbox_backlog_and_overdue_rounds(
    client: AsyncClient, session: AsyncSession
) -> None:
    from datetime import UTC, datetime, timedelta

    from service.outbox.service import add_job

    await add_job(session, "make_thumbnail", "metrics-probe", "x", run_at=datetime.now(UTC))
    await add_job(
        session, "make_thumbnail", "later", "y", run_at=datetime.now(UTC) + timedelta(hours=1)
    )
    body = (await client.get("/metrics")).text
    backlog = [line for line in body.splitlines() if line.startswith("meielinn_outbox_backlog ")]
    assert backlog and float(backlog[0].split()[1]) >= 1.0
    assert "meielinn_overdue_rounds " in body
    assert "meielinn_worker_heartbeat_age_seconds " in body


def test_the_workers_cron_housekeeping_is_logged_at_debug() -> None:
    """`make run` shows the work that matters: every cron job's start and end lines are
    DEBUG, a job a request queued (an email) stays INFO."""
    from service.observability import _RoutineJobFilter
    from service.outbox.pools import Pool
    from workers.main import pool_cron_jobs

    demote = _RoutineJobFilter()
    for job in [job for pool in Pool for job in pool_cron_jobs(pool)]:
        record = logging.LogRecord(
            "arq.worker", logging.INFO, __file__, 1, f"  0.02s → {job.name}()", None, None
        )
        demote.filter(record)
        assert record.levelno == logging.DEBUG, job.name
    email = logging.LogRecord(
        "arq.worker", logging.INFO, __file__, 1, "  0.02s → 1a2b:deliver_email(…)", None, None
    )
    assert demote.filter(email) and email.levelno == logging.INFO


async def test_access_lines_can_be_kept_at_debug(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # `make run` logs them at DEBUG: a first start is not buried in request lines.
    quiet = create_app(settings.model_copy(update={"access_log_level": "DEBUG"}))
    transport = ASGITransport(app=quiet)
    async with AsyncClient(transport=transport, base_url="http://test") as quiet_client:
        with caplog.at_level(logging.DEBUG, logger="meielinn.access"):
            await quiet_client.get("/healthz")
    records = [r for r in caplog.records if r.name == "meielinn.access"]
    assert records
    assert {r.levelno for r in records} == {logging.DEBUG}


async def test_workers_are_ready_only_while_a_deadline_worker_beats(
    client: AsyncClient, session: AsyncSession
) -> None:
    """Mail and media workers beating do not make deadlines enforced: the deadline pool's
    beat decides, and every pool's last beat is shown."""
    from datetime import UTC, datetime, timedelta

    from service.ops.service import record_heartbeat

    await session.execute(delete(WorkerHeartbeat))
    now = datetime.now(UTC)
    await record_heartbeat(session, "host:1:mail", now)
    await record_heartbeat(session, "host:1:general", now)
    await record_heartbeat(session, "host:2:deadlines", now - timedelta(hours=1))
    stale = await client.get("/readyz/workers")
    assert stale.status_code == 503
    workers = stale.json()["checks"]["workers"]
    assert set(workers["pools"]) == {"mail", "general", "deadlines"}
    assert workers["pools"]["deadlines"] > 3000
    await record_heartbeat(session, "host:3:deadlines", now)
    fresh = await client.get("/readyz/workers")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["checks"]["workers"]["last_beat_seconds_ago"] < 30

"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.auth.policy import CREDENTIALS, PUBLIC
from service.clock import NowDep
from service.db import SessionDep
from service.errors import PROBLEM, Forbidden, problem_response
from service.observability import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_SECONDS,
    OVERDUE_ROUNDS,
    WORKER_BEAT_AGE,
    metrics_endpoint,
)
from service.outbox.pools import Pool
from service.outbox.service import backlog

router = APIRouter(tags=["operations"], dependencies=[PUBLIC])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> dict[str, Any]:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        return {"status": "ok"}


async def _check_postgis(request: Request) -> dict[str, Any]:
    async with request.app.state.engine.connect() as connection:
        version = (await connection.execute(text("SELECT postgis_lib_version()"))).scalar_one()
        return {"status": "ok", "version": version}


async def _check_redis(request: Request) -> dict[str, Any]:
    await request.app.state.redis.ping()
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database, PostGIS and Redis are reachable",
    responses={503: {**PROBLEM, "description": "A dependency failed; the body names which."}},
)
async def readyz(request: Request) -> JSONResponse:
    timeout = request.app.state.settings.readiness_timeout_seconds
    checks = {"database": _check_database, "postgis": _check_postgis, "redis": _check_redis}
    results: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            results[name] = await asyncio.wait_for(check(request), timeout)
        except Exception as exc:  # any failure means "not ready"; the name is what matters
            results[name] = {"status": "failed", "error": type(exc).__name__}
    failed = [name for name, result in results.items() if result["status"] != "ok"]
    replicas = getattr(request.app.state, "replicas", None)
    if replicas is not None:
        # Informational: a replica skipped sends its reads to the primary, never a failure.
        found = replicas.status()
        results["replicas"] = {
            "status": "ok",
            "in_use": sum(1 for replica in found if replica["status"] == "ok"),
            "replicas": found,
        }
    if failed:
        return problem_response(
            503,
            slug="not-ready",
            title="Not ready",
            detail=f"Unavailable: {', '.join(failed)}.",
            instance="/readyz",
            failed=failed,
            checks=results,
        )
    return JSONResponse({"status": "ok", "checks": results})


async def _workers(session: AsyncSession, settings: Any) -> dict[str, Any]:
    """The workers' heartbeats: "ok" when a worker that enforces deadlines (the deadline
    pool's, ``host:pid:deadlines``, or one whose name names no pool) beat within three
    heartbeat periods; each pool's last beat beside it (``service.outbox.pools``)."""
    rows = await rawsql.fetch(
        session,
        "SELECT CASE WHEN split_part(worker_name, ':', 3) = ANY($1::text[])"
        " THEN split_part(worker_name, ':', 3) ELSE '' END AS pool,"
        " extract(epoch FROM now() - max(last_beat_at))::float8 AS age, count(*) AS seen"
        " FROM worker_heartbeat WHERE last_beat_at > now() - interval '1 day' GROUP BY 1",
        [pool.value for pool in Pool],
    )
    # The clock of a long transaction may trail the beat: never a negative age.
    ages = {row["pool"]: max(0.0, float(row["age"])) for row in rows}
    deadline_ages = [ages[p] for p in (Pool.deadlines.value, "") if p in ages]
    seconds = min(deadline_ages) if deadline_ages else None
    fresh = seconds is not None and seconds <= 3 * settings.heartbeat_seconds
    return {
        "status": "ok" if fresh else "stale",
        "last_beat_seconds_ago": round(seconds, 1) if seconds is not None else None,
        "workers_seen_today": sum(int(row["seen"]) for row in rows),
        "pools": {pool: round(age, 1) for pool, age in sorted(ages.items()) if pool},
    }


@router.get(
    "/readyz/workers",
    summary="A deadline worker has beaten its heartbeat recently (deadlines are enforced)",
    responses={503: {**PROBLEM, "description": "No worker has beaten its heartbeat recently."}},
)
async def workers_ready(request: Request, session: SessionDep) -> JSONResponse:
    # Apart from /readyz: the API serves without workers, but deadlines then wait.
    settings = request.app.state.settings
    try:
        result = await asyncio.wait_for(
            _workers(session, settings), settings.readiness_timeout_seconds
        )
    except Exception as exc:  # the database is the source; its failure is "not known"
        result = {"status": "failed", "error": type(exc).__name__}
    if result["status"] != "ok":
        return problem_response(
            503,
            slug="workers-stale",
            title="No worker is running",
            detail="No worker has beaten its heartbeat recently; deadlines are not enforced.",
            instance="/readyz/workers",
            checks={"workers": result},
        )
    return JSONResponse({"status": "ok", "checks": {"workers": result}})


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _may_scrape(request: Request) -> bool:
    """The configured scrape token, or (none configured) a client on this machine. The
    connecting address is the direct peer's, never one taken from X-Forwarded-For: a reverse
    proxy on loopback forwarding the world would otherwise open the metrics to everyone, so a
    proxy in front must not route /metrics, or a token is configured."""
    token = request.app.state.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        return secrets.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode())
    peer = request.client
    return peer is not None and peer.host in LOOPBACK and "x-forwarded-for" not in request.headers


@router.get("/metrics", include_in_schema=False, dependencies=[CREDENTIALS])
async def metrics(request: Request, session: SessionDep, now: NowDep) -> Response:
    """Prometheus metrics (queue depths and deadlines are the city's operations, not public
    figures: see :func:`_may_scrape`). Jobs run in the workers, so what the deadlines depend on (the
    outbox backlog, overdue rounds, the workers' heartbeat) is read from the database at
    each scrape; the request latencies are this process's own."""
    if not _may_scrape(request):
        raise Forbidden("Metrics are for the city's monitoring: present the scrape token.")
    count, oldest = await backlog(session, now)
    OUTBOX_BACKLOG.set(count)
    OUTBOX_OLDEST_SECONDS.set(oldest)
    overdue, beat_age = (
        await session.execute(
            text(
                "SELECT (SELECT count(*) FROM report_round "
                "        WHERE ended_at IS NULL AND answered_at IS NULL AND due_at < now()), "
                "       (SELECT extract(epoch FROM now() - max(last_beat_at)) "
                "        FROM worker_heartbeat)"
            )
        )
    ).one()
    OVERDUE_ROUNDS.set(int(overdue))
    WORKER_BEAT_AGE.set(max(0.0, float(beat_age)) if beat_age is not None else float("nan"))
    return await metrics_endpoint(request)

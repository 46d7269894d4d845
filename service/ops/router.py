"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.errors import problem_response
from service.observability import metrics_endpoint

router = APIRouter(tags=["operations"])


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
    responses={503: {"description": "A dependency failed; the body names which."}},
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


router.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)

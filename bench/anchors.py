"""The anchors a read is measured against: the project's own read statement
(``VIEW_BY_ID_SQL``) served by a minimal FastAPI route and by a bare Starlette route, each
with an asyncpg pool and nothing else — no authentication, no middleware, no session object.
They are what a Python stack can reach with the same statement on the same database and
machine; raw asyncpg (``bench/http_bench.py``'s baselines) stays the physical limit.

    BENCH_ANCHOR_DSN=postgresql://… uvicorn bench.anchors:fastapi_app --port 8201
    BENCH_ANCHOR_DSN=postgresql://… uvicorn bench.anchors:starlette_app --port 8202

Both answer ``GET /v1/reports/{id}`` with the row as JSON (404 when there is none), so the
load generator sends them the very requests it sends the API. A request with a bearer token
gets the minimal check a signed-in read needs: the token's signature, audience, issuer and
times (PyJWT, the app's settings), then the account read with the project's own
``CALLER_SQL`` (disabled, or sessions ended since the token: 401), on the same connection
before the read.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI, Header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.auth.repository import CALLER_SQL
from service.auth.tokens import decode_access_token
from service.config import get_settings
from service.reports.statements import VIEW_BY_ID_SQL

SETTINGS = get_settings()
POOL_SIZE = int(os.environ.get("BENCH_ANCHOR_POOL", "20"))
pools: dict[str, asyncpg.Pool] = {}


@asynccontextmanager
async def _pool(_: Any) -> AsyncIterator[None]:
    pools["db"] = await asyncpg.create_pool(
        os.environ["BENCH_ANCHOR_DSN"], min_size=POOL_SIZE, max_size=POOL_SIZE
    )
    try:
        yield
    finally:
        await pools["db"].close()


UNAUTHORIZED = Response(b'{"status":401}', status_code=401, media_type="application/json")


async def _answer(report_id: uuid.UUID, authorization: str | None = None) -> Response:
    async with pools["db"].acquire() as connection:
        if authorization:
            try:
                claims = decode_access_token(SETTINGS, authorization.removeprefix("Bearer "))
            except Exception:
                return UNAUTHORIZED
            account = await connection.fetchrow(CALLER_SQL, claims.user_id)
            ended = account["sessions_valid_after"] if account else None
            if account is None or account["disabled_at"] is not None:
                return UNAUTHORIZED
            if ended is not None and claims.issued_at < ended:
                return UNAUTHORIZED
        row = await connection.fetchrow(VIEW_BY_ID_SQL, report_id)
    if row is None:
        return Response(b'{"status":404}', status_code=404, media_type="application/json")
    return Response(json.dumps(dict(row), default=str), media_type="application/json")


fastapi_app = FastAPI(lifespan=_pool)


@fastapi_app.get("/v1/reports/{report_id}")
async def read(report_id: uuid.UUID, authorization: str | None = Header(None)) -> Response:
    return await _answer(report_id, authorization)


async def _bare(request: Request) -> Response:
    return await _answer(
        uuid.UUID(request.path_params["report_id"]), request.headers.get("authorization")
    )


starlette_app = Starlette(routes=[Route("/v1/reports/{report_id}", _bare)], lifespan=_pool)

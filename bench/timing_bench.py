"""The times the tests no longer assert: they check the work done, this reports how long it
takes on this machine.

- registering a taken address ÷ registering a new one (both hash the password once with the
  configured argon2 cost; tests/test_auth_email.py counts the hashes);
- signing in to an unknown account ÷ a known one with a wrong password (both verify a hash);
- how long a request waits before the 503 when the pool's only connection is taken, and when
  a statement waits on a lock past the statement timeout (tests/test_security.py checks which
  of the two answered).

Registration and sign-in run through the services in one transaction rolled back at the end,
so the database is left as it was.

    python bench/timing_bench.py      (make bench runs it)

Prints one JSON line; exits non-zero when a figure is outside its budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.auth import service as auth  # noqa: E402
from service.auth import sessions  # noqa: E402
from service.auth.schemas import RegisterRequest  # noqa: E402
from service.clock import system_clock  # noqa: E402
from service.config import Settings, get_settings  # noqa: E402
from service.db import create_engine  # noqa: E402
from service.errors import AppError  # noqa: E402
from service.main import create_app  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PASSWORD = "correct horse battery staple"  # noqa: S105 (a bench account's, rolled back)
# Budgets, as the tests had them: the taken address costs at least 0.6 of a new one; the
# pool gives up within 2 s (its timeout 0.3 s), the statement within 3 s (its timeout 0.5 s).
MIN_RATIO = 0.6
POOL_503_SECONDS = 2.0
STATEMENT_503_SECONDS = 3.0


async def _median(work: Callable[[], Awaitable[Any]]) -> float:
    taken = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        taken.append(time.perf_counter() - started)
    return statistics.median(taken)


async def _accounts(settings: Settings) -> dict[str, float]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            session = AsyncSession(bind=connection, expire_on_commit=False)
            now = system_clock()
            taken = f"bench-{uuid.uuid4().hex}@example.org"

            def register(email: str) -> Callable[[], Awaitable[None]]:
                body = RegisterRequest(email=email, password=PASSWORD, display_name="Bench")
                return lambda: auth.register(
                    session, settings, body, now, None, may_email_owner=False
                )

            await register(taken)()  # the account whose address is then taken
            figures: dict[str, float] = {}
            new = await _median(lambda: register(f"bench-{uuid.uuid4().hex}@example.org")())
            again = await _median(register(taken))

            async def sign_in(email: str) -> None:
                with contextlib.suppress(AppError):  # the wrong password's 401
                    await sessions.login(session, settings, email, "wrong password 123", now, None)

            known = await _median(lambda: sign_in(taken))
            unknown = await _median(lambda: sign_in("nobody@example.org"))
            figures["register_new_s"] = round(new, 4)
            figures["register_taken_s"] = round(again, 4)
            figures["register_taken_ratio"] = round(again / new, 3)
            figures["signin_known_s"] = round(known, 4)
            figures["signin_unknown_s"] = round(unknown, 4)
            figures["signin_unknown_ratio"] = round(unknown / known, 3)
            await session.close()
            await transaction.rollback()
    finally:
        await engine.dispose()
    return figures


async def _overload(settings: Settings) -> dict[str, float]:
    tight = settings.model_copy(
        update={
            "database_pool_size": 1,
            "database_max_overflow": 0,
            "database_pool_timeout_seconds": 0.3,
            "database_statement_timeout_seconds": 0.5,
        }
    )
    app = create_app(tight)
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            engine = app.state.engine
            assert (await client.get("/v1/districts")).status_code == 200
            async with engine.connect() as held:  # the pool's only connection
                await held.execute(text("SELECT 1"))
                started = time.perf_counter()
                pool = await client.get("/v1/districts")
                pool_s = time.perf_counter() - started
            other_engine = create_engine(settings)
            try:
                async with other_engine.connect() as other, other.begin():
                    await other.execute(text("LOCK TABLE district IN ACCESS EXCLUSIVE MODE"))
                    started = time.perf_counter()
                    busy = await client.get("/v1/districts")
                    busy_s = time.perf_counter() - started
            finally:
                await other_engine.dispose()
    assert pool.status_code == 503, pool.text
    assert busy.status_code == 503, busy.text
    return {"pool_exhausted_503_s": round(pool_s, 3), "statement_timeout_503_s": round(busy_s, 3)}


async def main() -> int:
    settings = get_settings()
    figures = {**await _accounts(settings), **await _overload(settings)}
    ok = (
        figures["register_taken_ratio"] >= MIN_RATIO
        and figures["signin_unknown_ratio"] >= MIN_RATIO
        and figures["pool_exhausted_503_s"] < POOL_503_SECONDS
        and figures["statement_timeout_503_s"] < STATEMENT_503_SECONDS
    )
    print(json.dumps({"bench": "timing", "ok": ok, "runs": RUNS, **figures}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

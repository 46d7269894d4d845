"""The API and the worker on the same reports at once, with committed data in a database of
this test's own (a copy of the migrated template): no deadlock, no 500, no lost transition.

The worker's sweep used to lock an unplanned round without its report and then wait for
the report (a timer's foreign key), while a request held the report and waited for the
round: a deadlock answered 500. Both now take the report first, and the sweep skips a
report a request holds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI, Request
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.auth.models import Role, User
from service.config import Settings, get_settings
from service.conflicts import RetryOnLockConflict
from service.db import create_engine, create_sessionmaker
from service.errors import install_error_handlers
from service.feedback import ratings
from service.main import create_app
from service.reports import lifecycle
from service.reports.models import EVENT_SEQ, Report, ReportEvent, ReportRound
from service.sla import engine as sla
from tests.factories import accept_report, bearer, file_report, make_user
from tests.feedback_setup import department_id


@dataclass
class Live:
    settings: Settings
    engine: AsyncEngine
    maker: async_sessionmaker[AsyncSession]


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    """A database of this test's own, copied from the migrated template, where each
    transaction commits for real (two connections must see each other's work)."""
    url = make_url(settings.database_url)
    template = f"{make_url(get_settings().database_url).database}_test_template"
    name = f"{url.database}_live"
    admin = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        live_settings = settings.model_copy(
            update={
                "database_url": url.set(database=name).render_as_string(False),
                "database_pool_size": 8,
                "database_max_overflow": 0,
            }
        )
        engine = create_engine(live_settings)
        try:
            yield Live(live_settings, engine, create_sessionmaker(engine))
        finally:
            await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _deadlocks(live: Live) -> int:
    """Deadlocks PostgreSQL has detected in the test's database (its statistics, flushed by
    each backend within a second of its transaction)."""
    await asyncio.sleep(1.5)
    async with live.engine.connect() as connection:
        await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        found = await connection.scalar(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        )
    return int(found or 0)


@dataclass
class People:
    reporter: User
    moderator: User
    staff: User
    supervisor: User
    other_staff: User
    roads: uuid.UUID
    greenery: uuid.UUID


async def _people(live: Live) -> People:
    async with live.maker() as session:
        roads = await department_id(session, "roads")
        greenery = await department_id(session, "greenery")
        people = People(
            reporter=await make_user(session, live.settings),
            moderator=await make_user(session, live.settings, roles=((Role.moderator, None),)),
            staff=await make_user(session, live.settings, roles=((Role.staff, roads),)),
            supervisor=await make_user(session, live.settings, roles=((Role.supervisor, roads),)),
            other_staff=await make_user(session, live.settings, roles=((Role.staff, greenery),)),
            roads=roads,
            greenery=greenery,
        )
        await session.commit()
    return people


async def _accepted_reports(
    live: Live, people: People, count: int, *, overdue: bool
) -> list[uuid.UUID]:
    """Reports of the roads service, accepted and committed; ``overdue``: their deadline
    has passed, so the sweep plans and fires their breach while the API works on them."""
    ids = []
    async with live.maker() as session:
        for _ in range(count):
            report = await accept_report(
                session, people.moderator, await file_report(session, people.reporter)
            )
            ids.append(report.id)
        if overdue:
            past = datetime.now(UTC) - timedelta(hours=1)
            await session.execute(
                update(ReportRound).where(col(ReportRound.report_id).in_(ids)).values(due_at=past)
            )
            await session.execute(update(Report).where(col(Report.id).in_(ids)).values(due_at=past))
        await session.commit()
    return ids


async def test_the_sweep_skips_a_report_a_request_holds_instead_of_deadlocking(
    live: Live,
) -> None:
    people = await _people(live)
    (report_id,) = await _accepted_reports(live, people, 1, overdue=True)
    async with live.maker() as request, live.maker() as worker:
        # The request holds the report, as every change of it does first ...
        report = await lifecycle.lock(request, report_id)
        # ... the sweep, meanwhile, neither waits for it nor takes its round ...
        swept = await asyncio.wait_for(sla.sweep(worker, live.settings, datetime.now(UTC)), 10)
        assert swept.planned == 0
        await worker.commit()
        # ... so the request changes the round and commits.
        rnd = await lifecycle.current_round(request, report)
        rnd.due_at = rnd.due_at + timedelta(hours=1)
        await request.commit()
    async with live.maker() as worker:
        swept = await sla.sweep(worker, live.settings, datetime.now(UTC))
        await worker.commit()
    assert swept.planned == 1


Call = Callable[..., Awaitable[Response]]


async def _api_call(client: AsyncClient, outcomes: dict[int, int]) -> Call:
    async def call(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Response:
        # A client honours 503's Retry-After (a lock conflict that its retry hit again).
        for _ in range(5):
            answer = await client.request(method, url, headers=headers, **kwargs)
            outcomes[answer.status_code] = outcomes.get(answer.status_code, 0) + 1
            if answer.status_code != 503:
                return answer
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")) / 10)
        return answer

    return call


async def test_answers_ratings_reopens_referrals_transfers_and_extensions_beside_the_sweep(
    live: Live, redis: Any
) -> None:
    people = await _people(live)
    settings = live.settings
    referred = await _accepted_reports(live, people, 3, overdue=True)
    moved = await _accepted_reports(live, people, 3, overdue=True)
    app = create_app(settings)
    app.state.engine = live.engine
    app.state.sessionmaker = live.maker
    app.state.redis = redis
    staff, supervisor = bearer(settings, people.staff), bearer(settings, people.supervisor)
    reporter, other = bearer(settings, people.reporter), bearer(settings, people.other_staff)
    outcomes: dict[int, int] = {}
    done = asyncio.Event()
    sweeps = 0
    deadlocks_before = await _deadlocks(live)

    async def sweeper() -> None:
        nonlocal sweeps
        while not done.is_set():
            async with live.maker() as session:
                now = datetime.now(UTC)
                await sla.sweep(session, settings, now)
                await ratings.close_expired(session, now)
                await session.commit()
            sweeps += 1
            await asyncio.sleep(0)

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        call = await _api_call(client, outcomes)

        async def answer(report_id: uuid.UUID, headers: dict[str, str]) -> None:
            answered = await call(
                "POST",
                f"/v1/reports/{report_id}/responses",
                headers,
                json={"outcome": "fixed", "text": "Patched."},
            )
            assert answered.status_code == 201, answered.text

        async def rate(report_id: uuid.UUID, resolved: bool, consequence: str) -> None:
            rated = await call(
                "POST",
                f"/v1/reports/{report_id}/rating",
                reporter,
                json={"score": 5 if resolved else 1, "resolved": resolved},
            )
            assert rated.status_code == 201, rated.text
            assert rated.json()["consequence"] == consequence

        async def to_the_supervisor(report_id: uuid.UUID) -> None:
            claimed = await call("POST", f"/v1/reports/{report_id}/claim", staff)
            assert claimed.status_code == 200, claimed.text
            for consequence in ("reopened", "reopened", "referred_to_supervisor"):
                await answer(report_id, staff)
                await rate(report_id, False, consequence)
            closed = await call(
                "POST",
                f"/v1/reports/{report_id}/referral/close",
                supervisor,
                json={"note": "Closed with the residents' council."},
            )
            assert closed.status_code == 200, closed.text

        async def elsewhere(report_id: uuid.UUID) -> None:
            claimed = await call("POST", f"/v1/reports/{report_id}/claim", staff)
            assert claimed.status_code == 200, claimed.text
            asked = await call(
                "POST",
                f"/v1/reports/{report_id}/extension-requests",
                staff,
                json={
                    "due_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                    "justification": "Needs a contractor.",
                },
            )
            assert asked.status_code == 201, asked.text
            approved = await call(
                "POST", f"/v1/extension-requests/{asked.json()['id']}/approve", supervisor, json={}
            )
            assert approved.status_code == 200, approved.text
            transferred = await call(
                "POST",
                f"/v1/reports/{report_id}/transfer",
                supervisor,
                json={"to_department_id": str(people.greenery), "reason": "A tree's roots."},
            )
            assert transferred.status_code == 200, transferred.text
            await answer(report_id, other)
            await rate(report_id, True, "closed")

        sweeping = asyncio.create_task(sweeper())
        try:
            await asyncio.wait_for(
                asyncio.gather(*map(to_the_supervisor, referred), *map(elsewhere, moved)), 120
            )
        finally:
            done.set()
            await sweeping

    assert sweeps > 0
    assert not [status for status in outcomes if status >= 500 and status != 503], outcomes
    # Not one deadlock: the lock order holds (a retried one would hide from the answers).
    assert await _deadlocks(live) == deadlocks_before
    async with live.maker() as session:
        for report_id in referred + moved:
            report = await session.get(Report, report_id)
            assert report is not None and report.state == "closed" and report.closed_at
            steps = (
                await session.execute(
                    select(ReportEvent.type)
                    .where(
                        col(ReportEvent.report_id) == report_id,
                        col(ReportEvent.type).in_(
                            (
                                "answer",
                                "rating",
                                "reopen",
                                "referred_to_supervisor",
                                "close",
                                "extension",
                                "transfer",
                                "receive_transfer",
                                "overdue",
                            )
                        ),
                    )
                    .order_by(EVENT_SEQ)
                )
            ).scalars()
            kept = [step for step in steps if step != "overdue"]
            if report_id in referred:
                assert kept == [
                    *("answer", "rating", "reopen") * 2,
                    *("answer", "rating", "referred_to_supervisor", "close"),
                ]
                rounds = (
                    await session.execute(
                        select(ReportRound)
                        .where(col(ReportRound.report_id) == report_id)
                        .order_by(col(ReportRound.number))
                    )
                ).scalars()
                assert [(r.number, r.ended_at is not None) for r in rounds] == [
                    (1, True),
                    (2, True),
                    (3, True),
                ]
            else:
                assert kept == [
                    "extension",
                    "transfer",
                    "receive_transfer",
                    "answer",
                    "rating",
                    "close",
                ]
                assert report.department_id == people.greenery
        # Every overdue round was marked once, whatever ran beside it.
        breaches = await session.scalar(
            text("SELECT count(*) FROM report_event WHERE type = 'overdue'")
        )
        assert breaches is not None and breaches <= len(referred + moved)


class _Deadlock(Exception):
    sqlstate = "40P01"


async def test_a_lock_conflict_is_retried_once_then_answered_503_never_500() -> None:
    """The whole request runs again (with the same body) after a deadlock; a second one
    answers 503 with Retry-After and the lock-conflict problem type."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RetryOnLockConflict)
    runs: list[bytes] = []

    @app.post("/flaky/{failures}")
    async def flaky(failures: int, request: Request) -> dict[str, int]:
        runs.append(await request.body())
        if len(runs) <= failures:
            raise OperationalError("UPDATE report_round …", {}, _Deadlock())
        return {"runs": len(runs)}

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        once = await client.post("/flaky/1", content=b"the same body")
        assert once.status_code == 200 and once.json() == {"runs": 2}
        assert runs == [b"the same body", b"the same body"]
        runs.clear()
        twice = await client.post("/flaky/2", content=b"x")
        assert twice.status_code == 503
        assert twice.headers["Retry-After"] == "1"
        assert twice.headers["content-type"] == "application/problem+json"
        assert twice.json()["type"] == "/problems/lock-conflict"
        assert len(runs) == 2  # retried once, not more


async def test_two_bulk_requests_over_the_same_reports_in_opposite_orders_never_deadlock(
    live: Live, redis: Any
) -> None:
    people = await _people(live)
    settings = live.settings
    ids = await _accepted_reports(live, people, 4, overdue=False)
    app = create_app(settings)
    app.state.engine = live.engine
    app.state.sessionmaker = live.maker
    app.state.redis = redis
    staff = bearer(settings, people.staff)
    before = await _deadlocks(live)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def note(order: list[uuid.UUID], text_: str) -> Response:
            return await client.post(
                f"/v1/departments/{people.roads}/queue/bulk",
                json={
                    "action": "status_note",
                    "report_ids": [str(i) for i in order],
                    "text": text_,
                },
                headers=staff,
            )

        for round_number in range(8):
            answers = await asyncio.gather(
                note(ids, f"Forward {round_number}"),
                note(list(reversed(ids)), f"Backward {round_number}"),
            )
            for answer, order in zip(answers, (ids, list(reversed(ids))), strict=True):
                assert answer.status_code == 200, answer.text
                results = answer.json()["results"]
                assert [item["id"] for item in results] == [str(i) for i in order]
                assert {item["status"] for item in results} == {200}
    assert await _deadlocks(live) == before

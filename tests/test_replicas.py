"""Read replicas: anonymous public reads go to a healthy replica; signed-in callers, recent
writers and writes stay on the primary; a lagging, down or failing replica is skipped and the
read answered from the primary, never an error.

The "replica" here is a second pool on the test database, read-only as a standby is: it sees
the committed demo city but not the test's own uncommitted rows, which the primary (the test's
transaction) does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from service import rawsql
from service.auth.models import Role
from service.config import Settings
from service.main import create_app
from service.replicas import WROTE_COOKIE, ReplicaSet, lag_seconds, may_read_stale
from tests.conftest import forget_apps
from tests.factories import bearer, make_user, reason_by_code
from tests.queue_factories import accepted_report

MAP = "/v1/map?bbox=26.6,58.3,26.8,58.4&zoom=13"
SERVICES = "/open311/v2/services.json"


class Counted:
    """Connections a replica gave since: checkouts from its engine's pool and acquisitions
    from its read pool (the hottest reads)."""

    def __init__(self, replica: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checkouts = 0
        event.listen(replica.engine.sync_engine, "checkout", self._seen)
        original = rawsql.read_connection

        def counting(pool: Any, settings: Settings) -> Any:
            if pool is replica.read_pool:
                self._seen()
            return original(pool, settings)

        monkeypatch.setattr(rawsql, "read_connection", counting)

    def _seen(self, *_: Any) -> None:
        self.checkouts += 1


@pytest.fixture
async def replica_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "database_replica_urls": settings.database_url,
            "replica_max_lag_seconds": 5.0,
            "replica_check_seconds": 60.0,
        }
    )


@pytest.fixture
async def replica_app(
    replica_settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Any,
) -> AsyncIterator[FastAPI]:
    app = create_app(replica_settings)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.redis = redis
    app.state.replicas = await ReplicaSet.from_settings(replica_settings, engine)
    await app.state.replicas.check_all()
    yield app
    await app.state.replicas.dispose()
    forget_apps()


@pytest.fixture
async def replica_client(replica_app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=replica_app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _replica(app: FastAPI) -> Any:
    return app.state.replicas.replicas[0]


async def test_anonymous_public_reads_go_to_the_replica(
    replica_app: FastAPI,
    replica_client: AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replica = _replica(replica_app)
    assert replica.healthy and replica.lag_seconds == 0.0
    counted = Counted(replica, monkeypatch)
    pothole = await reason_by_code(session, "pothole")
    nearby = f"/v1/reports/nearby?lat=58.38&lon=26.72&reason={pothole.id}"
    for path in (MAP, SERVICES, "/v1/reports?limit=5", "/v1/stats/departments", nearby):
        before = counted.checkouts
        response = await replica_client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert counted.checkouts == before + 1, f"{path} did not read from the replica"
    services = (await replica_client.get(SERVICES)).json()
    assert len(services) >= 40  # the demo city's catalogue, committed: the replica sees it


async def test_the_replica_sees_no_uncommitted_write_but_the_writer_reads_the_primary(
    replica_app: FastAPI, replica_client: AsyncClient, session: AsyncSession
) -> None:
    # A reason changed in the test's transaction: on the primary only, as a write a replica
    # has not replayed yet.
    await session.execute(
        text(
            "UPDATE reason SET service_code = 'fresh-code' "
            "WHERE id = (SELECT id FROM reason WHERE active ORDER BY id LIMIT 1)"
        )
    )
    await session.commit()
    stale = (await replica_client.get(SERVICES)).json()
    assert "fresh-code" not in {s["service_code"] for s in stale}
    # The same client after a write (its cookie), or with credentials: the primary.
    replica_client.cookies.set(WROTE_COOKIE, "1")
    fresh = (await replica_client.get(SERVICES)).json()
    assert "fresh-code" in {s["service_code"] for s in fresh}
    replica_client.cookies.clear()
    signed = await replica_client.get(SERVICES, headers={"Authorization": "Bearer anything"})
    assert signed.status_code == 200
    assert "fresh-code" in {s["service_code"] for s in signed.json()}


async def test_a_write_answers_with_the_read_your_writes_cookie(
    replica_client: AsyncClient,
) -> None:
    # Even a refused write: the client may have written just before through another path.
    response = await replica_client.post("/v1/reports", json={})
    assert response.status_code == 401
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{WROTE_COOKIE}=1;")
    assert "Max-Age=6" in cookie and "HttpOnly" in cookie
    read = await replica_client.get(SERVICES)
    assert "set-cookie" not in read.headers


def _request(
    method: str = "GET", headers: dict[str, str] | None = None, query: str = ""
) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {"type": "http", "method": method, "headers": raw, "query_string": query.encode()}
    )


def test_the_read_your_writes_rule() -> None:
    assert may_read_stale(_request())
    assert may_read_stale(_request("HEAD"))
    assert not may_read_stale(_request("POST"))
    assert not may_read_stale(_request(headers={"Authorization": "Bearer x"}))
    assert not may_read_stale(_request(headers={"X-API-Key": "k"}))
    assert not may_read_stale(_request(query="api_key=k"))
    assert not may_read_stale(_request(headers={"Cookie": "meielinn_session=s"}))
    assert not may_read_stale(_request(headers={"Cookie": f"{WROTE_COOKIE}=1"}))
    assert may_read_stale(_request(headers={"Cookie": "meielinn_lang=et"}))


async def test_a_lagging_replica_is_skipped(
    replica_app: FastAPI, replica_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    replicas: ReplicaSet = replica_app.state.replicas

    async def far_behind(_: ReplicaSet, __: Any) -> float:
        return 30.0

    monkeypatch.setattr(ReplicaSet, "_lag", far_behind)
    await replicas.check_all()
    assert replicas.status() == [
        {"replica": replicas.replicas[0].name, "status": "skipped", "lag_seconds": 30.0}
    ]
    counted = Counted(replicas.replicas[0], monkeypatch)
    response = await replica_client.get(MAP)
    assert response.status_code == 200
    assert counted.checkouts == 0


async def test_a_replica_that_went_away_is_skipped_never_an_error(
    replica_app: FastAPI, replica_client: AsyncClient, replica_settings: Settings
) -> None:
    # Port 9 (discard) is closed on loopback: connecting is refused at once.
    gone = replica_settings.model_copy(
        update={
            "database_replica_urls": "postgresql+asyncpg://meielinn:meielinn@127.0.0.1:9/meielinn"
        }
    )
    replicas = await ReplicaSet.from_settings(gone, replica_app.state.engine)
    await replicas.check_all()
    assert replicas.status()[0]["status"] == "skipped"
    # Between two checks: believed healthy, down by the time a request comes.
    replicas.replicas[0].healthy = True
    replica_app.state.replicas = replicas
    try:
        response = await replica_client.get(SERVICES)
        assert response.status_code == 200
        assert not replicas.replicas[0].healthy
    finally:
        await replicas.dispose()


# Reads in a session on the replica's engine (the hottest reads, on its read pool: below).
@pytest.mark.parametrize(
    "path", ["/v1/stats/departments", "/open311/v2/requests.json", "/v1/reports?limit=5"]
)
async def test_a_replica_failing_under_a_read_reruns_it_on_the_primary(
    replica_app: FastAPI,
    replica_client: AsyncClient,
    session: AsyncSession,
    path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replica = _replica(replica_app)
    counted = Counted(replica, monkeypatch)
    assert (await replica_client.get(path)).status_code == 200
    assert counted.checkouts == 1
    # The replica's server ends the pooled connection (a restart, a failover).
    await session.execute(
        text(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE application_name = 'meielinn-replica' AND datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    )
    response = await replica_client.get(path)
    assert response.status_code == 200, response.text
    assert not replica.healthy
    # Until a check finds it well again, reads stay on the primary.
    again = counted.checkouts
    assert (await replica_client.get(path)).status_code == 200
    assert counted.checkouts == again
    # Found well, it takes the reads back, on fresh connections.
    await replica_app.state.replicas.check_all()
    assert replica.healthy
    back = counted.checkouts
    assert (await replica_client.get(path)).status_code == 200
    assert counted.checkouts == back + 1


async def test_replica_sessions_refuse_writes(replica_app: FastAPI) -> None:
    replica = _replica(replica_app)
    async with replica.sessionmaker() as replica_session:
        with pytest.raises(Exception, match="read-only transaction"):
            await replica_session.execute(text("CREATE TEMP TABLE scratch (x int)"))


async def test_the_report_read_goes_to_the_replica_for_the_public_only(
    replica_app: FastAPI,
    replica_client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
) -> None:
    # Accepted in the test's transaction: the primary has it, the replica not yet.
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await accepted_report(session, resident, moderator)
    await session.commit()
    path = f"/v1/reports/{report.id}"
    assert (await replica_client.get(path)).status_code == 404
    mine = await replica_client.get(path, headers=bearer(settings, resident))
    assert mine.status_code == 200
    assert mine.json()["state"] == "accepted"
    replica_client.cookies.set(WROTE_COOKIE, "1")
    assert (await replica_client.get(path)).status_code == 200
    # Without replicas the same anonymous read is the primary's.
    replica_client.cookies.clear()
    replica_app.state.replicas.replicas[0].healthy = False
    replica_app.state.replicas.replicas[0].checked_at = float("inf")
    assert (await replica_client.get(path)).status_code == 200


async def test_a_replica_failing_under_the_report_read_reruns_it_on_the_primary(
    replica_app: FastAPI, replica_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = _replica(replica_app)
    path = f"/v1/reports/{uuid.uuid4()}"
    original = rawsql.read_connection
    used: list[Any] = []

    @asynccontextmanager
    async def lost_under_the_read(pool: Any, settings: Settings) -> AsyncIterator[Any]:
        async with original(pool, settings) as connection:
            if pool is replica.read_pool:
                used.append(pool)
                # The replica's server ended the connection (a restart, a failover).
                lost: Any = connection
                lost.terminate()
            yield connection

    monkeypatch.setattr(rawsql, "read_connection", lost_under_the_read)
    response = await replica_client.get(path)
    assert used == [replica.read_pool]
    # Run again on the primary: the report is not there either, and nothing failed.
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert not replica.healthy


async def test_readiness_shows_the_replicas_without_failing_on_them(
    replica_app: FastAPI, replica_client: AsyncClient
) -> None:
    ready = await replica_client.get("/readyz")
    assert ready.status_code == 200
    replicas = ready.json()["checks"]["replicas"]
    assert replicas["in_use"] == 1
    assert replicas["replicas"][0]["status"] == "ok"
    assert "meielinn:" not in replicas["replicas"][0]["replica"]  # no credentials shown
    _replica(replica_app).mark_down()
    skipped = await replica_client.get("/readyz")
    assert skipped.status_code == 200
    assert skipped.json()["checks"]["replicas"]["in_use"] == 0


def test_a_replicas_lag_is_the_age_of_what_it_has_not_replayed() -> None:
    # Caught up with the primary's position when asked: not behind, however old its last
    # replayed commit is (an idle primary writes no commits).
    assert lag_seconds([(0.0, 100.0)], 150.0, 10.0, 150.0, 60.0, 10.1) == 0.0
    # The first check, behind: the last replayed commit's age stands in.
    assert lag_seconds([], 150.0, 10.0, 120.0, 7.5, 10.1) == 7.5
    assert lag_seconds([], 150.0, 10.0, None, None, 10.1) == float("inf")
    # Behind since the first sample the replay has not reached: at 2.0 the primary was at
    # 130, the replica has replayed 120.
    samples = [(0.0, 100.0), (1.0, 110.0), (2.0, 130.0), (3.0, 140.0)]
    assert lag_seconds(samples, 150.0, 4.0, 120.0, None, 4.5) == 2.5
    # Only the newest position is ahead: streaming normally, just now.
    assert lag_seconds(samples, 150.0, 4.0, 145.0, None, 4.5) == 0.5

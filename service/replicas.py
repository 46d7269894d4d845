"""Read replicas: public reads that tolerate a little staleness go to a streaming replica.

``MEIELINN_DATABASE_REPLICA_URLS`` names one or more replicas. A route that reads public
data (the map, public lists, a public report, open data, Open311 GETs, the public figures)
takes :data:`ReadSessionDep` instead of ``SessionDep``; the session comes from a healthy
replica when the request may read stale data, from the primary otherwise.

Read-your-writes: a request reads from the primary when

* it is not a GET or HEAD, or
* it carries credentials of any kind (an ``Authorization`` header, an ``X-API-Key``, an
  ``api_key`` parameter, a web sign-in cookie): whoever is signed in sees what they just
  filed, claimed or answered at once, and staff and moderators always work on the primary, or
* the same client wrote something within the last ``MEIELINN_REPLICA_MAX_LAG_SECONDS`` + 1
  seconds: every answer to a POST, PUT, PATCH or DELETE sets the ``meielinn_wrote`` cookie
  for that long, so a browser's next page after a write reads from the primary.

So only anonymous reads, by people who have not just changed anything, may see data up to
``MEIELINN_REPLICA_MAX_LAG_SECONDS`` old.

Health: each API process asks each replica how far behind it is (:meth:`ReplicaSet._lag`:
how long ago the primary first had WAL the replica has not replayed) at most every
``MEIELINN_REPLICA_CHECK_SECONDS``, in the background, never on a request's path. A replica
further behind, or that did not answer, is skipped until a later check finds it well; a
replica never checked yet is not used. A request whose replica fails under it (the server
went away between two checks, or a recovery conflict cancelled the statement) marks the
replica down and is run once more, on the primary (``service.conflicts``): a replica's
failure is never the caller's error. Writes, and anything under a lock, never go to a replica.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import rawsql
from service.config import Settings
from service.conflicts import REPLICA_FAILED
from service.db import SessionDep, create_engine, create_sessionmaker

log = logging.getLogger(__name__)

# The cookie that sends a client's reads to the primary for a while after it wrote.
WROTE_COOKIE = "meielinn_wrote"
# The web app's sign-in cookie (service.web): a signed-in visitor reads from the primary.
SIGN_IN_COOKIE = "meielinn_session"
_SAFE_METHODS = frozenset({"GET", "HEAD"})

# Where the primary's WAL is, as a number of bytes (comparable with a replica's position).
PRIMARY_POSITION_SQL = text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8")
# Where a replica is: whether it is a standby at all, the WAL it has replayed, and the primary's
# commit time of the last transaction it replayed.
REPLICA_POSITION_SQL = text(
    "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::float8, "
    "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
)
# Samples of the primary's position kept per replica (at one check every few seconds).
HISTORY_SECONDS = 600.0


@dataclass
class Replica:
    """One replica: its pool, and what the last check found."""

    name: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Plain asyncpg connections for the hottest reads (``service.rawsql``'s read pool).
    read_pool: asyncpg.Pool
    healthy: bool = False
    lag_seconds: float | None = None
    checked_at: float = -math.inf
    checking: asyncio.Task[None] | None = field(default=None, repr=False)
    # (when, the primary's WAL position then), oldest first: how old the replica's data is.
    primary_positions: deque[tuple[float, float]] = field(default_factory=deque, repr=False)

    def mark_down(self) -> None:
        """Skip this replica until the next check finds it well (not before the next
        interval: the check's own clock restarts now)."""
        if self.healthy:
            log.warning("replica skipped after a failed read", extra={"replica": self.name})
        self.healthy = False
        self.checked_at = time.monotonic()


def lag_seconds(
    earlier: list[tuple[float, float]],
    position: float,
    sampled_at: float,
    replayed: float | None,
    commit_age: float | None,
    now: float,
) -> float:
    """How old a replica's data is (:meth:`ReplicaSet._lag`): ``earlier`` are the primary's
    (time, WAL position) samples of previous checks, ``position`` the one taken at
    ``sampled_at`` just before the replica said it had ``replayed`` so far."""
    if replayed is None:  # never replayed anything yet: behind, by how much unknown
        return math.inf
    if replayed >= position:
        return 0.0
    if not earlier:
        return math.inf if commit_age is None else max(0.0, commit_age)
    behind_since = next((when for when, at in earlier if at > replayed), sampled_at)
    return max(0.0, now - behind_since)


def _display_name(url: str) -> str:
    """host:port/database of a URL, without its credentials (logs and /readyz)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


class ReplicaSet:
    """The replicas of one API process, picked in turn among the healthy ones."""

    def __init__(self, settings: Settings, replicas: list[Replica], primary: AsyncEngine) -> None:
        self.max_lag = settings.replica_max_lag_seconds
        self.interval = settings.replica_check_seconds
        self.timeout = min(settings.readiness_timeout_seconds, settings.replica_check_seconds)
        self.replicas = replicas
        self.primary = primary
        self._turn = itertools.count()

    @classmethod
    async def from_settings(cls, settings: Settings, primary: AsyncEngine) -> ReplicaSet:
        """The replicas of ``MEIELINN_DATABASE_REPLICA_URLS``; ``primary`` is the app's engine
        (the primary's WAL position is what a replica's lag is measured against)."""
        replicas = []
        for url in settings.replica_url_list:
            engine = create_engine(settings, pre_ping=False, url=url, read_only=True)
            read_pool = await rawsql.create_read_pool(settings, url=url, read_only=True)
            name = _display_name(url)
            replicas.append(Replica(name, engine, create_sessionmaker(engine), read_pool))
        return cls(settings, replicas, primary)

    def pick(self) -> Replica | None:
        """A healthy replica (in turn), or None: read from the primary. Starts a check of
        every replica whose last one is older than the interval, without waiting for it."""
        now = time.monotonic()
        for replica in self.replicas:
            if now - replica.checked_at >= self.interval and replica.checking is None:
                replica.checking = asyncio.create_task(self._check(replica))
        healthy = [replica for replica in self.replicas if replica.healthy]
        if not healthy:
            return None
        return healthy[next(self._turn) % len(healthy)]

    async def check_all(self) -> None:
        """Check every replica now (start-up, tests)."""
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            lag = await asyncio.wait_for(self._lag(replica), self.timeout)
        except Exception as exc:  # any failure: not usable until a later check
            if replica.healthy:
                log.warning(
                    "replica unreachable; reads go elsewhere",
                    extra={"replica": replica.name, "error": type(exc).__name__},
                )
            replica.healthy, replica.lag_seconds = False, None
        else:
            was = replica.healthy
            replica.lag_seconds = lag
            if not was and lag <= self.max_lag:
                # Back (or first seen): its pools start afresh, so that connections made
                # before it went away do not fail the first reads one by one.
                await replica.engine.dispose()
                await replica.read_pool.expire_connections()
            replica.healthy = lag <= self.max_lag
            if was and not replica.healthy:
                log.warning(
                    "replica behind; reads go elsewhere",
                    extra={"replica": replica.name, "lag_seconds": round(lag, 1)},
                )
        finally:
            replica.checked_at = time.monotonic()
            replica.checking = None

    async def _lag(self, replica: Replica) -> float:
        """How old the replica's data is: 0 when it has replayed everything the primary had
        written at the moment it was asked; else the time since the primary first had WAL
        the replica has not replayed yet (from this process's samples of the primary's
        position, one per check). Unlike the age of the last replayed commit, this does not
        grow while the primary is idle, and it grows while the replica is cut off from a
        primary that writes. With no earlier sample (the first check), the age of the last
        replayed commit stands in."""
        async with self.primary.connect() as connection:
            position = float((await connection.execute(PRIMARY_POSITION_SQL)).scalar_one())
        sampled_at = time.monotonic()
        async with replica.engine.connect() as connection:
            standby, replayed, commit_age = (await connection.execute(REPLICA_POSITION_SQL)).one()
        if not standby:
            return 0.0
        history = replica.primary_positions
        earlier = list(history)
        history.append((sampled_at, position))
        while history and history[0][0] < sampled_at - HISTORY_SECONDS:
            history.popleft()
        return lag_seconds(earlier, position, sampled_at, replayed, commit_age, time.monotonic())

    def status(self) -> list[dict[str, Any]]:
        """What the last checks found, per replica."""
        return [
            {
                "replica": replica.name,
                "status": "ok" if replica.healthy else "skipped",
                "lag_seconds": None
                if replica.lag_seconds is None or math.isinf(replica.lag_seconds)
                else round(replica.lag_seconds, 2),
            }
            for replica in self.replicas
        ]

    async def dispose(self) -> None:
        for replica in self.replicas:
            if replica.checking is not None:
                replica.checking.cancel()
            await replica.engine.dispose()
            await replica.read_pool.close()


def may_read_stale(request: Request) -> bool:
    """The read-your-writes rule (module docstring): True for an anonymous GET or HEAD by a
    client that has not written lately."""
    if request.method not in _SAFE_METHODS:
        return False
    headers = request.headers
    if "authorization" in headers or "x-api-key" in headers:
        return False
    if "api_key" in request.query_params:
        return False
    cookies = request.cookies
    return WROTE_COOKIE not in cookies and SIGN_IN_COOKIE not in cookies


def _replicas(request: Request) -> ReplicaSet | None:
    found: ReplicaSet | None = getattr(request.app.state, "replicas", None)
    return found


def read_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The sessionmaker this request's public reads use: a healthy replica's, when the
    request may read stale data, else the primary's. A streamed answer (open data) opens
    its sessions on it."""
    replicas = _replicas(request)
    if replicas is not None and may_read_stale(request):
        replica = replicas.pick()
        if replica is not None:
            _remember(request.scope, replica)
            return replica.sessionmaker
    primary: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return primary


def _remember(scope: MutableMapping[str, Any], replica: Replica) -> None:
    # The error handler calls it when a database error ends the request (service.errors).
    scope[REPLICA_FAILED] = replica.mark_down


async def get_read_session(request: Request, primary: SessionDep) -> AsyncIterator[AsyncSession]:
    """A session for public reads: on a healthy replica when the read-your-writes rule
    allows, else the request's own session on the primary. A replica that cannot give a
    connection is marked down, and the read goes to the primary. Nothing is written through
    a replica's session, so it is closed (its read-only transaction ended) without a commit."""
    chosen = read_sessionmaker(request)
    if chosen is request.app.state.sessionmaker:
        yield primary
        return
    session = chosen()
    try:
        await session.connection()
    except Exception:  # unreachable, refusing, pool exhausted: the primary reads instead
        await session.close()
        failed = request.scope.pop(REPLICA_FAILED, None)
        if failed is not None:
            failed()
        yield primary
        return
    async with session:
        yield session


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[rawsql.Db]:
    """Where the hottest public reads run (``service.rawsql.reading``): a connection of a
    healthy replica's read pool when the request may read stale data, else the primary's
    read pool. A replica failing under the read reruns the request on the primary, as
    :func:`get_read_session` does."""
    replicas = _replicas(request)
    replica = replicas.pick() if replicas is not None and may_read_stale(request) else None
    if replica is None:
        async with rawsql.reading(request.app.state) as db:
            yield db
        return
    _remember(request.scope, replica)
    async with rawsql.read_connection(replica.read_pool, request.app.state.settings) as db:
        yield db


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


class RememberWrites:
    """Sets the ``meielinn_wrote`` cookie on the answer to every write, for as long as a
    replica may be behind (installed only when replicas are configured)."""

    def __init__(self, app: ASGIApp, *, seconds: int) -> None:
        self.app = app
        self.header = (
            f"{WROTE_COOKIE}=1; Max-Age={seconds}; Path=/; HttpOnly; SameSite=Lax".encode()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def marking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", self.header)]
            await send(message)

        await self.app(scope, receive, marking_send)

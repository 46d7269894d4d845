"""``Idempotency-Key`` for POST requests, after the IETF httpapi draft.

* The same key with the same request body answers with the stored response again
  (header ``Idempotent-Replayed: true``), without doing the work twice.
* The same key with a different body: 422 (``idempotency-key-reused``).
* The same key while the first request is still being processed: 409
  (``idempotency-key-in-flight``).
* Keys are kept for ``MEIELINN_IDEMPOTENCY_HOURS`` (24 by default) per caller.

The stored response is written in the same transaction as the work it answers, so either
both are committed or neither is. A short Redis lock marks a key in flight; it is released
when the request fails (nothing was committed, so a retry may do the work) and otherwise
simply expires, by which time the committed record answers the retries.
Only successful responses are stored: after an error the client may try again.

A route takes :data:`IdempotentPostDep` and hands its work to :meth:`IdempotentPost.run`
(``POST /v1/reports``, Open311 ``POST requests`` and ``POST servicerequestupdates``): the
stored answer is replayed with its status, ``Location`` and ``ETag`` (recovered from the
stored body's version, the only place it is kept), or the work runs and its answer is
stored. The route renders the :class:`Answer`'s body with
:meth:`Answer.response_headers`. A key costs one lookup and one upsert on the request's
connection and one Redis ``SET``; a request without a key costs nothing more.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy import Column, LargeBinary, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from service import rawsql
from service.auth.actor import Actor
from service.clock import NowDep
from service.db import SessionDep, timestamp
from service.errors import Conflict, InvalidInput

LOCK_SECONDS = 30
MAX_KEY_LENGTH = 255


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a request sent with an ``Idempotency-Key``, kept for a day."""

    __tablename__ = "idempotency_record"

    owner: str = Field(primary_key=True, max_length=80, description="user:<id> or key:<id>")
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    location: str | None = Field(default=None, max_length=300)
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp(index=True)


class KeyReused(InvalidInput):
    slug, title = "idempotency-key-reused", "Idempotency-Key reused with another request"


class KeyInFlight(Conflict):
    slug, title = "idempotency-key-in-flight", "A request with this Idempotency-Key is running"


@dataclass(frozen=True)
class IdempotencyContext:
    owner: str
    key: str
    fingerprint: str


def parse_key(header: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header (a structured-field string, quotes optional)."""
    if header is None:
        return None
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            field="Idempotency-Key",
        )
    return key


def fingerprint(method: str, path: str, payload: Any) -> str:
    """A digest of what the request asks for (JSON key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


# Prepared once per connection (service/rawsql.py): the stored answer, and storing one
# (replacing an expired record of the same key).
LOOKUP_SQL = """SELECT owner, key, fingerprint, status_code, body, location, created_at,
    expires_at FROM idempotency_record WHERE owner = $1 AND key = $2 AND expires_at > $3"""
REMEMBER_SQL = """INSERT INTO idempotency_record
    (owner, key, fingerprint, status_code, body, location, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (owner, key) DO UPDATE SET fingerprint = excluded.fingerprint,
    status_code = excluded.status_code, body = excluded.body, location = excluded.location,
    created_at = excluded.created_at, expires_at = excluded.expires_at"""


def _lock_name(context: IdempotencyContext) -> str:
    digest = hashlib.sha256(context.key.encode()).hexdigest()[:32]
    return f"meielinn:idempotency:{context.owner}:{digest}"


async def begin(
    session: AsyncSession, redis: Redis, context: IdempotencyContext, now: datetime
) -> IdempotencyRecord | None:
    """The stored answer to replay, or None after taking the in-flight lock."""
    row = await rawsql.fetchrow(session, LOOKUP_SQL, context.owner, context.key, now)
    record = IdempotencyRecord(**dict(row)) if row is not None else None
    if record is not None:
        if record.fingerprint != context.fingerprint:
            raise KeyReused("This Idempotency-Key was used for a different request; use a new key.")
        return record
    if not await redis.set(_lock_name(context), "1", nx=True, ex=LOCK_SECONDS):
        raise KeyInFlight("The first request with this Idempotency-Key is still running.")
    return None


async def remember(
    session: AsyncSession,
    context: IdempotencyContext,
    *,
    status_code: int,
    body: bytes,
    location: str | None,
    now: datetime,
    hours: int,
) -> None:
    """Store the answer in the current transaction (replacing an expired record), in one
    statement."""
    await rawsql.fetchrow(
        session,
        REMEMBER_SQL,
        context.owner,
        context.key,
        context.fingerprint,
        status_code,
        body,
        location,
        now,
        now + timedelta(hours=hours),
    )


async def release(redis: Redis, context: IdempotencyContext) -> None:
    await redis.delete(_lock_name(context))


@dataclass(frozen=True)
class Answer:
    """What a request answered: status and body, the ``Location`` of what it created and the
    ``ETag`` of its version. ``headers`` belong to the first answer only (a quota's fields
    describe that moment); a replay carries ``Idempotent-Replayed`` instead."""

    status_code: int
    body: bytes
    location: str | None = None
    etag: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    replayed: bool = False

    def response_headers(self) -> dict[str, str]:
        headers = {"Idempotent-Replayed": "true"} if self.replayed else dict(self.headers)
        if self.etag is not None:
            headers["ETag"] = self.etag
        if self.location:
            headers["Location"] = self.location
        return headers


def owner_of(actor: Actor) -> str:
    """Keys are kept per caller: an API key and its owner do not share them."""
    return f"key:{actor.api_key_id}" if actor.api_key_id else f"user:{actor.user_id}"


def _stored_etag(body: bytes, version_member: str | None) -> str | None:
    """The ``ETag`` of a stored answer: its body's version, quoted as every route quotes it."""
    if version_member is None:
        return None
    version = json.loads(body).get(version_member)
    return None if version is None else f'"{version}"'


@dataclass(frozen=True)
class IdempotentPost:
    """A POST done at most once per ``Idempotency-Key`` and caller, in the request's
    transaction at the request's ``now`` (a route takes it as :data:`IdempotentPostDep`)."""

    session: AsyncSession
    redis: Redis
    now: datetime
    hours: int

    async def run(
        self,
        actor: Actor,
        header: str | None,
        *,
        path: str,
        payload: Any,
        work: Callable[[], Awaitable[Answer]],
        default_key: str | None = None,
        version_member: str | None = None,
    ) -> Answer:
        """``work``'s answer, or the stored answer of an earlier identical request with the
        same key (the ``Idempotency-Key`` ``header``, else ``default_key``; without either
        the work just runs). ``payload`` is what the request asks for, compared by digest;
        ``version_member`` names the body's member the replayed ``ETag`` quotes.

        The answer is stored in the caller's transaction, so it is committed with the work
        or not at all; when the work fails the key is free again at once."""
        key = parse_key(header) or default_key
        if key is None:
            return await work()
        context = IdempotencyContext(
            owner=owner_of(actor), key=key, fingerprint=fingerprint("POST", path, payload)
        )
        stored = await begin(self.session, self.redis, context, self.now)
        if stored is not None:
            return Answer(
                stored.status_code,
                stored.body,
                location=stored.location,
                etag=_stored_etag(stored.body, version_member),
                replayed=True,
            )
        try:
            answer = await work()
            await remember(
                self.session,
                context,
                status_code=answer.status_code,
                body=answer.body,
                location=answer.location,
                now=self.now,
                hours=self.hours,
            )
        except BaseException:
            await release(self.redis, context)
            raise
        return answer

    async def stored(
        self, actor: Actor, header: str | None, *, path: str, payload: Any
    ) -> Answer | None:
        """The stored answer of an earlier identical request, looked up without taking the
        in-flight lock: for a route that does slow work (fetching) before :meth:`run`."""
        key = parse_key(header)
        if key is None:
            return None
        context = IdempotencyContext(
            owner=owner_of(actor), key=key, fingerprint=fingerprint("POST", path, payload)
        )
        row = await rawsql.fetchrow(self.session, LOOKUP_SQL, context.owner, context.key, self.now)
        if row is None:
            return None
        if row["fingerprint"] != context.fingerprint:
            raise KeyReused("This Idempotency-Key was used for a different request; use a new key.")
        return Answer(row["status_code"], row["body"], location=row["location"], replayed=True)


async def idempotent_post(request: Request, session: SessionDep, now: NowDep) -> IdempotentPost:
    state = request.app.state
    return IdempotentPost(session, state.redis, now, state.settings.idempotency_hours)


IdempotentPostDep = Annotated[IdempotentPost, Depends(idempotent_post)]


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) <= now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

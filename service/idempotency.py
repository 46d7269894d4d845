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

Routers use :func:`run_once` (``POST /v1/reports``, Open311 ``POST requests``): it replays a
stored answer or runs the work and stores its answer, and leaves building the HTTP response
to the router.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service import rawsql
from service.auth.actor import Actor
from service.errors import Conflict, InvalidInput
from service.reports.models import IdempotencyRecord

LOCK_SECONDS = 30
MAX_KEY_LENGTH = 255


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


async def stored_answer(
    session: AsyncSession,
    *,
    actor: Actor,
    key: str | None,
    method: str,
    path: str,
    payload: Any,
    now: datetime,
) -> Answer | None:
    """The stored answer of an earlier identical request, looked up without taking the
    in-flight lock: for a caller that does slow work (fetching) before :func:`run_once`."""
    if key is None:
        return None
    context = IdempotencyContext(
        owner=owner_of(actor), key=key, fingerprint=fingerprint(method, path, payload)
    )
    row = await rawsql.fetchrow(session, LOOKUP_SQL, context.owner, context.key, now)
    if row is None:
        return None
    if row["fingerprint"] != context.fingerprint:
        raise KeyReused("This Idempotency-Key was used for a different request; use a new key.")
    return Answer(row["status_code"], row["body"], row["location"])


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
    """What a request answered: status, body and the ``Location`` of what it created."""

    status_code: int
    body: bytes
    location: str | None = None


def owner_of(actor: Actor) -> str:
    """Keys are kept per caller: an API key and its owner do not share them."""
    return f"key:{actor.api_key_id}" if actor.api_key_id else f"user:{actor.user_id}"


async def run_once(
    session: AsyncSession,
    redis: Redis,
    *,
    actor: Actor,
    key: str | None,
    method: str,
    path: str,
    payload: Any,
    now: datetime,
    hours: int,
    work: Callable[[], Awaitable[Answer]],
) -> tuple[Answer, bool]:
    """``work``'s answer, or with ``key`` the stored answer of an earlier identical request.

    Returns ``(answer, replayed)``. The answer is stored in the caller's transaction, so it
    is committed with the work or not at all."""
    if key is None:
        return await work(), False
    context = IdempotencyContext(
        owner=owner_of(actor), key=key, fingerprint=fingerprint(method, path, payload)
    )
    stored = await begin(session, redis, context, now)
    if stored is not None:
        return Answer(stored.status_code, stored.body, stored.location), True
    try:
        answer = await work()
        await remember(
            session,
            context,
            status_code=answer.status_code,
            body=answer.body,
            location=answer.location,
            now=now,
            hours=hours,
        )
    except BaseException:
        await release(redis, context)
        raise
    return answer, False


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) <= now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

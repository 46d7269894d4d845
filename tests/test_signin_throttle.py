"""Sign-in throttling: counted before the password is checked, atomically, and shaped so a
stranger cannot lock the owner out (service/auth/throttle.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from service.config import Settings
from tests.factories import PASSWORD, bearer, client_from, make_user

PROBLEM = "application/problem+json"
WRONG = "wrong password!"


async def _login(client: AsyncClient, email: str, password: str = PASSWORD) -> Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


async def _failed_checks(session: AsyncSession, user_id: Any) -> int:
    rows = await session.execute(
        select(AuditEvent).where(
            AuditEvent.action == "auth.login_failed", AuditEvent.subject_id == str(user_id)
        )
    )
    return len(rows.scalars().all())


class _OneAtATimeSession(AsyncSession):
    """The test's requests share one connection, which cannot run two transactions at once:
    each session waits for the lock at its first database call and holds it until it closes.
    What a request does before touching the database (the throttle) stays concurrent."""

    lock: asyncio.Lock
    _holding = False

    async def _take(self) -> None:
        if not self._holding:
            await self.lock.acquire()
            self._holding = True

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        await self._take()
        return await super().execute(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        await self._take()
        return await super().get(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        await self._take()
        await super().flush(*args, **kwargs)

    async def commit(self) -> None:
        await self._take()
        await super().commit()

    async def rollback(self) -> None:
        await self._take()
        await super().rollback()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._holding:
                self._holding = False
                self.lock.release()


def _one_at_a_time(connection: AsyncConnection) -> Callable[[], AsyncSession]:
    session_class = type("Serial", (_OneAtATimeSession,), {"lock": asyncio.Lock()})
    return async_sessionmaker(
        bind=connection,
        class_=session_class,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


async def test_concurrent_attempts_never_check_more_passwords_than_the_limit(
    app: FastAPI,
    client: AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    settings: Settings,
) -> None:
    user = await make_user(session, settings)
    app.state.sessionmaker = _one_at_a_time(connection)
    limit = settings.login_attempts_per_minute_per_account_ip

    answers = await asyncio.gather(*(_login(client, user.email, WRONG) for _ in range(20)))

    statuses = [answer.status_code for answer in answers]
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == 20 - limit, statuses
    # Each 401 is one password checked (and audited); no more than the limit ran.
    assert await _failed_checks(session, user.id) == limit


async def test_failures_from_one_address_do_not_lock_the_owner_out_of_another(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    owner = await make_user(session, settings)
    async with client_from(app, "203.0.113.66") as stranger:
        answers = [(await _login(stranger, owner.email, WRONG)).status_code for _ in range(30)]
    limit = settings.login_attempts_per_minute_per_account_ip
    assert answers[:limit] == [401] * limit
    assert set(answers[limit:]) == {429}
    async with client_from(app, "198.51.100.10") as home:
        assert (await _login(home, owner.email)).status_code == 200


async def test_the_loose_account_window_spares_addresses_the_owner_used_before(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"login_attempts_per_account": 4})
    owner = await make_user(session, settings)
    async with client_from(app, "198.51.100.10") as home:
        assert (await _login(home, owner.email)).status_code == 200  # counts 1 of 4

    # Guessing spread over many addresses fills the account's window...
    statuses = []
    for number in range(5):
        async with client_from(app, f"203.0.113.{number + 1}") as stranger:
            statuses.append((await _login(stranger, owner.email, WRONG)).status_code)
    assert statuses == [401, 401, 401, 429, 429]

    # ...which stops new addresses, the right password too, but not the owner's usual one.
    async with client_from(app, "192.0.2.200") as elsewhere:
        blocked = await _login(elsewhere, owner.email)
    assert blocked.status_code == 429
    assert blocked.headers["content-type"] == PROBLEM
    assert int(blocked.headers["retry-after"]) > 0
    async with client_from(app, "198.51.100.10") as home:
        assert (await _login(home, owner.email)).status_code == 200


async def test_the_tight_window_counts_every_attempt_and_a_success_empties_it(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    limit = settings.login_attempts_per_minute_per_account_ip
    for _ in range(limit - 1):
        assert (await _login(client, user.email, WRONG)).status_code == 401
    assert (await _login(client, user.email)).status_code == 200
    # The mistakes before the success no longer count.
    for _ in range(limit):
        assert (await _login(client, user.email, WRONG)).status_code == 401
    blocked = await _login(client, user.email)  # even the right password waits now
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 61


async def test_unknown_and_known_accounts_are_throttled_alike(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    limit = settings.login_attempts_per_minute_per_account_ip
    for email in (user.email, "nobody-here@example.org"):
        statuses = [(await _login(client, email, WRONG)).status_code for _ in range(limit + 1)]
        assert statuses == [401] * limit + [429], email


async def test_checking_the_current_password_counts_as_a_sign_in_attempt(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    headers = bearer(settings, user)
    body = {"current_password": WRONG, "new_password": "another long one"}
    statuses = []
    for _ in range(settings.login_attempts_per_minute_per_account_ip + 1):
        statuses.append(
            (await client.post("/v1/me/password", json=body, headers=headers)).status_code
        )
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {403}

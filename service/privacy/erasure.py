"""Erasure (``DELETE /v1/me``) and export (``GET /v1/me/export``) of a person's data.

Design: an anonymised tombstone per person, not a nullable ``reporter_id``.

``report.reporter_id`` is ``ON DELETE RESTRICT`` and much more than the report points at the
account: ratings (one per person per round), supports (one per person per report),
attendance (one per person per session), enrolments, confirmations. Deleting the account
would either fail or, through the cascades, delete those rows and change the city's figures
(average ratings, reopen rates, supporters, a programme's attendance and qualified count).
Making every one of those columns nullable would also drop the "one per person" rules the
unique keys enforce. One shared "erased user" would break the same keys as soon as two erased
people rated the same answer. So the account row stays as a per-person tombstone: a random id
with no email address, name, password, sessions, keys or roles, disabled, ``erased_at`` set.
Every statistic stays true, and nothing that remains says who the person was. Each package
removes or redacts what it holds in its registered step (``service.privacy.steps``).

Who may erase: a signed-in person, with their password (re-authentication; a session alone is
not enough, because a refreshed access token is always fresh and a stolen refresh token would
then be enough to erase the account). API keys are refused. Accounts holding staff,
supervisor, moderator, coordinator or admin roles are refused with 409: their work is the
city's record (who answered, who moderated), and an administrator first takes the roles away
(the last admin cannot lock the city out by erasing themselves). The ambassador role is a
resident's, and ends with the erasure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.service import record as audit
from service.auth.actor import Actor
from service.auth.models import Role, User
from service.auth.passwords import verify_password
from service.config import Settings
from service.errors import Conflict, Forbidden, NotFound
from service.privacy.registry import Erasure, Person
from service.privacy.steps import STEPS

# Roles that belong to the person as a resident: erasing the account ends them.
RESIDENT_ROLES = frozenset({Role.ambassador})


def person_of(user: User) -> Person:
    return Person(id=user.id, email=user.email, display_name=user.display_name)


async def _live_account(session: AsyncSession, actor: Actor) -> User:
    user = await session.get(User, actor.user_id, with_for_update=True)
    if user is None or user.erased_at is not None:
        raise NotFound("No such account.")
    return user


async def erase_person(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    """Run every package's erasure step for ``person``; returns the rows changed."""
    changed = 0
    for step in STEPS:
        changed += await step.erase(session, person, erasure)
    await session.flush()
    return changed


async def erase_me(
    session: AsyncSession, settings: Settings, actor: Actor, password: str, now: datetime
) -> None:
    """Erase the caller's account after checking their password (see the module's notes)."""
    user = await _live_account(session, actor)
    if not await verify_password(settings, user.password_hash, password):
        await audit(
            session,
            "user.erasure_refused",
            actor_user_id=user.id,
            ip=actor.ip,
            subject_type="user",
            subject_id=user.id,
        )
        raise Forbidden("The password is wrong.", field="password", keep_changes=True)
    held = sorted({str(role) for role, _ in actor.grants} - set(RESIDENT_ROLES))
    if held:
        raise Conflict(
            f"This account holds the role {', '.join(held)}: an administrator removes the "
            "city's roles before the account can be erased.",
            reason="holds_roles",
        )
    changed = await erase_person(session, person_of(user), Erasure(now=now, settings=settings))
    # The log says an account was erased, by its opaque id; nothing of the person.
    await audit(
        session,
        "user.erased",
        actor_user_id=user.id,
        ip=actor.ip,
        subject_type="user",
        subject_id=user.id,
        rows_changed=changed,
    )


async def begin_export(session: AsyncSession, actor: Actor) -> Person:
    """The person to export (the caller), and the export written to the audit log."""
    user = await _live_account(session, actor)
    await audit(
        session,
        "user.exported",
        actor_user_id=user.id,
        ip=actor.ip,
        subject_type="user",
        subject_id=user.id,
    )
    return person_of(user)


async def export_chunks(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person, now: datetime
) -> AsyncIterator[bytes]:
    """The export as a JSON object, one section at a time (each package's data is read and
    sent before the next one's), in a read-only transaction of its own."""
    yield b'{"format":"meielinn-export-1","exported_at":' + to_json(now)
    yield b',"user_id":' + to_json(person.id)
    async with sessionmaker() as session:
        for step in STEPS:
            section: Any = await step.export(session, person)
            yield b"," + to_json(step.section) + b":" + to_json(section, fallback=str)
        await session.rollback()
    yield b"}"

"""A person's own data: erasing their account (``DELETE /v1/me``) and exporting everything
the city holds about them (``GET /v1/me/export``). Every package's part is walked through
the privacy registry (``service.privacy.erasure``), which the packages above register with;
what is checked here is the account's.

Who may erase: a signed-in person, with their password (re-authentication; a session alone is
not enough, because a refreshed access token is always fresh and a stolen refresh token would
then be enough to erase the account). API keys are refused. Accounts holding staff,
supervisor, moderator, coordinator or admin roles are refused with 409: their work is the
city's record (who answered, who moderated), and an administrator first takes the roles away
(the last admin cannot lock the city out by erasing themselves). The ambassador role is a
resident's, and ends with the erasure.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.service import record as audit
from service.auth.actor import Actor
from service.auth.models import Role, User
from service.auth.passwords import verify_password
from service.config import Settings
from service.errors import Conflict, Forbidden, NotFound
from service.privacy.erasure import erase_person
from service.privacy.registry import Erasure, Person

# Roles that belong to the person as a resident: erasing the account ends them.
RESIDENT_ROLES = frozenset({Role.ambassador})


def person_of(user: User) -> Person:
    return Person(id=user.id, email=user.email, display_name=user.display_name)


async def _live_account(session: AsyncSession, actor: Actor) -> User:
    user = await session.get(User, actor.user_id, with_for_update=True)
    if user is None or user.erased_at is not None:
        raise NotFound("No such account.")
    return user


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

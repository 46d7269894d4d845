"""Who may see and run a programme, in one place.

* Everyone sees published programmes (open, running, finished), their sessions, stats and
  coverage. A draft is known only to its coordinators and admins (404 for anyone else).
* A programme is run (changed, its attendance marked, awarded) by its coordinators, the
  coordinators it names, and admins: any other coordinator gets 403.
* Coordinators see participants' names and buildings, never their contact details, and
  never a reporter's personal data (reports are public to them, ``service.reports.access``).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import Forbidden, NotFound
from service.training import repository
from service.training.models import Programme, TrainingSession
from service.training.states import PUBLIC_STATES


async def runs(session: AsyncSession, actor: Actor | None, programme: Programme) -> bool:
    """Whether ``actor`` runs ``programme`` (one of its coordinators, or an admin)."""
    if actor is None or actor.is_api_key:
        return False
    if actor.is_admin:
        return True
    return actor.user_id in await repository.coordinator_ids(session, programme.id)


async def visible_programme(
    session: AsyncSession, actor: Actor | None, programme_id: uuid.UUID, *, lock: bool = False
) -> Programme:
    """The programme if the caller may know of it; 404 otherwise."""
    programme = await repository.programme(session, programme_id, lock=lock)
    if programme is None or (
        programme.state not in PUBLIC_STATES and not await runs(session, actor, programme)
    ):
        raise NotFound("No such programme.")
    return programme


async def run_programme(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID, *, lock: bool = False
) -> Programme:
    """The programme if the caller runs it: 404 when they may not know of it, 403 when
    they see it but do not run it."""
    programme = await visible_programme(session, actor, programme_id, lock=lock)
    if not await runs(session, actor, programme):
        raise Forbidden("Only the programme's coordinators run it.", reason="not_coordinator")
    return programme


async def visible_session(
    session: AsyncSession, actor: Actor | None, session_id: uuid.UUID, *, lock: bool = False
) -> tuple[TrainingSession, Programme]:
    found = await repository.training_session(session, session_id)
    if found is None:
        raise NotFound("No such session.")
    programme = await visible_programme(session, actor, found.programme_id, lock=lock)
    return found, programme


async def run_session(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, *, lock: bool = False
) -> tuple[TrainingSession, Programme]:
    found, programme = await visible_session(session, actor, session_id, lock=lock)
    if not await runs(session, actor, programme):
        raise Forbidden("Only the programme's coordinators run it.", reason="not_coordinator")
    return found, programme

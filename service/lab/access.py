"""Who may see and run what of the living lab, in one place.

* Pilots are run by the city's lab managers, the idea bank's project office (pilots are one
  of its committees' decisions) and admins, city-wide: anyone else learns nothing of them
  (their routes answer 403 by role).
* A participation, its tasks and answers belong to its tester: anyone else gets 404, the
  lab managers included. Managers and organisations see counts and results, never people.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import Role
from service.errors import NotFound
from service.lab import repository
from service.lab.models import Participation, Pilot

MANAGERS = (Role.lab_manager, Role.idea_office, Role.admin)


def manages(actor: Actor | None) -> bool:
    return actor is not None and not actor.is_api_key and actor.has_any_role(*MANAGERS)


async def managed_pilot(
    session: AsyncSession, actor: Actor, pilot_id: uuid.UUID, *, lock: bool = False
) -> Pilot:
    """The pilot, for someone who runs pilots (the route checks the role)."""
    found = await repository.pilot(session, pilot_id, lock=lock)
    if found is None or not manages(actor):
        raise NotFound("No such pilot.")
    return found


async def own_participation(
    session: AsyncSession, actor: Actor, participation_id: uuid.UUID, *, lock: bool = False
) -> Participation:
    found = await repository.participation(session, participation_id, lock=lock)
    if found is None or found.user_id is None or found.user_id != actor.user_id:
        raise NotFound("No such participation.")
    return found

"""Who may work on a department's reports (PRODUCT.md §1, §4).

* staff of a department work its reports;
* supervisors work the reports of their department and of every department below it, and
  decide what staff may only ask for (extensions, direct transfers);
* admins act as supervisors everywhere (the last step of an escalation reaches them).

API keys hold no roles, so they never work a queue. A caller with no power over a report's
department gets 404 for the report (they may not know it exists) and 403 for a queue.
"""

from __future__ import annotations

import uuid
from enum import IntEnum

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import Role
from service.city import service as city
from service.errors import Forbidden, NotFound


class Power(IntEnum):
    staff = 1
    supervisor = 2


async def powers(session: AsyncSession, actor: Actor | None) -> dict[uuid.UUID, Power]:
    """Every department the actor may work in, with the power they hold there."""
    if actor is None or actor.is_api_key:
        return {}
    result: dict[uuid.UUID, Power] = dict.fromkeys(actor.departments(Role.staff), Power.staff)
    for root in actor.departments(Role.supervisor):
        for department in await city.department_subtree(session, root):
            result[department] = Power.supervisor
    return result


async def power_in(
    session: AsyncSession, actor: Actor | None, department_id: uuid.UUID
) -> Power | None:
    """The actor's power in one department, or None."""
    if actor is None or actor.is_api_key:
        return None
    if actor.is_admin:
        return Power.supervisor
    return (await powers(session, actor)).get(department_id)


async def require_power(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    *,
    at_least: Power = Power.staff,
    hide: bool = True,
) -> Power:
    """The actor's power in ``department_id``: 404 (``hide``, for a report) or 403 (for a
    queue) without any, 403 when below ``at_least``."""
    power = await power_in(session, actor, department_id)
    if power is None:
        if hide:
            raise NotFound("No such report.")
        raise Forbidden("You do not work in this department.")
    if power < at_least:
        raise Forbidden(f"This needs the department's {at_least.name}.", reason="needs_supervisor")
    return power

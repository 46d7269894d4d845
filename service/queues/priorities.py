"""A department's response priorities: its own levels (e.g. "urgent", "routine"), each
optionally mapped to a code of the city's own case system. Supervisors of the department
(and admins) manage them; its staff list them to set a report's priority."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.city import service as city
from service.errors import Conflict, NotFound
from service.queues import repository
from service.queues.access import Power, require_power
from service.queues.models import ResponsePriority
from service.queues.schemas import PriorityCreate, PriorityUpdate


async def _department(
    session: AsyncSession, actor: Actor, department_id: uuid.UUID, at_least: Power
) -> None:
    await city.get_department(session, department_id)
    await require_power(session, actor, department_id, at_least=at_least, hide=False)


async def list_priorities(
    session: AsyncSession, actor: Actor, department_id: uuid.UUID, *, include_inactive: bool
) -> list[ResponsePriority]:
    await _department(session, actor, department_id, Power.staff)
    return await repository.priorities(session, department_id, include_inactive=include_inactive)


async def create_priority(
    session: AsyncSession, actor: Actor, department_id: uuid.UUID, body: PriorityCreate
) -> ResponsePriority:
    await _department(session, actor, department_id, Power.supervisor)
    if await repository.priority_code_taken(session, department_id, body.code):
        raise Conflict(f"The department has a priority {body.code} already.", field="code")
    priority = ResponsePriority(department_id=department_id, **body.model_dump())
    session.add(priority)
    await session.flush()
    return priority


async def _own(
    session: AsyncSession, department_id: uuid.UUID, priority_id: uuid.UUID
) -> ResponsePriority:
    priority = await repository.priority(session, priority_id)
    if priority is None or priority.department_id != department_id:
        raise NotFound("No such priority.")
    return priority


async def update_priority(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    priority_id: uuid.UUID,
    body: PriorityUpdate,
) -> ResponsePriority:
    await _department(session, actor, department_id, Power.supervisor)
    priority = await _own(session, department_id, priority_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None and name != "external_code":
            continue  # only the external code can be removed
        setattr(priority, name, value)
    await session.flush()
    return priority


async def delete_priority(
    session: AsyncSession, actor: Actor, department_id: uuid.UUID, priority_id: uuid.UUID
) -> None:
    """Reports that had it keep no priority (deactivate instead to keep them)."""
    await _department(session, actor, department_id, Power.supervisor)
    priority = await _own(session, department_id, priority_id)
    await session.delete(priority)
    await session.flush()

"""Departments: the tree, adding and changing departments. Services never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.city.calendars import repository as calendars
from service.city.departments import repository
from service.city.models import Department
from service.city.schemas import DepartmentCreate, DepartmentPublic, DepartmentUpdate
from service.errors import Conflict, InvalidInput, NotFound


def department_public(department: Department) -> DepartmentPublic:
    return DepartmentPublic.model_validate(department, from_attributes=True)


async def get_department(session: AsyncSession, department_id: uuid.UUID) -> Department:
    department = await repository.get(session, department_id)
    if department is None:
        raise NotFound("No such department.")
    return department


async def list_departments(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[Department]:
    return await repository.listed(session, include_inactive=include_inactive)


async def department_subtree(session: AsyncSession, root_id: uuid.UUID) -> list[uuid.UUID]:
    """The department and all below it (a supervisor sees the queues of the subtree)."""
    return await repository.subtree(session, root_id)


async def _check_parent(
    session: AsyncSession, department_id: uuid.UUID | None, parent_id: uuid.UUID | None
) -> None:
    if parent_id is None:
        return
    if await repository.get(session, parent_id) is None:
        raise InvalidInput("The parent department does not exist.", field="parent_id")
    if department_id is not None and parent_id in await repository.subtree(session, department_id):
        raise InvalidInput(
            "A department cannot be placed under itself or one of its own sub-departments.",
            field="parent_id",
        )


async def _check_calendar(session: AsyncSession, calendar_id: uuid.UUID | None) -> None:
    if calendar_id is not None and await calendars.get(session, calendar_id) is None:
        raise InvalidInput("The calendar does not exist.", field="calendar_id")


async def create_department(session: AsyncSession, body: DepartmentCreate) -> Department:
    await _check_parent(session, None, body.parent_id)
    await _check_calendar(session, body.calendar_id)
    if await repository.code_taken(session, body.code):
        raise Conflict(f"A department with code {body.code} exists.", field="code")
    return await repository.add(session, Department(**body.model_dump()))


async def update_department(
    session: AsyncSession, department_id: uuid.UUID, body: DepartmentUpdate
) -> Department:
    department = await get_department(session, department_id)
    changes = body.model_dump(exclude_unset=True)
    if "parent_id" in changes:
        await _check_parent(session, department.id, changes["parent_id"])
    if "calendar_id" in changes:
        await _check_calendar(session, changes["calendar_id"])
    for name, value in changes.items():
        setattr(department, name, value)
    await session.flush()
    return department


async def department_detail(
    session: AsyncSession, department: Department
) -> tuple[list[tuple[uuid.UUID, str]], list[uuid.UUID]]:
    """(supervisors as (user id, display name), child department ids)."""
    return (
        await repository.supervisors(session, department.id),
        await repository.children(session, department.id),
    )

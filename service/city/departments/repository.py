"""Department SQL: lookups, the subtree, supervisors and children."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, RoleGrant, User
from service.city.models import Department


async def get(session: AsyncSession, department_id: uuid.UUID) -> Department | None:
    return await session.get(Department, department_id)


async def listed(session: AsyncSession, *, include_inactive: bool) -> list[Department]:
    query = select(Department).order_by(Department.code)
    if not include_inactive:
        query = query.where(col(Department.active))
    return list((await session.execute(query)).scalars())


async def code_taken(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(exists().where(col(Department.code) == code))))


async def add(session: AsyncSession, department: Department) -> Department:
    session.add(department)
    await session.flush()
    return department


async def subtree(session: AsyncSession, root_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM department WHERE id = :root
                UNION
                SELECT d.id FROM department d JOIN tree t ON d.parent_id = t.id
            )
            SELECT id FROM tree
            """
        ),
        {"root": root_id},
    )
    return [row[0] for row in rows]


async def supervisors(
    session: AsyncSession, department_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(
        select(col(User.id), col(User.display_name))
        .join(RoleGrant, col(RoleGrant.user_id) == User.id)
        .where(
            col(RoleGrant.role) == Role.supervisor, col(RoleGrant.department_id) == department_id
        )
        .order_by(User.display_name)
    )
    return [(row.id, row.display_name) for row in rows]


async def children(session: AsyncSession, department_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(Department.id))
        .where(col(Department.parent_id) == department_id)
        .order_by(Department.code)
    )
    return list(rows.scalars())

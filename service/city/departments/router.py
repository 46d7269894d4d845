"""Department endpoints: the public list and the admin's tree."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.dependencies import AdminActor
from service.auth.policy import PUBLIC
from service.city.departments import service
from service.city.departments.service import department_public
from service.city.models import Department
from service.city.schemas import (
    DepartmentCreate,
    DepartmentDetail,
    DepartmentPublic,
    DepartmentUpdate,
    Supervisor,
)
from service.db import SessionDep
from service.errors import ERRORS

public = APIRouter(prefix="/v1", tags=["city"], dependencies=[PUBLIC])
admin = APIRouter(prefix="/v1/admin", tags=["city admin"])


@public.get("/departments", summary="Active departments and organisations")
async def list_departments(session: SessionDep) -> list[DepartmentPublic]:
    return [department_public(d) for d in await service.list_departments(session)]


async def _detail(session: AsyncSession, department: Department) -> DepartmentDetail:
    supervisors, children = await service.department_detail(session, department)
    return DepartmentDetail(
        **department_public(department).model_dump(),
        calendar_id=department.calendar_id,
        supervisors=[Supervisor(user_id=u, display_name=n) for u, n in supervisors],
        children=children,
    )


@admin.get("/departments", summary="All departments, inactive ones too", responses=ERRORS)
async def admin_list_departments(actor: AdminActor, session: SessionDep) -> list[DepartmentPublic]:
    departments = await service.list_departments(session, include_inactive=True)
    return [department_public(d) for d in departments]


@admin.get(
    "/departments/{department_id}",
    summary="A department with its supervisors and sub-departments",
    responses=ERRORS,
)
async def admin_get_department(
    department_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> DepartmentDetail:
    return await _detail(session, await service.get_department(session, department_id))


@admin.post(
    "/departments",
    status_code=status.HTTP_201_CREATED,
    summary="Add a department, managing organisation or dispatcher",
    responses=ERRORS,
)
async def create_department(
    body: DepartmentCreate, actor: AdminActor, session: SessionDep
) -> DepartmentDetail:
    return await _detail(session, await service.create_department(session, body))


@admin.patch(
    "/departments/{department_id}",
    summary="Change a department (deactivate instead of deleting)",
    responses=ERRORS,
)
async def update_department(
    department_id: uuid.UUID, body: DepartmentUpdate, actor: AdminActor, session: SessionDep
) -> DepartmentDetail:
    department = await service.update_department(session, department_id, body)
    return await _detail(session, department)

"""A department's response priorities: listed for its staff, managed by its supervisors
(and admins)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from service.auth.policy import DEPARTMENTS
from service.db import SessionDep
from service.errors import ERRORS
from service.queues import priorities
from service.queues.models import ResponsePriority
from service.queues.router import Staff
from service.queues.schemas import PriorityCreate, PriorityUpdate, PriorityView

router = APIRouter(
    prefix="/v1/departments/{department_id}/priorities",
    tags=["department work"],
    dependencies=[DEPARTMENTS],
)


def _view(priority: ResponsePriority) -> PriorityView:
    return PriorityView.model_validate(priority, from_attributes=True)


@router.get("", summary="The department's priorities", responses=ERRORS)
async def list_priorities(
    department_id: uuid.UUID, actor: Staff, session: SessionDep, include_inactive: bool = False
) -> list[PriorityView]:
    found = await priorities.list_priorities(
        session, actor, department_id, include_inactive=include_inactive
    )
    return [_view(p) for p in found]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a priority (supervisors)",
    responses=ERRORS,
)
async def create_priority(
    department_id: uuid.UUID, body: PriorityCreate, actor: Staff, session: SessionDep
) -> PriorityView:
    return _view(await priorities.create_priority(session, actor, department_id, body))


@router.patch("/{priority_id}", summary="Change a priority (supervisors)", responses=ERRORS)
async def update_priority(
    department_id: uuid.UUID,
    priority_id: uuid.UUID,
    body: PriorityUpdate,
    actor: Staff,
    session: SessionDep,
) -> PriorityView:
    return _view(await priorities.update_priority(session, actor, department_id, priority_id, body))


@router.delete(
    "/{priority_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a priority (supervisors); its reports keep none",
    responses=ERRORS,
)
async def delete_priority(
    department_id: uuid.UUID, priority_id: uuid.UUID, actor: Staff, session: SessionDep
) -> Response:
    await priorities.delete_priority(session, actor, department_id, priority_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

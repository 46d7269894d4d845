"""Functional areas and their expert pools, kept by admins."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.city.models import Department
from service.errors import Conflict, InvalidInput, NotFound
from service.ideas import access, expert_repository, repository
from service.ideas.models import IdeaArea, IdeaExpert
from service.ideas.schemas import (
    AreaCreate,
    AreaPublic,
    AreaRules,
    AreaUpdate,
    ExpertAdd,
    ExpertMember,
)


def area_public(area: IdeaArea) -> AreaPublic:
    return AreaPublic(
        id=area.id,
        code=area.code,
        name=area.name,
        description=area.description,
        department_id=area.department_id,
        min_reviews=area.min_reviews,
        review_days=area.review_days,
        criteria=list(area.criteria),
        rules=AreaRules.model_validate(area.rules),
        active=area.active,
    )


async def _department(session: AsyncSession, department_id: uuid.UUID) -> None:
    if await session.get(Department, department_id) is None:
        raise InvalidInput("No such department.", field="department_id")


async def create_area(session: AsyncSession, body: AreaCreate) -> IdeaArea:
    await _department(session, body.department_id)
    if await repository.area_codes_taken(session, body.code):
        raise Conflict(f"An area with the code {body.code} exists.", field="code")
    area = IdeaArea(
        code=body.code,
        name=body.name,
        description=body.description,
        department_id=body.department_id,
        min_reviews=body.min_reviews,
        review_days=body.review_days,
        criteria=list(dict.fromkeys(body.criteria)),
        rules=body.rules.model_dump(mode="json"),
    )
    session.add(area)
    await session.flush()
    return area


async def update_area(session: AsyncSession, area_id: uuid.UUID, body: AreaUpdate) -> IdeaArea:
    area = await access.area_or_404(session, area_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "department_id" in changes:
        await _department(session, changes["department_id"])
    for name, value in changes.items():
        if name == "rules":
            area.rules = AreaRules.model_validate(value).model_dump(mode="json")
        elif name == "criteria":
            area.criteria = list(dict.fromkeys(value))
        else:
            setattr(area, name, value)
    await session.flush()
    return area


async def pool(session: AsyncSession, area_id: uuid.UUID) -> list[ExpertMember]:
    await access.area_or_404(session, area_id)
    return [
        ExpertMember(
            user_id=user.id,
            display_name=user.display_name,
            organisation=member.organisation,
            active=member.active,
            open_reviews=load,
        )
        for member, user, load in await expert_repository.pool(session, area_id)
    ]


async def add_expert(session: AsyncSession, area_id: uuid.UUID, body: ExpertAdd) -> None:
    """Add a person to the pool (or change their organisation, re-activating them)."""
    await access.area_or_404(session, area_id)
    user = await session.get(User, body.user_id)
    if user is None or user.contact_only or user.disabled_at is not None:
        raise InvalidInput("No such active account.", field="user_id")
    member = await expert_repository.expert_entry(session, area_id, body.user_id)
    if member is None:
        session.add(
            IdeaExpert(area_id=area_id, user_id=body.user_id, organisation=body.organisation)
        )
    else:
        member.organisation = body.organisation
        member.active = True
    await session.flush()


async def remove_expert(session: AsyncSession, area_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Take a person out of the pool: no new assignments; open reviews stay theirs."""
    member = await expert_repository.expert_entry(session, area_id, user_id)
    if member is None or not member.active:
        raise NotFound("No such pool member.")
    member.active = False
    await session.flush()

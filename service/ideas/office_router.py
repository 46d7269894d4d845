"""Endpoints of the project office (stage 3), the areas' committees (stage 4) and the
admins who keep areas and expert pools. People only: API keys are refused on every one.

* ``idea_office`` (or admin): every submitted idea with its reviews and reviewers, and the
  design decision.
* committee: the supervisors of an area's department (``require_roles(supervisor, admin)``
  on the route, the department in the service): the area's ideas waiting for it, with
  scores but no reviewer's identity, and the ranked decisions.
* admin: areas and their expert pools.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from service.auth.actor import Actor
from service.auth.dependencies import AdminActor, require_roles
from service.auth.models import Role
from service.auth.policy import DEPARTMENTS
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, NotFound
from service.ideas import access, areas, decisions, repository, views
from service.ideas.models import IdeaState
from service.ideas.schemas import (
    AreaCreate,
    AreaPublic,
    AreaUpdate,
    CommitteeDecisions,
    DecisionResult,
    DesignDecision,
    ExpertAdd,
    ExpertMember,
    IdeaStaff,
    StaffIdeaPage,
)

router = APIRouter(tags=["ideas"])
Office = Annotated[Actor, Depends(require_roles(Role.idea_office, Role.admin))]
Committee = Annotated[Actor, Depends(require_roles(Role.supervisor, Role.admin))]


# --- the project office ---------------------------------------------------------------------


@router.get(
    "/v1/idea-office/ideas",
    summary="Submitted ideas with their reviews and reviewers (the project office)",
    responses=ERRORS,
)
async def office_ideas(
    actor: Office,
    session: SessionDep,
    state: IdeaState | None = None,
    area_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> StaffIdeaPage:
    ideas = await repository.ideas_for_office(
        session, state, [area_id] if area_id is not None else None, limit
    )
    return StaffIdeaPage(items=await views.staff_views(session, ideas, with_reviewers=True))


@router.get(
    "/v1/idea-office/ideas/{idea_id}", summary="One submitted idea, in full", responses=ERRORS
)
async def office_idea(idea_id: uuid.UUID, actor: Office, session: SessionDep) -> IdeaStaff:
    idea = await repository.get_idea(session, idea_id)
    if idea is None or idea.state == IdeaState.draft:
        raise NotFound("No such idea.")
    return (await views.staff_views(session, [idea], with_reviewers=True))[0]


@router.post(
    "/v1/idea-office/ideas/{idea_id}/design",
    summary="Approve, return for revision (with comments) or reject (with a reason)",
    responses=ERRORS,
)
async def design_decision(
    idea_id: uuid.UUID, body: DesignDecision, actor: Office, session: SessionDep, now: NowDep
) -> IdeaStaff:
    idea = await decisions.decide_design(session, actor, idea_id, body, now)
    return (await views.staff_views(session, [idea], with_reviewers=True))[0]


# --- committees -----------------------------------------------------------------------------


@router.get(
    "/v1/idea-areas/{area_id}/committee",
    summary="Ideas waiting for the area's committee, best scored first",
    responses=ERRORS,
    dependencies=[DEPARTMENTS],
)
async def committee_queue(
    area_id: uuid.UUID, actor: Committee, session: SessionDep
) -> StaffIdeaPage:
    ideas = await decisions.committee_ideas(session, actor, area_id)
    return StaffIdeaPage(items=await views.staff_views(session, ideas, with_reviewers=False))


@router.post(
    "/v1/idea-areas/{area_id}/decisions",
    summary="Rank and decide ideas of a round: implement, pilot or declined (public)",
    responses=ERRORS,
    dependencies=[DEPARTMENTS],
)
async def committee_decisions(
    area_id: uuid.UUID,
    body: CommitteeDecisions,
    actor: Committee,
    session: SessionDep,
    now: NowDep,
) -> DecisionResult:
    decided = await decisions.decide_round(session, actor, area_id, body, now)
    return DecisionResult(decided=await views.public_views(session, decided))


# --- areas and pools (admins) ---------------------------------------------------------------


@router.post(
    "/v1/idea-areas",
    status_code=status.HTTP_201_CREATED,
    summary="Create a functional area",
    responses=ERRORS,
)
async def create_area(body: AreaCreate, actor: AdminActor, session: SessionDep) -> AreaPublic:
    return areas.area_public(await areas.create_area(session, body))


@router.patch("/v1/idea-areas/{area_id}", summary="Change a functional area", responses=ERRORS)
async def update_area(
    area_id: uuid.UUID, body: AreaUpdate, actor: AdminActor, session: SessionDep
) -> AreaPublic:
    return areas.area_public(await areas.update_area(session, area_id, body))


@router.get("/v1/idea-areas/{area_id}/experts", summary="The area's expert pool", responses=ERRORS)
async def list_experts(
    area_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> list[ExpertMember]:
    return await areas.pool(session, area_id)


@router.post(
    "/v1/idea-areas/{area_id}/experts",
    summary="Add a person to the area's expert pool (with their organisation)",
    responses=ERRORS,
)
async def add_expert(
    area_id: uuid.UUID, body: ExpertAdd, actor: AdminActor, session: SessionDep
) -> list[ExpertMember]:
    await areas.add_expert(session, area_id, body)
    return await areas.pool(session, area_id)


@router.delete(
    "/v1/idea-areas/{area_id}/experts/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a person out of the pool (their open reviews stay theirs)",
    responses=ERRORS,
)
async def remove_expert(
    area_id: uuid.UUID, user_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> None:
    await access.area_or_404(session, area_id)
    await areas.remove_expert(session, area_id, user_id)

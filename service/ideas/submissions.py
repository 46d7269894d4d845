"""The author's side of the idea bank: drafts, edits, submission (which queues the automatic
checks), withdrawal, and residents' supports. Services never commit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point as ShapelyPoint
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.city import service as city
from service.city.models import District
from service.errors import Conflict, InvalidInput
from service.ideas import access, repository
from service.ideas.models import Idea, IdeaReview
from service.ideas.schemas import IdeaCreate, IdeaUpdate, Point, SupportState
from service.ideas.states import (
    EDITABLE_STATES,
    SUPPORTABLE_STATES,
    IdeaAction,
    refuse_unless,
    transition,
)
from service.ideas.timeline import move, record_event
from service.outbox.service import add_job

CHECKS_JOB = "idea_checks"


async def _active_area(session: AsyncSession, area_id: uuid.UUID) -> None:
    area = await repository.get_area(session, area_id)
    if area is None or not area.active:
        raise InvalidInput("No such functional area, or it takes no ideas now.", field="area_id")


async def _place(
    session: AsyncSession, idea: Idea, location: Point | None, district_id: uuid.UUID | None
) -> None:
    """Set the location (a point, whose district is looked up) or a district."""
    if location is not None:
        idea.location = from_shape(ShapelyPoint(location.lon, location.lat), srid=4326)
        district = await city.locate(session, location.lat, location.lon)
        # A point outside the city is kept: the automatic checks tell the author.
        idea.district_id = district.id if district is not None else None
        return
    idea.location = None
    if district_id is not None and await session.get(District, district_id) is None:
        raise InvalidInput("No such district.", field="district_id")
    idea.district_id = district_id


async def create_idea(session: AsyncSession, actor: Actor, body: IdeaCreate, now: datetime) -> Idea:
    """A draft of the caller's."""
    await _active_area(session, body.area_id)
    idea = Idea(
        area_id=body.area_id,
        author_id=actor.user_id,
        organisation=body.organisation,
        title=body.title,
        summary=body.summary,
        problem=body.problem,
        solution=body.solution,
        benefit=body.benefit,
        cost_band=body.cost_band,
        tags=sorted(set(body.tags)),
        created_at=now,
        updated_at=now,
    )
    await _place(session, idea, body.location, body.district_id)
    session.add(idea)
    await session.flush()
    record_event(session, idea, actor.user_id, "created", now, public=False)
    return idea


async def update_idea(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, body: IdeaUpdate, now: datetime
) -> Idea:
    """Change the caller's draft (or an idea returned to them)."""
    idea = await access.own_idea(session, actor, idea_id, lock=True)
    refuse_unless(idea.state, EDITABLE_STATES, "Editing")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "area_id" in changes:
        await _active_area(session, changes["area_id"])
    if "location" in changes or "district_id" in changes:
        await _place(session, idea, body.location, body.district_id)
    for name in ("area_id", "title", "summary", "problem", "solution", "benefit", "cost_band"):
        if name in changes:
            setattr(idea, name, changes[name])
    if "organisation" in changes:
        idea.organisation = changes["organisation"]
    if body.tags is not None:
        idea.tags = sorted(set(body.tags))
    idea.updated_at = now
    record_event(session, idea, actor.user_id, "edited", now, public=False, fields=sorted(changes))
    await session.flush()
    return idea


async def submit_idea(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, now: datetime
) -> Idea:
    """Send the idea to the automatic checks (stage 1), run by a worker."""
    idea = await access.own_idea(session, actor, idea_id, lock=True)
    target = transition(idea.state, IdeaAction.submit)
    await _active_area(session, idea.area_id)
    previous = move(idea, target, now)
    idea.attempt += 1
    idea.round = idea.round or now.year
    idea.submitted_at = now
    idea.check_failures = []
    record_event(
        session, idea, actor.user_id, "submitted", now, from_state=previous, attempt=idea.attempt
    )
    await add_job(session, CHECKS_JOB, f"{idea.id}:{idea.attempt}", str(idea.id), idea.attempt)
    await session.flush()
    return idea


async def withdraw_idea(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, now: datetime
) -> Idea:
    """The author takes the idea back (before a decision); open reviews end."""
    idea = await access.own_idea(session, actor, idea_id, lock=True)
    previous = move(idea, transition(idea.state, IdeaAction.withdraw), now)
    await session.execute(
        update(IdeaReview)
        .where(
            col(IdeaReview.idea_id) == idea.id,
            col(IdeaReview.submitted_at).is_(None),
            col(IdeaReview.lapsed_at).is_(None),
        )
        .values(lapsed_at=now)
    )
    record_event(session, idea, actor.user_id, "withdrawn", now, from_state=previous)
    await session.flush()
    return idea


async def support(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, supported: bool
) -> SupportState:
    """Support a public idea (once per person), or take the support back."""
    idea = await access.public_idea(session, idea_id)
    if supported:
        if idea.author_id == actor.user_id:
            raise Conflict("Authors cannot support their own idea.")
        refuse_unless(idea.state, SUPPORTABLE_STATES, "Supporting")
        changed = await repository.add_support(session, idea.id, actor.user_id)
    else:
        changed = await repository.remove_support(session, idea.id, actor.user_id)
    if changed:
        delta = 1 if supported else -1
        result = await session.execute(
            update(Idea)
            .where(col(Idea.id) == idea.id)
            .values(support_count=col(Idea.support_count) + delta)
            .returning(col(Idea.support_count))
        )
        count = int(result.scalar_one())
    else:
        count = idea.support_count
    return SupportState(supported=supported, support_count=count)


async def support_state(session: AsyncSession, actor: Actor, idea_id: uuid.UUID) -> SupportState:
    idea = await access.public_idea(session, idea_id)
    return SupportState(
        supported=await repository.supports(session, idea.id, actor.user_id),
        support_count=idea.support_count,
    )

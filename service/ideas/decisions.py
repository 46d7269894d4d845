"""Stages 3 and 4: the project office's design decision (approve, return for revision with
comments, reject with a reason) and the committee's ranked decisions (implement, pilot,
declined), which are public with their reasoning."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import InvalidInput, NotFound
from service.ideas import access, repository
from service.ideas.models import Idea, IdeaState
from service.ideas.schemas import CommitteeDecisions, DesignDecision
from service.ideas.states import IdeaAction, transition
from service.ideas.timeline import move, record_event, tell_author

DESIGN_ACTIONS = {
    "approve": IdeaAction.approve,
    "return": IdeaAction.return_for_revision,
    "reject": IdeaAction.reject,
}


async def decide_design(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, body: DesignDecision, now: datetime
) -> Idea:
    """The project office's decision on an idea the experts have scored."""
    idea = await repository.get_idea(session, idea_id, lock=True)
    if idea is None or idea.state == IdeaState.draft:
        raise NotFound("No such idea.")
    previous = move(idea, transition(idea.state, DESIGN_ACTIONS[body.decision]), now)
    idea.design_comment = body.comment or None
    if body.decision == "return":
        # The author may now change it; unchecked texts must not be public, so it leaves the
        # public side until it passes the automatic checks again.
        idea.published_at = None
    public_details: dict[str, Any] = {"reason": body.comment} if body.decision == "reject" else {}
    record_event(
        session,
        idea,
        actor.user_id,
        f"design_{body.decision}",
        now,
        from_state=previous,
        **public_details,
    )
    template = {
        "approve": "idea_design_approved",
        "return": "idea_design_returned",
        "reject": "idea_design_rejected",
    }[body.decision]
    await tell_author(session, idea, template, now, comment=body.comment)
    await session.flush()
    return idea


async def committee_ideas(session: AsyncSession, actor: Actor, area_id: uuid.UUID) -> list[Idea]:
    """The ideas waiting for the area's committee, best scored first."""
    area = await access.committee_area(session, actor, area_id)
    ideas = await repository.ideas_for_office(session, IdeaState.committee, [area.id], 500)
    return sorted(ideas, key=lambda i: (-(i.score_mean or 0), str(i.id)))


async def decide_round(
    session: AsyncSession, actor: Actor, area_id: uuid.UUID, body: CommitteeDecisions, now: datetime
) -> list[Idea]:
    """Rank and decide ideas of one round of the area, all or nothing."""
    area = await access.committee_area(session, actor, area_id)
    ideas: list[Idea] = []
    for item in body.decisions:
        idea = await repository.get_idea(session, item.idea_id, lock=True)
        if idea is None or idea.area_id != area.id or idea.published_at is None:
            raise InvalidInput(
                "Each idea must be one of this area's.",
                field="decisions",
                idea_id=str(item.idea_id),
            )
        if idea.round != body.round:
            raise InvalidInput(
                f"The idea belongs to round {idea.round}, not {body.round}.",
                field="decisions",
                idea_id=str(idea.id),
            )
        target = transition(idea.state, IdeaAction.decide)
        previous = move(idea, target, now)
        idea.decision = item.decision
        idea.decision_reason = item.reasoning
        idea.rank = item.rank
        idea.decided_at = now
        record_event(
            session,
            idea,
            actor.user_id,
            "decided",
            now,
            from_state=previous,
            decision=item.decision.value,
            rank=item.rank,
            reasoning=item.reasoning,
        )
        await tell_author(
            session,
            idea,
            "idea_decided",
            now,
            decision=item.decision.value,
            reasoning=item.reasoning,
        )
        ideas.append(idea)
    await session.flush()
    return ideas

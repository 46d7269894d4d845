"""Who may see and do what with ideas, beyond the route's role check.

* the author: their own ideas (any state), never the reviewers;
* an expert: the ideas they are assigned, as ``IdeaForReview`` (no author);
* the project office (``idea_office``) and admins: every submitted idea, reviewers included;
* the committee of an area: the supervisors of the area's department (and of departments
  above it), for ideas of that area;
* everyone: ideas that passed the automatic checks (``published_at``).

Objects a caller may not know of answer 404.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import Role
from service.errors import Forbidden, NotFound
from service.ideas import repository
from service.ideas.models import Idea, IdeaArea


def is_office(actor: Actor | None) -> bool:
    return actor is not None and actor.has_any_role(Role.idea_office, Role.admin)


def on_committee(actor: Actor, area: IdeaArea) -> bool:
    """Whether the actor sits on the area's committee (or is an admin)."""
    return actor.is_admin or area.department_id in actor.supervised_departments


def is_public(idea: Idea) -> bool:
    return idea.published_at is not None


async def public_idea(session: AsyncSession, idea_id: uuid.UUID) -> Idea:
    idea = await repository.get_idea(session, idea_id)
    if idea is None or not is_public(idea):
        raise NotFound("No such idea.")
    return idea


async def own_idea(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, *, lock: bool = False
) -> Idea:
    """The caller's own idea; 404 for anyone else's."""
    idea = await repository.get_idea(session, idea_id, lock=lock)
    if idea is None or idea.author_id != actor.user_id:
        raise NotFound("No such idea.")
    return idea


async def area_or_404(session: AsyncSession, area_id: uuid.UUID) -> IdeaArea:
    area = await repository.get_area(session, area_id)
    if area is None:
        raise NotFound("No such area.")
    return area


async def committee_area(session: AsyncSession, actor: Actor, area_id: uuid.UUID) -> IdeaArea:
    """An area whose committee the actor sits on; 403 for anyone else."""
    area = await area_or_404(session, area_id)
    if not on_committee(actor, area):
        raise Forbidden(
            "Only the supervisors of the area's department decide its ideas.",
            reason="not_on_committee",
        )
    return area

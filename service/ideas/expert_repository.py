"""SQL of the idea bank's expert stage: pools, loads, assignments and reviews, and the
sweep's claims of reminders and lapses. No rules here (service.ideas.reviews decides)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import DEPARTMENT_ROLES, RoleGrant, User
from service.ideas.models import (
    Idea,
    IdeaArea,
    IdeaExpert,
    IdeaReview,
    IdeaState,
)

OPEN_REVIEW = and_(col(IdeaReview.submitted_at).is_(None), col(IdeaReview.lapsed_at).is_(None))


async def lock_area_assignments(session: AsyncSession, area_id: uuid.UUID) -> None:
    """Hold the area's assignment lock until the transaction ends (the loads read after it
    include every assignment committed before it was granted)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"idea-area-assign:{area_id}"},
    )


async def pool(session: AsyncSession, area_id: uuid.UUID) -> list[tuple[IdeaExpert, User, int]]:
    """The area's pool members with their open reviews (all areas)."""
    load = (
        select(func.count())
        .where(col(IdeaReview.expert_id) == col(IdeaExpert.user_id), OPEN_REVIEW)
        .correlate(IdeaExpert)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(IdeaExpert, User, load.label("load"))
        .join(User, col(User.id) == col(IdeaExpert.user_id))
        .where(col(IdeaExpert.area_id) == area_id)
        .order_by(col(User.display_name), col(User.id))
    )
    return [(row[0], row[1], int(row.load)) for row in rows]


async def expert_entry(
    session: AsyncSession, area_id: uuid.UUID, user_id: uuid.UUID
) -> IdeaExpert | None:
    rows = await session.execute(
        select(IdeaExpert).where(
            col(IdeaExpert.area_id) == area_id, col(IdeaExpert.user_id) == user_id
        )
    )
    return rows.scalar_one_or_none()


async def organisations_of(session: AsyncSession, user_id: uuid.UUID) -> set[str]:
    """The organisations a person is known by in any expert pool (lower case)."""
    rows = await session.execute(
        select(func.lower(col(IdeaExpert.organisation))).where(
            col(IdeaExpert.user_id) == user_id, col(IdeaExpert.organisation).is_not(None)
        )
    )
    return {row[0] for row in rows}


async def colleagues_of(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    """People holding a staff or supervisor grant in a department where ``user_id`` does."""
    mine = select(col(RoleGrant.department_id)).where(
        col(RoleGrant.user_id) == user_id,
        col(RoleGrant.role).in_(DEPARTMENT_ROLES),
        col(RoleGrant.department_id).is_not(None),
    )
    rows = await session.execute(
        select(col(RoleGrant.user_id)).where(
            col(RoleGrant.department_id).in_(mine), col(RoleGrant.role).in_(DEPARTMENT_ROLES)
        )
    )
    return {row[0] for row in rows}


async def assigned_experts(
    session: AsyncSession, idea_id: uuid.UUID, attempt: int
) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(IdeaReview.expert_id)).where(
            col(IdeaReview.idea_id) == idea_id, col(IdeaReview.attempt) == attempt
        )
    )
    return {row[0] for row in rows}


async def is_reviewer(session: AsyncSession, idea_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether the person was ever assigned the idea (any submission of it)."""
    found = await session.execute(
        select(col(IdeaReview.id)).where(
            col(IdeaReview.idea_id) == idea_id, col(IdeaReview.expert_id) == user_id
        )
    )
    return found.first() is not None


async def reviews_of(
    session: AsyncSession, idea_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[IdeaReview]]:
    found: dict[uuid.UUID, list[IdeaReview]] = defaultdict(list)
    if not idea_ids:
        return found
    rows = await session.execute(
        select(IdeaReview)
        .where(col(IdeaReview.idea_id).in_(idea_ids))
        .order_by(col(IdeaReview.assigned_at), col(IdeaReview.id))
    )
    for review in rows.scalars():
        found[review.idea_id].append(review)
    return found


async def get_review(
    session: AsyncSession, review_id: uuid.UUID, *, lock: bool = False
) -> IdeaReview | None:
    query = select(IdeaReview).where(col(IdeaReview.id) == review_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def reviews_of_expert(session: AsyncSession, expert_id: uuid.UUID) -> list[IdeaReview]:
    rows = await session.execute(
        select(IdeaReview)
        .where(col(IdeaReview.expert_id) == expert_id)
        .order_by(col(IdeaReview.assigned_at).desc(), col(IdeaReview.id))
        .limit(500)
    )
    return list(rows.scalars())


async def _claim_reviews(
    session: AsyncSession, condition: Any, order: Any, batch: int
) -> list[IdeaReview]:
    """Lock up to ``batch`` reviews meeting ``condition``, and their ideas: the ideas first,
    then the reviews, the order every writer of a review takes (scoring, withdrawing), so
    that a sweep and a score never wait for each other in a circle. Reviews of an idea
    another transaction holds are left for the next sweep (``SKIP LOCKED``)."""
    candidates = list(
        await session.execute(
            select(col(IdeaReview.id), col(IdeaReview.idea_id))
            .where(condition)
            .order_by(order)
            .limit(batch)
        )
    )
    if not candidates:
        return []
    held = await session.execute(
        select(col(Idea.id))
        .where(col(Idea.id).in_({idea_id for _, idea_id in candidates}))
        .order_by(col(Idea.id))
        .with_for_update(skip_locked=True)
    )
    ideas = set(held.scalars())
    rows = await session.execute(
        select(IdeaReview)
        .where(
            col(IdeaReview.id).in_([r for r, idea_id in candidates if idea_id in ideas]),
            condition,
        )
        .order_by(order)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def claim_reminders(session: AsyncSession, now: datetime, batch: int) -> list[IdeaReview]:
    due = and_(
        OPEN_REVIEW,
        col(IdeaReview.reminded_at).is_(None),
        col(IdeaReview.remind_at) <= now,
        col(IdeaReview.due_at) > now,
    )
    return await _claim_reviews(session, due, col(IdeaReview.remind_at), batch)


async def claim_lapsed(session: AsyncSession, now: datetime, batch: int) -> list[IdeaReview]:
    past = and_(OPEN_REVIEW, col(IdeaReview.due_at) <= now)
    return await _claim_reviews(session, past, col(IdeaReview.due_at), batch)


async def ideas_short_of_experts(session: AsyncSession, batch: int) -> list[uuid.UUID]:
    """Ideas in expert assessment with fewer live reviews (open or in) than their area asks."""
    live = (
        select(func.count())
        .where(
            col(IdeaReview.idea_id) == col(Idea.id),
            col(IdeaReview.attempt) == col(Idea.attempt),
            col(IdeaReview.lapsed_at).is_(None),
        )
        .correlate(Idea)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(col(Idea.id))
        .join(IdeaArea, col(IdeaArea.id) == col(Idea.area_id))
        .where(col(Idea.state) == IdeaState.experts, live < col(IdeaArea.min_reviews))
        .limit(batch)
    )
    return [row[0] for row in rows]

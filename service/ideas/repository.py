"""SQL of the idea bank. No rules here: the services decide, these functions read and write."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import DEPARTMENT_ROLES, Role, RoleGrant, User
from service.db import table_of
from service.ideas.models import (
    Idea,
    IdeaArea,
    IdeaAttachment,
    IdeaEvent,
    IdeaExpert,
    IdeaReview,
    IdeaState,
    IdeaSupport,
)
from service.pagination import keyset_page

OPEN_REVIEW = and_(col(IdeaReview.submitted_at).is_(None), col(IdeaReview.lapsed_at).is_(None))


async def get_idea(
    session: AsyncSession, idea_id: uuid.UUID, *, lock: bool = False, skip_locked: bool = False
) -> Idea | None:
    """The idea; ``lock`` takes its row lock (``skip_locked``: None while another holds it)."""
    query = select(Idea).where(col(Idea.id) == idea_id)
    if lock:
        query = query.with_for_update(skip_locked=skip_locked)
    return (await session.execute(query)).scalar_one_or_none()


async def get_area(session: AsyncSession, area_id: uuid.UUID) -> IdeaArea | None:
    return await session.get(IdeaArea, area_id)


async def list_areas(session: AsyncSession, *, active_only: bool) -> list[IdeaArea]:
    query = select(IdeaArea).order_by(col(IdeaArea.name))
    if active_only:
        query = query.where(col(IdeaArea.active))
    return list((await session.execute(query)).scalars())


async def area_codes_taken(session: AsyncSession, code: str) -> bool:
    found = await session.execute(select(col(IdeaArea.id)).where(col(IdeaArea.code) == code))
    return found.first() is not None


async def attachments_of(
    session: AsyncSession, idea_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[IdeaAttachment]]:
    found: dict[uuid.UUID, list[IdeaAttachment]] = defaultdict(list)
    if not idea_ids:
        return found
    rows = await session.execute(
        select(IdeaAttachment)
        .where(col(IdeaAttachment.idea_id).in_(idea_ids))
        .order_by(col(IdeaAttachment.created_at), col(IdeaAttachment.id))
    )
    for attachment in rows.scalars():
        found[attachment.idea_id].append(attachment)
    return found


def location_columns() -> tuple[Any, Any]:
    return func.ST_Y(col(Idea.location)).label("lat"), func.ST_X(col(Idea.location)).label("lon")


async def points_of(
    session: AsyncSession, idea_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[float, float]]:
    if not idea_ids:
        return {}
    lat, lon = location_columns()
    rows = await session.execute(
        select(col(Idea.id), lat, lon).where(
            col(Idea.id).in_(idea_ids), col(Idea.location).is_not(None)
        )
    )
    return {row.id: (row.lat, row.lon) for row in rows}


def public_query(
    area_id: uuid.UUID | None, state: IdeaState | None, district_id: uuid.UUID | None
) -> Select[Any]:
    query = select(Idea).where(col(Idea.published_at).is_not(None))
    if area_id is not None:
        query = query.where(col(Idea.area_id) == area_id)
    if state is not None:
        query = query.where(col(Idea.state) == state)
    if district_id is not None:
        query = query.where(col(Idea.district_id) == district_id)
    return query


async def public_page(
    session: AsyncSession, query: Select[Any], cursor: str | None, limit: int
) -> tuple[list[Idea], str | None]:
    rows, next_cursor = await keyset_page(
        session,
        query,
        col(Idea.published_at),
        col(Idea.id),
        cursor=cursor,
        limit=limit,
        ascending=False,
        key=lambda row: (row[0].published_at, row[0].id),
    )
    return [row[0] for row in rows], next_cursor


async def public_points(
    session: AsyncSession, query: Select[Any], limit: int
) -> list[tuple[Idea, float, float]]:
    lat, lon = location_columns()
    located = (
        query.add_columns(lat, lon)
        .where(col(Idea.location).is_not(None))
        .order_by(col(Idea.published_at).desc(), col(Idea.id))
        .limit(limit)
    )
    return [(row[0], row.lat, row.lon) for row in await session.execute(located)]


async def similar_public(
    session: AsyncSession, idea: Idea, threshold: float, limit: int = 3
) -> list[tuple[uuid.UUID, str, float]]:
    """Public ideas whose title or summary is at least ``threshold`` similar (trigrams)."""
    best: Any = func.similarity(col(Idea.title), idea.title)
    if idea.summary:
        best = func.greatest(best, func.similarity(col(Idea.summary), idea.summary))
    # ``%`` uses the trigram indexes; its threshold is set for this transaction only.
    await session.execute(
        text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
        {"t": str(threshold)},
    )
    matches: Any = col(Idea.title).op("%")(idea.title)
    if idea.summary:
        matches = or_(matches, col(Idea.summary).op("%")(idea.summary))
    rows = await session.execute(
        select(col(Idea.id), col(Idea.title), best.label("similarity"))
        .where(
            col(Idea.id) != idea.id,
            col(Idea.published_at).is_not(None),
            col(Idea.state) != IdeaState.withdrawn,
            matches,
            best >= threshold,
        )
        .order_by(best.desc())
        .limit(limit)
    )
    return [(row.id, row.title, float(row.similarity)) for row in rows]


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


async def add_support(session: AsyncSession, idea_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    result = await session.execute(
        insert(table_of(IdeaSupport))
        .values(idea_id=idea_id, user_id=user_id)
        .on_conflict_do_nothing()
        .returning(col(IdeaSupport.user_id))
    )
    return result.first() is not None


async def remove_support(session: AsyncSession, idea_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(IdeaSupport)
        .where(col(IdeaSupport.idea_id) == idea_id, col(IdeaSupport.user_id) == user_id)
        .returning(col(IdeaSupport.user_id))
    )
    return result.first() is not None


async def supports(session: AsyncSession, idea_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(col(IdeaSupport.user_id)).where(
            col(IdeaSupport.idea_id) == idea_id, col(IdeaSupport.user_id) == user_id
        )
    )
    return found.first() is not None


async def events(
    session: AsyncSession, idea_id: uuid.UUID, *, public_only: bool
) -> list[IdeaEvent]:
    query = select(IdeaEvent).where(col(IdeaEvent.idea_id) == idea_id)
    if public_only:
        query = query.where(col(IdeaEvent.public))
    rows = await session.execute(query.order_by(col(IdeaEvent.created_at), col(IdeaEvent.sequence)))
    return list(rows.scalars())


async def stage_counts(session: AsyncSession) -> dict[uuid.UUID, dict[str, int]]:
    """Per area: distinct ideas that had each stage event (an idea returned and passed again
    counts once)."""
    rows = await session.execute(
        select(col(Idea.area_id), col(IdeaEvent.type), func.count(func.distinct(col(Idea.id))))
        .join(IdeaEvent, col(IdeaEvent.idea_id) == col(Idea.id))
        .group_by(col(Idea.area_id), col(IdeaEvent.type))
    )
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for area_id, kind, count in rows:
        counts[area_id][kind] = count
    decisions = await session.execute(
        select(col(Idea.area_id), col(Idea.decision), func.count())
        .where(col(Idea.decision).is_not(None))
        .group_by(col(Idea.area_id), col(Idea.decision))
    )
    for area_id, decision, count in decisions:
        counts[area_id][f"decision:{decision}"] = count
    return counts


async def users(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(select(User).where(col(User.id).in_(ids)))
    return {user.id: user for user in rows.scalars()}


async def people_with_role(
    session: AsyncSession, role: Role, department_id: uuid.UUID | None = None
) -> list[User]:
    query = (
        select(User)
        .join(RoleGrant, col(RoleGrant.user_id) == col(User.id))
        .where(col(RoleGrant.role) == role, col(User.disabled_at).is_(None))
        .distinct()
    )
    if department_id is not None:
        query = query.where(col(RoleGrant.department_id) == department_id)
    return list((await session.execute(query)).scalars())


async def ideas_for_office(
    session: AsyncSession, state: IdeaState | None, area_ids: Sequence[uuid.UUID] | None, limit: int
) -> list[Idea]:
    query = select(Idea).where(col(Idea.state) != IdeaState.draft)
    if state is not None:
        query = query.where(col(Idea.state) == state)
    if area_ids is not None:
        query = query.where(col(Idea.area_id).in_(area_ids))
    rows = await session.execute(query.order_by(col(Idea.submitted_at), col(Idea.id)).limit(limit))
    return list(rows.scalars())


async def ideas_of_author(session: AsyncSession, author_id: uuid.UUID) -> list[Idea]:
    rows = await session.execute(
        select(Idea)
        .where(col(Idea.author_id) == author_id)
        .order_by(col(Idea.created_at).desc(), col(Idea.id))
        .limit(500)
    )
    return list(rows.scalars())

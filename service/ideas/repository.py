"""SQL of the idea bank. No rules here: the services decide, these functions read and write."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, RoleGrant, User
from service.db import table_of
from service.ideas.models import (
    Idea,
    IdeaArea,
    IdeaAttachment,
    IdeaEvent,
    IdeaState,
    IdeaSupport,
)
from service.pagination import keyset_page


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

"""The idea bank in public: lists and a map of ideas by area and stage, each idea's
timeline, and the statistics per area. Only ideas that passed the automatic checks appear;
nothing here names an author or an expert."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.ideas import access, repository, views
from service.ideas.models import IdeaState
from service.ideas.schemas import AreaStats, IdeaPage, IdeaPublic, TimelineEvent

MAP_LIMIT = 2000


async def list_ideas(
    session: AsyncSession,
    *,
    area_id: uuid.UUID | None,
    state: IdeaState | None,
    district_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> IdeaPage:
    query = repository.public_query(area_id, state, district_id)
    ideas, next_cursor = await repository.public_page(session, query, cursor, limit)
    return IdeaPage(items=await views.public_views(session, ideas), next_cursor=next_cursor)


async def get_idea(session: AsyncSession, idea_id: uuid.UUID) -> IdeaPublic:
    idea = await access.public_idea(session, idea_id)
    return (await views.public_views(session, [idea]))[0]


async def map_features(
    session: AsyncSession, *, area_id: uuid.UUID | None, state: IdeaState | None
) -> dict[str, Any]:
    """Located public ideas as a GeoJSON FeatureCollection (the newest ``MAP_LIMIT``)."""
    rows = await repository.public_points(
        session, repository.public_query(area_id, state, None), MAP_LIMIT
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": str(idea.id),
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {
                    "title": idea.title,
                    "area_id": str(idea.area_id),
                    "state": str(idea.state),
                    "decision": idea.decision,
                    "support_count": idea.support_count,
                },
            }
            for idea, lat, lon in rows
        ],
    }


async def timeline(session: AsyncSession, idea_id: uuid.UUID) -> list[TimelineEvent]:
    idea = await access.public_idea(session, idea_id)
    return [
        TimelineEvent(
            type=event.type,
            from_state=event.from_state,
            to_state=event.to_state,
            created_at=event.created_at,
            details=dict(event.details),
        )
        for event in await repository.events(session, idea.id, public_only=True)
    ]


async def stats(session: AsyncSession) -> list[AreaStats]:
    counts = await repository.stage_counts(session)
    return [
        AreaStats(
            area_id=area.id,
            code=area.code,
            name=area.name,
            submitted=counts[area.id].get("submitted", 0),
            passed_checks=counts[area.id].get("checks_passed", 0),
            passed_experts=counts[area.id].get("reviews_closed", 0),
            passed_design=counts[area.id].get("design_approve", 0),
            decided=counts[area.id].get("decided", 0),
            implement=counts[area.id].get("decision:implement", 0),
            pilot=counts[area.id].get("decision:pilot", 0),
            declined=counts[area.id].get("decision:declined", 0),
        )
        for area in await repository.list_areas(session, active_only=False)
    ]

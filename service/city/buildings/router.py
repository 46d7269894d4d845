"""Building endpoints: address search, nearest buildings, a building's passport."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from service.auth.policy import PUBLIC
from service.city.buildings import service
from service.city.schemas import BuildingList, BuildingPublic, Latitude, Longitude
from service.db import SessionDep
from service.errors import PROBLEM
from service.fields import PlainText

public = APIRouter(prefix="/v1", tags=["city"], dependencies=[PUBLIC])


@public.get("/buildings", summary="Search buildings by address", responses={422: PROBLEM})
async def search_buildings(
    session: SessionDep,
    q: Annotated[
        str, Query(min_length=2, max_length=120, description="Address or part of it"), PlainText
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> BuildingList:
    return BuildingList(items=await service.search_buildings(session, q, limit))


@public.get("/buildings/nearest", summary="Buildings nearest to a point", responses={422: PROBLEM})
async def nearest_buildings(
    session: SessionDep,
    lat: Latitude,
    lon: Longitude,
    max_m: Annotated[float, Query(gt=0, le=2000, description="Search radius in metres")] = 100,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> BuildingList:
    return BuildingList(items=await service.nearest_buildings(session, lat, lon, max_m, limit))


@public.get(
    "/buildings/{building_id}",
    summary="A building's public passport and the organisations serving it",
    responses={404: PROBLEM},
)
async def get_building(building_id: uuid.UUID, session: SessionDep) -> BuildingPublic:
    return await service.building_public(session, building_id)

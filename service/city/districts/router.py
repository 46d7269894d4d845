"""District endpoints: the outlines, locating a point, importing a district file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from service.auth.dependencies import AdminActor
from service.auth.policy import PUBLIC
from service.city.districts import service
from service.city.schemas import DistrictImportResult, DistrictPublic, Latitude, Longitude
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM, NotFound

GEOJSON = "application/geo+json"

public = APIRouter(prefix="/v1", tags=["city"], dependencies=[PUBLIC])
admin = APIRouter(prefix="/v1/admin", tags=["city admin"])


@public.get(
    "/districts",
    summary="The city's districts as a GeoJSON FeatureCollection",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def list_districts(
    session: SessionDep,
    simplify_m: Annotated[
        float, Query(ge=0, le=500, description="Simplify outlines to this many metres")
    ] = 0,
) -> JSONResponse:
    collection = await service.districts_geojson(session, simplify_m)
    return JSONResponse(collection, media_type=GEOJSON)


@public.get(
    "/districts/locate",
    summary="The district a point lies in",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def locate_district(lat: Latitude, lon: Longitude, session: SessionDep) -> DistrictPublic:
    district = await service.locate(session, lat, lon)
    if district is None:
        raise NotFound("The point is outside the city.", reason="outside_city")
    return service.district_public(district)


@admin.post(
    "/districts/import",
    summary="Create or replace districts from a GeoJSON FeatureCollection, all or nothing",
    responses=ERRORS,
)
async def import_districts(
    actor: AdminActor,
    session: SessionDep,
    document: Annotated[
        dict[str, Any],
        Body(
            description=(
                "A FeatureCollection of Polygon/MultiPolygon features in WGS84 with "
                "properties `code`, `name` and optionally `is_pilot_area`."
            )
        ),
    ],
) -> DistrictImportResult:
    return await service.import_districts(session, document)

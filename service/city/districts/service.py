"""Districts: importing a district file all or nothing, the outlines, and which district a
point lies in. Services take a session and never commit."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.city.districts import repository
from service.city.geo import DistrictFileError, parse_district_collection
from service.city.models import District
from service.city.schemas import DistrictImportResult, DistrictPublic
from service.errors import InvalidInput


class OutsideCity(InvalidInput):
    slug, title = "outside-city", "Location outside the city"


async def import_districts(session: AsyncSession, document: Any) -> DistrictImportResult:
    """Create or replace districts by code, all or nothing."""
    try:
        shapes = parse_district_collection(document)
    except DistrictFileError as exc:
        raise InvalidInput(
            "The district file has problems; nothing was imported.",
            errors=[e.model_dump() for e in exc.errors],
        ) from exc
    # Districts kept from earlier imports must not overlap the new ones either.
    codes = [s.code for s in shapes]
    clashes: list[dict[str, Any]] = []
    for index, district in enumerate(shapes):
        clashes.extend(
            {"index": index, "code": district.code, "problem": f"overlaps district {other}"}
            for other in await repository.overlapping_codes(session, district, codes)
        )
    if clashes:
        raise InvalidInput("The district file has problems; nothing was imported.", errors=clashes)
    existing = await repository.existing_codes(session, codes)
    await repository.upsert(session, shapes)
    return DistrictImportResult(
        created=[c for c in codes if c not in existing],
        updated=[c for c in codes if c in existing],
        total=len(codes),
    )


def district_public(district: District) -> DistrictPublic:
    return DistrictPublic.model_validate(district, from_attributes=True)


async def districts_geojson(session: AsyncSession, simplify_m: float = 0) -> dict[str, Any]:
    """All districts as a GeoJSON FeatureCollection (coordinates to 6 decimals, ~0.1 m)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": str(row.id),
                "geometry": json.loads(row.geometry),
                "properties": {
                    "code": row.code,
                    "name": row.name,
                    "is_pilot_area": row.is_pilot_area,
                },
            }
            for row in await repository.outlines(session, simplify_m)
        ],
    }


async def locate(session: AsyncSession, lat: float, lon: float) -> District | None:
    """The district covering a point (on a shared border: the one whose code sorts first,
    the same answer routing gives)."""
    return await repository.locate(session, lat, lon)


async def get_district(session: AsyncSession, district_id: uuid.UUID) -> District | None:
    return await repository.get(session, district_id)


def outside_city(lat: float, lon: float) -> OutsideCity:
    """The 422 ``outside-city`` problem for a point no district covers. The city boundary
    is the union of its districts."""
    return OutsideCity(
        f"The point ({lat:.6f}, {lon:.6f}) is outside the city's districts.", field="location"
    )

"""Buildings: address search, the nearest to a point, a building's passport and who serves
it. Services never commit."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy.ext.asyncio import AsyncSession

from service.city.buildings import repository
from service.city.departments.repository import get as get_department
from service.city.districts.service import district_public, locate
from service.city.models import Department
from service.city.routing.service import dispatcher_department
from service.city.schemas import BuildingPublic, BuildingSummary, OrganisationRef
from service.errors import InvalidInput, NotFound

# A house number as people type it: "12", "12a", "12/2", "12-4" (up to six digits a part).
HOUSE_NUMBER = re.compile(r"^\d{1,6}[^\W\d_]?(?:[/-]\d{1,6}[^\W\d_]?)?$")


@dataclass(frozen=True)
class AddressQuery:
    street: str  # the words that are not the house number ("" for a number alone)
    number: str | None  # the house number, lower case
    number_value: int | None  # its leading integer, for "the nearest number"


def parse_address_query(q: str) -> AddressQuery:
    """Split a typed address into street and house number: ``"Kaunase pst 13, Tartu"`` →
    street ``"Kaunase pst Tartu"``, number ``"13"``. The first number-looking word is the
    house number."""
    words = q.replace(",", " ").split()
    at = next((i for i, w in enumerate(words) if HOUSE_NUMBER.match(w)), None)
    if at is None:
        return AddressQuery(street=" ".join(words), number=None, number_value=None)
    number = words[at].lower()
    digits = re.match(r"\d+", number)
    assert digits is not None
    return AddressQuery(
        street=" ".join(words[:at] + words[at + 1 :]),
        number=number,
        number_value=int(digits.group()),
    )


def _summary(row: Any, **extra: Any) -> BuildingSummary:
    return BuildingSummary(
        id=row.Building.id,
        address=row.Building.address,
        lat=row.lat,
        lon=row.lon,
        is_pilot_area=row.Building.is_pilot_area,
        **extra,
    )


async def search_buildings(session: AsyncSession, q: str, limit: int) -> list[BuildingSummary]:
    """Addresses ranked by how much their street resembles the query's (trigram word
    similarity, so a typo still finds the street) and by the house number (the exact one
    first, then numbers starting with it, then the nearest). ``similarity`` is the score."""
    q = " ".join(q.split())
    query = parse_address_query(q)
    rows = await repository.search(
        session,
        street=query.street,
        number=query.number,
        number_value=query.number_value,
        prefix=q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_"),
        limit=limit,
    )
    return [_summary(row, similarity=round(row.score, 3)) for row in rows]


async def nearest_buildings(
    session: AsyncSession, lat: float, lon: float, max_m: float, limit: int
) -> list[BuildingSummary]:
    """Buildings within ``max_m`` metres, nearest first."""
    rows = await repository.nearest(session, lat, lon, max_m, limit)
    return [_summary(row, distance_m=round(row.distance, 1)) for row in rows]


def _org_ref(department: Department, serves: str) -> OrganisationRef:
    return OrganisationRef(
        id=department.id,
        code=department.code,
        name=department.name,
        kind=department.kind,
        email=department.email,
        serves=serves,
    )


async def building_public(session: AsyncSession, building_id: uuid.UUID) -> BuildingPublic:
    """A building's passport, its district, and the organisations serving it: the managing
    organisation and the dispatcher (who routing falls back to)."""
    row = await repository.with_geometry(session, building_id)
    if row is None:
        raise NotFound("No such building.")
    building = row.Building
    district = await locate(session, row.lat, row.lon)
    organisations: list[OrganisationRef] = []
    if building.managing_org_id:
        org = await get_department(session, building.managing_org_id)
        if org is not None:
            organisations.append(_org_ref(org, "manages the building"))
    dispatcher = await dispatcher_department(session)
    if dispatcher is not None:
        organisations.append(_org_ref(dispatcher, "takes every report no one else owns"))
    return BuildingPublic(
        id=building.id,
        address=building.address,
        lat=row.lat,
        lon=row.lon,
        is_pilot_area=building.is_pilot_area,
        year_built=building.year_built,
        floors=building.floors,
        apartments=building.apartments,
        heating=building.heating,
        district=district_public(district) if district else None,
        passport=building.passport,
        organisations=organisations,
        footprint=json.loads(row.footprint) if row.footprint else None,
    )


async def get_building_point(session: AsyncSession, building_id: uuid.UUID) -> tuple[float, float]:
    """(lat, lon) of a building, or 422 when it does not exist (for filing by building)."""
    found = await repository.point(session, building_id)
    if found is None:
        raise InvalidInput("No such building.", field="building_id")
    return found


async def buildings_within(
    session: AsyncSession, area: dict[str, Any], limit: int = 5000
) -> list[uuid.UUID]:
    """The buildings inside ``area``, a GeoJSON polygon (e.g. a programme's pilot area drawn
    on a map); at most ``limit``."""
    if area.get("type") != "Polygon":
        raise InvalidInput("The area must be a polygon.", field="area")
    try:
        polygon = shape(area)
    except (ValueError, TypeError, AttributeError, IndexError, GEOSException) as exc:
        raise InvalidInput("The area is not a polygon's coordinates.", field="area") from exc
    west, south, east, north = polygon.bounds if not polygon.is_empty else (0, 0, 0, 0)
    if (
        polygon.is_empty
        or polygon.has_z
        or not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90)
        or polygon.area == 0
    ):
        raise InvalidInput("The area must be a polygon in longitude and latitude.", field="area")
    if not polygon.is_valid:
        # A self-intersecting ring (a bow tie) has no inside to search.
        raise InvalidInput(f"The area is not valid: {explain_validity(polygon)}.", field="area")
    return await repository.ids_within(session, json.dumps(mapping(polygon)), limit)

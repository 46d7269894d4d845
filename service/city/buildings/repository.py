"""Building SQL: address search, nearest buildings, one building with its geometry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, Row, Select, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.city.models import Building
from service.city.points import point_sql

# The house number of an address: the first number, with a letter or a part after a slash
# or hyphen ("12", "12a", "12/2"), as ``service.parse_address_query`` reads it from a query.
HOUSE_NUMBER_PATTERN = r"\m(\d+[[:alpha:]]?(?:[/-]\d+[[:alpha:]]?)?)\M"
STREET_WEIGHT = 0.75
# pg_trgm's default (0.6) misses a dropped letter in a short street name ("Kaunse" is 0.57
# of "Kaunase pst"); unrelated street names stay below 0.5.
WORD_SIMILARITY_THRESHOLD = 0.5


def _lat_lon() -> tuple[Any, Any]:
    return func.ST_Y(Building.point).label("lat"), func.ST_X(Building.point).label("lon")


def search_statement(
    *, street: str, number: str | None, number_value: int | None, prefix: str, limit: int
) -> Select[Any]:
    """Buildings whose street resembles ``street`` (pg_trgm word similarity, ``%>`` on the
    address, which its trigram index serves) or whose address starts with ``prefix``; with
    only a ``number``, the buildings with that house number. Ranked by a score in [0, 1]:
    the street's word similarity, and with a number 3/4 street and 1/4 house number (1
    exact, 0.5 starting with it); ties go to the nearest house number, then by street and
    house number."""
    house = func.lower(func.substring(Building.address, HOUSE_NUMBER_PATTERN))
    house_value = cast(func.substring(house, r"^\d{1,9}"), Integer)
    street_name = func.regexp_replace(Building.address, HOUSE_NUMBER_PATTERN + ".*$", "")
    street_similarity = func.word_similarity(street, Building.address)
    matches: Any = col(Building.address).ilike(prefix + "%", escape="\\")
    if street:
        matches = or_(col(Building.address).op("%>")(street), matches)
    score: Any = street_similarity
    order: list[Any] = []
    if number is not None:
        number_score = case(
            (house == number, 1.0), (house.startswith(number, autoescape=True), 0.5), else_=0.0
        )
        if street:
            score = STREET_WEIGHT * street_similarity + (1 - STREET_WEIGHT) * number_score
        else:
            score = number_score
            matches = or_(house.startswith(number, autoescape=True), matches)
    if number_value is not None:
        order.append(func.abs(house_value - number_value).asc().nulls_last())
    score = cast(score, Float)
    lat, lon = _lat_lon()
    return (
        select(Building, lat, lon, score.label("score"))
        .where(matches)
        .order_by(
            score.desc(), *order, street_name, house_value.asc().nulls_last(), Building.address
        )
        .limit(limit)
    )


async def search(
    session: AsyncSession,
    *,
    street: str,
    number: str | None,
    number_value: int | None,
    prefix: str,
    limit: int,
) -> Sequence[Row[Any]]:
    """See :func:`search_statement`."""
    # The threshold of ``%>`` is a setting; this sets it for the rest of the transaction.
    await session.execute(
        select(
            func.set_config(
                "pg_trgm.word_similarity_threshold", str(WORD_SIMILARITY_THRESHOLD), True
            )
        )
    )
    statement = search_statement(
        street=street, number=number, number_value=number_value, prefix=prefix, limit=limit
    )
    rows: Sequence[Row[Any]] = (await session.execute(statement)).all()
    return rows


async def nearest(
    session: AsyncSession, lat: float, lon: float, max_m: float, limit: int
) -> Sequence[Row[Any]]:
    """Buildings within ``max_m`` metres, nearest first (KNN on the geography index)."""
    here = func.Geography(point_sql(lat, lon))
    geography = func.Geography(Building.point)
    distance = func.ST_Distance(geography, here).label("distance")
    b_lat, b_lon = _lat_lon()
    rows = await session.execute(
        select(Building, b_lat, b_lon, distance)
        .where(func.ST_DWithin(geography, here, max_m))
        .order_by(geography.op("<->")(here))
        .limit(limit)
    )
    return rows.all()


async def with_geometry(session: AsyncSession, building_id: uuid.UUID) -> Row[Any] | None:
    """(Building, lat, lon, footprint as GeoJSON text) or None."""
    lat, lon = _lat_lon()
    result = await session.execute(
        select(
            Building,
            lat,
            lon,
            func.ST_AsGeoJSON(Building.footprint, 6).label("footprint"),
        ).where(col(Building.id) == building_id)
    )
    return result.one_or_none()


async def point(session: AsyncSession, building_id: uuid.UUID) -> tuple[float, float] | None:
    result = await session.execute(
        select(func.ST_Y(Building.point), func.ST_X(Building.point)).where(
            col(Building.id) == building_id
        )
    )
    row = result.one_or_none()
    return (float(row[0]), float(row[1])) if row is not None else None


async def ids_within(session: AsyncSession, area_geojson: str, limit: int) -> list[uuid.UUID]:
    """The buildings whose point lies inside a GeoJSON polygon (WGS 84), by address."""
    area = func.ST_SetSRID(func.ST_GeomFromGeoJSON(area_geojson), 4326)
    rows = await session.execute(
        select(col(Building.id))
        .where(func.ST_Within(Building.point, area))
        .order_by(col(Building.address), col(Building.id))
        .limit(limit)
    )
    return list(rows.scalars())

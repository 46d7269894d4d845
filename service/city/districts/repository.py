"""District SQL: the point lookup, the overlap check and the upsert of an import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from geoalchemy2.shape import from_shape
from sqlalchemy import Row, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.city.geo import OVERLAP_TOLERANCE, DistrictShape
from service.city.models import District
from service.city.points import POINT_SQL
from service.db import table_of

# The district a point lies in, written once for the lookup and the routing statement: a
# point on a shared border belongs to the district whose code sorts first, so the answer is
# stable. ``{point}`` is an SQL point expression.
DISTRICT_AT = """
    SELECT district.id FROM district
    WHERE ST_Covers(district.geom, {point})
    ORDER BY district.code LIMIT 1
"""


async def locate(session: AsyncSession, lat: float, lon: float) -> District | None:
    """One GiST-indexed lookup."""
    district_id = (
        text(DISTRICT_AT.format(point=POINT_SQL))
        .bindparams(lat=lat, lon=lon)
        .columns(id=Uuid)
        .scalar_subquery()
    )
    result = await session.execute(select(District).where(col(District.id) == district_id))
    return result.scalar_one_or_none()


async def get(session: AsyncSession, district_id: uuid.UUID) -> District | None:
    return await session.get(District, district_id)


async def overlapping_codes(
    session: AsyncSession, shape: DistrictShape, kept_apart: Sequence[str]
) -> list[str]:
    """Codes of stored districts (other than ``kept_apart``) that overlap ``shape`` by more
    than the tolerance; sharing a border is fine."""
    new = func.ST_GeomFromWKB(shape.geometry.wkb, 4326)
    rows = await session.execute(
        select(col(District.code))
        .where(
            col(District.code).not_in(kept_apart),
            func.ST_Intersects(District.geom, new),
            func.ST_Area(func.ST_Intersection(District.geom, new))
            > OVERLAP_TOLERANCE * func.least(func.ST_Area(District.geom), func.ST_Area(new)),
        )
        .order_by(District.code)
    )
    return list(rows.scalars())


async def existing_codes(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    rows = await session.execute(select(col(District.code)).where(col(District.code).in_(codes)))
    return set(rows.scalars())


async def upsert(session: AsyncSession, shapes: Sequence[DistrictShape]) -> None:
    """Insert districts, or replace name, pilot flag and outline of those with the code."""
    table = table_of(District)
    statement = insert(table).values(
        [
            {
                "id": uuid.uuid4(),
                "code": s.code,
                "name": s.name,
                "is_pilot_area": s.is_pilot_area,
                "geom": from_shape(s.geometry, srid=4326),
            }
            for s in shapes
        ]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.code],
        set_={
            "name": statement.excluded.name,
            "is_pilot_area": statement.excluded.is_pilot_area,
            "geom": statement.excluded.geom,
        },
    )
    await session.execute(statement)


async def outlines(session: AsyncSession, simplify_m: float) -> Sequence[Row[Any]]:
    """(id, code, name, is_pilot_area, geometry as GeoJSON text to 6 decimals) by code."""
    geom = District.geom
    if simplify_m > 0:
        # Degrees per metre at Tartu's latitude is close enough for display simplification.
        geom = func.ST_SimplifyPreserveTopology(District.geom, simplify_m / 111_000)
    rows = await session.execute(
        select(
            col(District.id),
            col(District.code),
            col(District.name),
            col(District.is_pilot_area),
            func.ST_AsGeoJSON(geom, 6).label("geometry"),
        ).order_by(District.code)
    )
    return rows.all()

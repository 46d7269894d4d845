"""One spelling of a WGS84 point for the city model's queries, in SQL text and as an
expression."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

# Bound as :lat and :lon; longitude first, as PostGIS wants.
POINT_SQL = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"


def point_sql(lat: float, lon: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)

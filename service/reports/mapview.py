"""The public map: reports in a bounding box as GeoJSON points, or as grid clusters when
there are more than the point budget.

Clusters are computed in the database: points are snapped to a grid whose cell is about 1/8
of a web-map tile at the requested zoom (so clusters are ~32 px apart on screen), and counted
per cell. Both the budget check and the aggregation run on the GiST index of the bounding
box; the budget check stops counting at budget + 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.reports.models import Report
from service.reports.states import PUBLIC_STATES, ReportState

MAP_STATES = sorted(PUBLIC_STATES - {ReportState.duplicate})


def cell_size(zoom: int) -> float:
    """Grid cell in degrees: 1/8 of a 256-pixel tile's width at ``zoom``."""
    return float(360.0 / (2**zoom) / 8)


async def map_features(
    session: AsyncSession,
    bbox: tuple[float, float, float, float],
    zoom: int,
    budget: int,
    now: datetime,
    states: list[ReportState] | None = None,
) -> dict[str, Any]:
    envelope = func.ST_MakeEnvelope(*bbox, 4326)
    wanted = [s for s in (states or MAP_STATES) if s in MAP_STATES]
    in_view = [col(Report.location).op("&&")(envelope), col(Report.state).in_(wanted)]
    capped: Any = select(literal_column("1")).select_from(Report).where(*in_view).limit(budget + 1)
    count = await session.scalar(select(func.count()).select_from(capped.subquery()))
    if (count or 0) <= budget:
        rows = await session.execute(
            select(
                col(Report.id),
                col(Report.tracking_code),
                col(Report.state),
                col(Report.reason_id),
                col(Report.due_at),
                col(Report.supporters_count),
                func.ST_X(Report.location).label("lon"),
                func.ST_Y(Report.location).label("lat"),
            ).where(*in_view)
        )
        features = [
            {
                "type": "Feature",
                "id": str(row.id),
                "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                "properties": {
                    "kind": "report",
                    "tracking_code": row.tracking_code,
                    "state": row.state,
                    "reason_id": str(row.reason_id),
                    "overdue": row.due_at is not None
                    and row.due_at < now
                    and row.state != ReportState.answered
                    and row.state != ReportState.closed,
                    "supporters_count": row.supporters_count,
                },
            }
            for row in rows
        ]
        return {"type": "FeatureCollection", "clustered": False, "features": features}

    size = cell_size(zoom)
    cell_x = func.floor(func.ST_X(Report.location) / size).label("cx")
    cell_y = func.floor(func.ST_Y(Report.location) / size).label("cy")
    rows = await session.execute(
        select(
            cell_x,
            cell_y,
            func.count().label("n"),
            func.avg(func.ST_X(Report.location)).label("lon"),
            func.avg(func.ST_Y(Report.location)).label("lat"),
        )
        .where(*in_view)
        .group_by(cell_x, cell_y)
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
            "properties": {"kind": "cluster", "count": row.n},
        }
        for row in rows
    ]
    return {"type": "FeatureCollection", "clustered": True, "features": features}

"""The public map: reports in a bounding box as GeoJSON points, or as grid clusters when
there are more than the point budget.

Clusters group reports by a grid whose cell is 1/8 of a web-map tile at the requested zoom
(so clusters are ~32 px apart on screen). Up to zoom 16 they are summed from
``report_map_cell``, a materialized view of counts per ~40 m cell and state that a worker
refreshes every minute: a city-wide map of a million reports then reads a few ten thousand
rows instead of a million points. Clusters may thus lag new reports by up to a minute; points
(under the budget) are always live. Above zoom 16 clusters are computed from the points of
the (small) box directly. The budget check runs on the GiST index and stops at budget + 1.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.reports.models import Report
from service.reports.states import OPEN_STATES, PUBLIC_STATES, ReportState

MAP_STATES = sorted(PUBLIC_STATES - {ReportState.duplicate})
# The zoom whose cells report_map_cell stores (its migration uses the same size).
BASE_ZOOM = 16
# Widest box, in base cells (~40 m), clustered live from points above BASE_ZOOM.
LIVE_CLUSTER_MAX_CELLS = 64
# A box is clustered with at most this many cells along its longer side (16 tiles, a very
# large screen): a wider box asked at a deep zoom is clustered at a shallower one, so no
# request makes the server list every cell of the city.
MAX_CELLS_PER_AXIS = 128


def cell_size(zoom: int) -> float:
    """Grid cell in degrees: 1/8 of a 256-pixel tile's width at ``zoom``."""
    return float(360.0 / (2**zoom) / 8)


def cluster_zoom(bbox: tuple[float, float, float, float], zoom: int) -> int:
    """The deepest zoom not above ``zoom`` at which ``bbox`` spans at most
    ``MAX_CELLS_PER_AXIS`` cells along its longer side."""
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
    while zoom > 0 and span / cell_size(zoom) > MAX_CELLS_PER_AXIS:
        zoom -= 1
    return zoom


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
                    and row.state in OPEN_STATES,
                    "supporters_count": row.supporters_count,
                },
            }
            for row in rows
        ]
        return {"type": "FeatureCollection", "clustered": False, "features": features}

    zoom = cluster_zoom(bbox, zoom)
    base = cell_size(BASE_ZOOM)
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / base
    # Live clustering is for close-ups; a wide box asked at a deep zoom would make the
    # database group a city's worth of points, so it gets the precomputed cells instead.
    if zoom <= BASE_ZOOM or span > LIVE_CLUSTER_MAX_CELLS:
        zoom = min(zoom, BASE_ZOOM)
        features = await _precomputed_clusters(session, bbox, zoom, wanted)
        return _clusters(features, zoom)
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
    return _clusters(features, zoom)


def _clusters(features: list[dict[str, Any]], zoom: int) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "clustered": True,
        "cluster_zoom": zoom,
        "features": features,
    }


async def _precomputed_clusters(
    session: AsyncSession,
    bbox: tuple[float, float, float, float],
    zoom: int,
    states: list[ReportState],
) -> list[dict[str, Any]]:
    base = cell_size(BASE_ZOOM)
    factor = 2 ** (BASE_ZOOM - zoom)  # base cells per cluster cell, along each axis
    rows = await session.execute(
        text(
            """
            SELECT floor(cx / CAST(:factor AS float)) AS gx,
                   floor(cy / CAST(:factor AS float)) AS gy,
                   sum(n) AS n, sum(sum_lon) / sum(n) AS lon, sum(sum_lat) / sum(n) AS lat
            FROM report_map_cell
            WHERE cx BETWEEN :min_cx AND :max_cx AND cy BETWEEN :min_cy AND :max_cy
              AND state = ANY(:states)
            GROUP BY 1, 2
            """
        ),
        {
            "factor": factor,
            "min_cx": math.floor(bbox[0] / base),
            "max_cx": math.floor(bbox[2] / base),
            "min_cy": math.floor(bbox[1] / base),
            "max_cy": math.floor(bbox[3] / base),
            "states": [str(s) for s in states],
        },
    )
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
            "properties": {"kind": "cluster", "count": int(row.n)},
        }
        for row in rows
    ]


async def refresh_cells(session: AsyncSession) -> None:
    """Recount report_map_cell (readers keep the old counts meanwhile)."""
    await session.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY report_map_cell"))

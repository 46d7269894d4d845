"""The public map: reports in a bounding box as GeoJSON points, or as grid clusters when
there are more than the point budget.

Clusters group reports by a grid whose cell is 1/8 of a web-map tile at the requested zoom
(so clusters are ~32 px apart on screen). Up to zoom 16 they are read from
``report_map_cell``, counts per cell and state kept for the grid of every zoom from 16
(~40 m cells) down to 0, each coarser cell the sum of its four children: a map at zoom z
reads the cells of zoom z in the box (whole cells: a cluster at the box's edge counts its
whole cell), at most 128 along the box's longer side, so a city-wide map of a million
reports reads a few hundred rows. The counts are kept per change: a trigger on ``report``
logs the ~40 m cells an insert, a move, a state change or a deletion touches in
``report_map_cell_dirty``, and a worker recounts only those cells from their reports, then
their parents zoom by zoom from their children, every few seconds (:func:`refresh_cells`),
so its cost grows with the changes, not the table. Clusters may lag new reports by that
period; points (under the budget) are always live. Above zoom 16 clusters are computed from
the points of the (small) box directly. The budget check runs on the GiST index and stops
at budget + 1; before it, a box whose cells wholly inside it hold more than twice the
budget is answered with the clusters at once (the cells lag by seconds, not by half the
budget), so a wide map never counts points.

The GeoJSON document is built by PostgreSQL (``json_build_object``/``json_agg``) and sent
as it comes: turning rows into Python dicts and those into JSON again cost as much as the
query itself for a city-wide map.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.reports.states import OPEN_STATES, PUBLIC_STATES, ReportState

MAP_STATES = sorted(PUBLIC_STATES - {ReportState.duplicate})
# The finest zoom whose cells report_map_cell stores, counted from the reports (its
# migrations use the same size); every coarser zoom down to 0 is stored too.
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


OPEN_STATE_NAMES = sorted(str(s) for s in OPEN_STATES)
CELL = cell_size(BASE_ZOOM)
_MAP_STATE_LIST = ", ".join(f"'{s}'" for s in MAP_STATES)


def _box(bbox: tuple[float, float, float, float]) -> dict[str, float]:
    return {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3]}


# The reports in view, at most budget + 1 of them: their collection of points when they
# are within the budget, else NULL (the caller clusters). One round trip either way.
POINTS_SQL = rawsql.Statement(
    """
    WITH hit AS (
        SELECT id, tracking_code, state, reason_id, due_at, supporters_count, location
        FROM report
        WHERE location && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) AND state = ANY(:states)
        LIMIT :cap
    )
    SELECT CASE WHEN count(*) <= :budget THEN json_build_object(
        'type', 'FeatureCollection',
        'clustered', false,
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'id', id,
            'geometry', json_build_object(
                'type', 'Point',
                'coordinates', json_build_array(ST_X(location), ST_Y(location))
            ),
            'properties', json_build_object(
                'kind', 'report',
                'tracking_code', tracking_code,
                'state', state,
                'reason_id', reason_id,
                'overdue', (due_at < :now) IS TRUE AND state = ANY(:open),
                'supporters_count', supporters_count
            )
        )), '[]')
    )::text END
    FROM hit
    """
)

_CLUSTER_COLLECTION = """
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'clustered', true,
        'cluster_zoom', CAST(:zoom AS int),
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'geometry', json_build_object(
                'type', 'Point', 'coordinates', json_build_array(lon, lat)
            ),
            'properties', json_build_object('kind', 'cluster', 'count', n)
        )), '[]')
    )::text
    FROM ({cells}) AS cell
"""

# The box's clusters from the cells of :zoom; NULL unless the cells wholly inside the box
# hold more than :sure reports (-1: always the clusters).
PRECOMPUTED_CLUSTERS_SQL = rawsql.Statement(
    """
    SELECT CASE WHEN (
        SELECT coalesce(sum(n), 0) FROM report_map_cell
        WHERE zoom = :zoom AND cx BETWEEN :in_min_cx AND :in_max_cx
          AND cy BETWEEN :in_min_cy AND :in_max_cy AND state = ANY(:states)
    ) > :sure THEN ({collection}) END
    """.format(  # noqa: S608 - composed of constants, nothing from input
        collection=_CLUSTER_COLLECTION.format(
            cells="""
            SELECT cx, cy, sum(n) AS n,
                   sum(sum_lon) / sum(n) AS lon, sum(sum_lat) / sum(n) AS lat
            FROM report_map_cell
            WHERE zoom = :zoom AND cx BETWEEN :min_cx AND :max_cx
              AND cy BETWEEN :min_cy AND :max_cy AND state = ANY(:states)
            GROUP BY cx, cy
            """
        )
    )
)

LIVE_CLUSTERS_SQL = rawsql.Statement(
    _CLUSTER_COLLECTION.format(
        cells="""
        SELECT floor(ST_X(location) / CAST(:size AS float)) AS gx,
               floor(ST_Y(location) / CAST(:size AS float)) AS gy,
               count(*) AS n, avg(ST_X(location)) AS lon, avg(ST_Y(location)) AS lat
        FROM report
        WHERE location && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) AND state = ANY(:states)
        GROUP BY 1, 2
        """
    )
)


async def map_features(
    session: rawsql.Db,
    bbox: tuple[float, float, float, float],
    zoom: int,
    budget: int,
    now: datetime,
    states: list[ReportState] | None = None,
) -> str:
    """The box's GeoJSON FeatureCollection, as the JSON text to send."""
    wanted = [str(s) for s in (states or MAP_STATES) if s in MAP_STATES]
    zoom = cluster_zoom(bbox, zoom)
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / CELL
    # Live clustering is for close-ups; a wide box asked at a deep zoom would make the
    # database group a city's worth of points, so it gets the precomputed cells instead.
    precomputed = zoom <= BASE_ZOOM or span > LIVE_CLUSTER_MAX_CELLS
    cells: dict[str, object] = {}
    if precomputed:
        zoom = min(zoom, BASE_ZOOM)
        size = cell_size(zoom)
        cells = {
            "zoom": zoom,
            "min_cx": math.floor(bbox[0] / size),
            "max_cx": math.floor(bbox[2] / size),
            "min_cy": math.floor(bbox[1] / size),
            "max_cy": math.floor(bbox[3] / size),
            # The cells wholly inside the box.
            "in_min_cx": math.ceil(bbox[0] / size),
            "in_max_cx": math.floor(bbox[2] / size) - 1,
            "in_min_cy": math.ceil(bbox[1] / size),
            "in_max_cy": math.floor(bbox[3] / size) - 1,
            "states": wanted,
        }
        # Far over the budget (twice it in the last recount, in whole cells inside the box,
        # so seconds of lag cannot bring it under): the clusters, without counting points.
        sure: str | None = await rawsql.fetchval(
            session, PRECOMPUTED_CLUSTERS_SQL, {**cells, "sure": 2 * budget}
        )
        if sure is not None:
            return sure

    points: str | None = await rawsql.fetchval(
        session,
        POINTS_SQL,
        {
            **_box(bbox),
            "states": wanted,
            "cap": budget + 1,
            "budget": budget,
            "now": now,
            "open": OPEN_STATE_NAMES,
        },
    )
    if points is not None:
        return points
    if precomputed:
        clusters = await rawsql.fetchval(session, PRECOMPUTED_CLUSTERS_SQL, {**cells, "sure": -1})
    else:
        clusters = await rawsql.fetchval(
            session,
            LIVE_CLUSTERS_SQL,
            {**_box(bbox), "zoom": zoom, "size": cell_size(zoom), "states": wanted},
        )
    return str(clusters)


# A cell of zoom z - 1 is the sum of its four children of zoom z: cell (cx, cy) has the
# parent (floor(cx / 2), floor(cy / 2)); the grids nest exactly (cell sizes are powers of 2
# apart, so floor(x / size(z - 1)) = floor(floor(x / size(z)) / 2)).
def _level_from_children_sql(zoom: int) -> str:
    """Every cell of ``zoom`` summed from the cells of ``zoom + 1`` (a full recount)."""
    return f"""
    INSERT INTO report_map_cell (zoom, cx, cy, state, n, sum_lon, sum_lat)
    SELECT {zoom}, floor(cx / 2.0)::int, floor(cy / 2.0)::int, state,
           sum(n)::int, sum(sum_lon), sum(sum_lat)
    FROM report_map_cell WHERE zoom = {zoom + 1}
    GROUP BY 2, 3, 4
    """  # noqa: S608 - composed of constants, nothing from input


# Every cell counted from scratch (after a bulk load with the triggers off, or to repair).
FULL_RECOUNT_STATEMENTS = (
    "LOCK TABLE report_map_cell IN SHARE ROW EXCLUSIVE MODE",
    "DELETE FROM report_map_cell_dirty",
    "DELETE FROM report_map_cell",
    f"""
    INSERT INTO report_map_cell (zoom, cx, cy, state, n, sum_lon, sum_lat)
    SELECT {BASE_ZOOM}, floor(ST_X(location) / {CELL})::int,
           floor(ST_Y(location) / {CELL})::int, state,
           count(*)::int, sum(ST_X(location)), sum(ST_Y(location))
    FROM report WHERE state IN ({_MAP_STATE_LIST})
    GROUP BY 2, 3, 4
    """,  # noqa: S608 - composed of the constants above, nothing from input
    *(_level_from_children_sql(zoom) for zoom in range(BASE_ZOOM - 1, -1, -1)),
)
FULL_RECOUNT_SQL = ";\n".join(FULL_RECOUNT_STATEMENTS)

# One recount pass at a time (a second waits for the first to commit, then sees its counts:
# a parent summed from children another pass has not committed yet would be stale). Readers
# and the trigger's writers are not blocked (SELECT takes ACCESS SHARE; the trigger writes
# report_map_cell_dirty).
LOCK_SQL = "LOCK TABLE report_map_cell IN SHARE ROW EXCLUSIVE MODE"

# The cells of zoom 16 that changed reports touched, recounted from their reports (on the
# GiST index, by the cell's box): rows of states no longer there are deleted, the others
# written. A cell logged again while this runs stays logged (this statement's snapshot did
# not see it) for the next pass, so no change is missed. Returns the recounted cells.
RECOUNT_DIRTY_SQL = f"""
    WITH taken AS (DELETE FROM report_map_cell_dirty RETURNING cx, cy),
    cells AS (SELECT DISTINCT cx, cy FROM taken),
    fresh AS (
        SELECT c.cx, c.cy, r.state, count(*)::int AS n,
               sum(ST_X(r.location)) AS sum_lon, sum(ST_Y(r.location)) AS sum_lat
        FROM cells c
        JOIN report r
          ON r.location && ST_MakeEnvelope(
                 c.cx * {CELL} - 1e-9, c.cy * {CELL} - 1e-9,
                 (c.cx + 1) * {CELL} + 1e-9, (c.cy + 1) * {CELL} + 1e-9, 4326)
         AND floor(ST_X(r.location) / {CELL})::int = c.cx
         AND floor(ST_Y(r.location) / {CELL})::int = c.cy
        WHERE r.state IN ({_MAP_STATE_LIST})
        GROUP BY 1, 2, 3
    ),
    gone AS (
        DELETE FROM report_map_cell m USING cells c
        WHERE m.zoom = {BASE_ZOOM} AND m.cx = c.cx AND m.cy = c.cy
          AND NOT EXISTS (
              SELECT 1 FROM fresh f WHERE f.cx = m.cx AND f.cy = m.cy AND f.state = m.state
          )
    ),
    written AS (
        INSERT INTO report_map_cell (zoom, cx, cy, state, n, sum_lon, sum_lat)
        SELECT {BASE_ZOOM}, cx, cy, state, n, sum_lon, sum_lat FROM fresh
        ON CONFLICT (zoom, cx, cy, state) DO UPDATE
        SET n = excluded.n, sum_lon = excluded.sum_lon, sum_lat = excluded.sum_lat
    )
    SELECT coalesce(array_agg(cx), '{{}}'), coalesce(array_agg(cy), '{{}}') FROM cells
"""  # noqa: S608 - composed of the constants above, nothing from input

# The parents (of zoom :zoom) of the given cells of zoom :child = :zoom + 1, summed from their four
# children as they are now (the previous statement of the pass wrote the children); returns
# the parents, for the next zoom up.
RECOUNT_PARENTS_SQL = """
    WITH cells AS (
        SELECT DISTINCT floor(x / 2.0)::int AS cx, floor(y / 2.0)::int AS cy
        FROM unnest(CAST(:xs AS int[]), CAST(:ys AS int[])) AS child(x, y)
    ),
    fresh AS (
        SELECT c.cx, c.cy, m.state, sum(m.n)::int AS n,
               sum(m.sum_lon) AS sum_lon, sum(m.sum_lat) AS sum_lat
        FROM cells c
        CROSS JOIN (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) AS child(dx, dy)
        JOIN report_map_cell m  -- four lookups on the key, one per child
          ON m.zoom = CAST(:child AS smallint)
         AND m.cx = c.cx * 2 + child.dx
         AND m.cy = c.cy * 2 + child.dy
        GROUP BY 1, 2, 3
    ),
    gone AS (
        DELETE FROM report_map_cell m USING cells c
        WHERE m.zoom = CAST(:zoom AS smallint) AND m.cx = c.cx AND m.cy = c.cy
          AND NOT EXISTS (
              SELECT 1 FROM fresh f WHERE f.cx = m.cx AND f.cy = m.cy AND f.state = m.state
          )
    ),
    written AS (
        INSERT INTO report_map_cell (zoom, cx, cy, state, n, sum_lon, sum_lat)
        SELECT CAST(:zoom AS smallint), cx, cy, state, n, sum_lon, sum_lat FROM fresh
        ON CONFLICT (zoom, cx, cy, state) DO UPDATE
        SET n = excluded.n, sum_lon = excluded.sum_lon, sum_lat = excluded.sum_lat
    )
    SELECT coalesce(array_agg(cx), '{}'), coalesce(array_agg(cy), '{}') FROM cells
"""


async def refresh_cells(session: AsyncSession) -> int:
    """Recount the cells that changed since the last pass, at every zoom; returns how many
    cells of zoom 16 were recounted."""
    await session.execute(text(LOCK_SQL))
    xs, ys = (await session.execute(text(RECOUNT_DIRTY_SQL))).one()
    recounted = len(xs)
    for zoom in range(BASE_ZOOM - 1, -1, -1):
        if not xs:
            break
        xs, ys = (
            await session.execute(
                text(RECOUNT_PARENTS_SQL),
                {"zoom": zoom, "child": zoom + 1, "xs": xs, "ys": ys},
            )
        ).one()
    return recounted


async def recount_all_cells(session: AsyncSession) -> None:
    """Recount every cell (reads the whole table: a repair, not the periodic job)."""
    for statement in FULL_RECOUNT_STATEMENTS:
        await session.execute(text(statement))

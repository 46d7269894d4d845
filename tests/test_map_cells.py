"""The map's cluster cells are kept per change: a trigger logs the cells a changed report
touches and the recount reads only those (and their parents at every coarser zoom), yet the
counts at every zoom equal a full recount."""

from __future__ import annotations

import math
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.reports.mapview import (
    BASE_ZOOM,
    CELL,
    MAP_STATES,
    cell_size,
    recount_all_cells,
    refresh_cells,
)
from tests.factories import accept_report, file_report, make_user

# A corner of the city no other test files in (Raadi), cells ~40 m apart.
BASE = (58.3890, 26.7560)
BOX = "ST_MakeEnvelope(26.750, 58.385, 26.765, 58.395, 4326)"
STATES = ", ".join(f"'{s}'" for s in MAP_STATES)


def _cells_of_box(zoom: int, lon: str = "cx", lat: str = "cy") -> str:
    """The condition: a cell (of ``zoom``) of the box, whole cells."""
    size = cell_size(zoom)
    return (
        f"{lon} BETWEEN floor(26.750 / {size}) AND floor(26.765 / {size}) "
        f"AND {lat} BETWEEN floor(58.385 / {size}) AND floor(58.395 / {size})"
    )


async def _kept(session: AsyncSession, zoom: int = BASE_ZOOM) -> list[Any]:
    """The cell table's rows of ``zoom`` in the box."""
    rows = await session.execute(
        text(
            f"""
            SELECT cx, cy, state, n, round(sum_lon::numeric, 9), round(sum_lat::numeric, 9)
            FROM report_map_cell
            WHERE zoom = {zoom} AND {_cells_of_box(zoom)}
            ORDER BY 1, 2, 3
            """  # noqa: S608 - constants
        )
    )
    return [tuple(row) for row in rows]


async def _counted(session: AsyncSession, zoom: int = BASE_ZOOM) -> list[Any]:
    """The same cells counted from the reports themselves (what a full recount writes)."""
    size = cell_size(zoom)
    x, y = f"floor(ST_X(location) / {size})", f"floor(ST_Y(location) / {size})"
    # At zoom 16 the box's cells are within BOX; coarser ones reach beyond it.
    near = f"location && {BOX} AND " if zoom == BASE_ZOOM else ""
    rows = await session.execute(
        text(
            f"""
            SELECT {x}::int, {y}::int,
                   state, count(*)::int, round(sum(ST_X(location))::numeric, 9),
                   round(sum(ST_Y(location))::numeric, 9)
            FROM report WHERE {near}{_cells_of_box(zoom, x, y)} AND state IN ({STATES})
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """  # noqa: S608 - constants
        )
    )
    return [tuple(row) for row in rows]


async def _every_zoom(session: AsyncSession) -> dict[int, list[Any]]:
    return {zoom: await _kept(session, zoom) for zoom in range(BASE_ZOOM + 1)}


async def test_cells_recounted_per_change_equal_a_full_recount(
    session: AsyncSession, settings: Settings
) -> None:
    await refresh_cells(session)  # whatever other changes were pending
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    reports = []
    for index in range(8):
        point = (BASE[0] + index * 0.0007, BASE[1] + (index % 3) * 0.0009)
        report = await file_report(session, resident, point=point)
        reports.append(await accept_report(session, moderator, report))
    # Submitted only: not on the map, and its cell is not logged.
    await file_report(session, resident, point=BASE)
    await session.flush()
    assert await _every_zoom(session) == {zoom: [] for zoom in range(BASE_ZOOM + 1)}
    dirty = await session.scalar(text("SELECT count(*) FROM report_map_cell_dirty"))
    assert dirty is not None and dirty >= 8

    recounted = await refresh_cells(session)
    assert recounted >= 3
    first = await _kept(session)
    assert sum(row[3] for row in first) == 8
    assert first == await _counted(session)
    for zoom in range(BASE_ZOOM):  # every coarser zoom: the sums of the same reports
        kept = await _kept(session, zoom)
        assert kept == await _counted(session, zoom), zoom
        assert sum(row[3] for row in kept) == 8
    # At zoom 14 (~160 m) the eight spread over a few cells, at zoom 0 they share one.
    assert len(await _kept(session, 14)) > 1
    assert len(await _kept(session, 0)) == 1
    assert await session.scalar(text("SELECT count(*) FROM report_map_cell_dirty")) == 0

    # Moves (to another cell, and within one), state changes, a hide, a deletion.
    moves = (
        (reports[0].id, 26.7620, 58.3930),
        (reports[1].id, 26.7560 + CELL / 4, 58.3897),
    )
    for report_id, lon, lat in moves:
        await session.execute(
            text(
                "UPDATE report SET location = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) "
                "WHERE id = :id"
            ),
            {"id": report_id, "lon": lon, "lat": lat},
        )
    await session.execute(
        text("UPDATE report SET state = 'in_progress' WHERE id = :id"), {"id": reports[2].id}
    )
    await session.execute(
        text("UPDATE report SET state = 'closed' WHERE id = :id"), {"id": reports[3].id}
    )
    # Hidden from the map: a state the map does not show.
    await session.execute(
        text("UPDATE report SET state = 'rejected' WHERE id = :id"), {"id": reports[4].id}
    )
    # A change the map does not care about logs nothing.
    before = await session.scalar(text("SELECT count(*) FROM report_map_cell_dirty"))
    await session.execute(
        text("UPDATE report SET description = 'Still there' WHERE id = :id"),
        {"id": reports[6].id},
    )
    assert await session.scalar(text("SELECT count(*) FROM report_map_cell_dirty")) == before
    await session.execute(
        text("DELETE FROM report_event WHERE report_id = :id"), {"id": reports[5].id}
    )
    await session.execute(
        text("DELETE FROM report_round WHERE report_id = :id"), {"id": reports[5].id}
    )
    await session.execute(text("DELETE FROM report WHERE id = :id"), {"id": reports[5].id})
    await session.flush()

    await refresh_cells(session)
    after = await _kept(session)
    assert after != first
    assert sum(row[3] for row in after) == 6  # one hidden, one deleted
    assert after == await _counted(session)
    for zoom in range(BASE_ZOOM):
        kept = await _kept(session, zoom)
        assert kept == await _counted(session, zoom), zoom
        assert sum(row[3] for row in kept) == 6
    assert await refresh_cells(session) == 0  # nothing left to do

    # A full recount of every zoom writes the same rows the changes left.
    incremental = await _every_zoom(session)
    await recount_all_cells(session)
    assert await _every_zoom(session) == incremental


async def test_a_box_far_over_the_budget_is_clustered_from_the_cells_without_counting_points(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Twice the budget in the cells wholly inside the box: the clusters come from the cells
    alone (as last recounted); near the budget the live points decide."""
    app.state.settings = settings.model_copy(update={"map_point_budget": 2})
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    reports = []
    for index in range(6):
        point = (BASE[0] + 0.002 + index * 0.0001, BASE[1] + 0.002)
        reports.append(
            await accept_report(
                session, moderator, await file_report(session, resident, point=point)
            )
        )
    await refresh_cells(session)
    # A box of 3 x 3 whole cells of zoom 12 around the reports' cell.
    size = cell_size(12)
    cx, cy = math.floor(BASE[1] / size), math.floor(BASE[0] / size)
    bbox = f"{(cx - 1) * size},{(cy - 1) * size},{(cx + 2) * size},{(cy + 2) * size}"
    # Four of the six leave the map; the cells have not been recounted yet.
    await session.execute(
        text("UPDATE report SET state = 'rejected' WHERE id = ANY(:ids)"),
        {"ids": [report.id for report in reports[:4]]},
    )
    await session.flush()
    stale = (await client.get("/v1/map", params={"bbox": bbox, "zoom": 12})).json()
    assert stale["clustered"] is True  # 6 > 2 x 2 in the cells: no point was counted
    assert [f["properties"]["count"] for f in stale["features"]] == [6]
    await refresh_cells(session)
    live = (await client.get("/v1/map", params={"bbox": bbox, "zoom": 12})).json()
    assert live["clustered"] is False  # 2 in the cells: the live points, within the budget
    assert len(live["features"]) == 2

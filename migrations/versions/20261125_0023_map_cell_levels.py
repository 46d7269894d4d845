"""Map cells at every zoom: report_map_cell gains a ``zoom`` column and keeps, besides the
~40 m cells of zoom 16, the cells of every coarser zoom down to 0 (each the sum of its four
children), so a map at any zoom reads the cells of that zoom only: a city-wide map reads a
few hundred rows instead of every 40 m cell. The same per-change recount keeps them.

Also a GiST index of the open reports' locations (as geography) for the nearby hint, which
reads only open reports: a few per cent of a city's history.

Revision ID: 0023
Revises: 0018
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept in step with service/reports/mapview.py (BASE_ZOOM).
BASE_ZOOM = 16
OPEN = "'accepted', 'awaiting_info', 'in_progress', 'reopened', 'transferred'"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_report_open_location_geography ON report "
        f"USING gist ((location::geography)) WHERE state IN ({OPEN})"
    )
    op.execute("ALTER TABLE report_map_cell ADD COLUMN zoom smallint NOT NULL DEFAULT 16")
    op.execute("ALTER TABLE report_map_cell ALTER COLUMN zoom DROP DEFAULT")
    op.execute("ALTER TABLE report_map_cell DROP CONSTRAINT report_map_cell_pkey")
    op.execute("ALTER TABLE report_map_cell ADD PRIMARY KEY (zoom, cx, cy, state)")
    for zoom in range(BASE_ZOOM - 1, -1, -1):
        op.execute(
            f"""
            INSERT INTO report_map_cell (zoom, cx, cy, state, n, sum_lon, sum_lat)
            SELECT {zoom}, floor(cx / 2.0)::int, floor(cy / 2.0)::int, state,
                   sum(n)::int, sum(sum_lon), sum(sum_lat)
            FROM report_map_cell WHERE zoom = {zoom + 1}
            GROUP BY 2, 3, 4
            """
        )


def downgrade() -> None:
    op.execute("DROP INDEX ix_report_open_location_geography")
    op.execute(f"DELETE FROM report_map_cell WHERE zoom <> {BASE_ZOOM}")
    op.execute("ALTER TABLE report_map_cell DROP CONSTRAINT report_map_cell_pkey")
    op.execute("ALTER TABLE report_map_cell DROP COLUMN zoom")
    op.execute("ALTER TABLE report_map_cell ADD PRIMARY KEY (cx, cy, state)")

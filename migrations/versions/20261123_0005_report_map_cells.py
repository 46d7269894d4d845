"""Report map cells: counts of public reports per ~40 m grid cell and state, for clusters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept in step with service/reports/mapview.py (BASE_ZOOM 16: 360 / 2**16 / 8 degrees).
CELL = 360 / 2**16 / 8
STATES = "'accepted','answered','awaiting_info','closed','in_progress','reopened','transferred'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE MATERIALIZED VIEW report_map_cell AS
        SELECT floor(ST_X(location) / {CELL})::int AS cx,
               floor(ST_Y(location) / {CELL})::int AS cy,
               state,
               count(*)::int AS n,
               sum(ST_X(location)) AS sum_lon,
               sum(ST_Y(location)) AS sum_lat
        FROM report
        WHERE state IN ({STATES})
        GROUP BY 1, 2, 3
        """
    )
    op.execute("CREATE UNIQUE INDEX uq_report_map_cell ON report_map_cell (cx, cy, state)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW report_map_cell")

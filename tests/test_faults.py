"""The SLA engine under faults, at a reduced size (``make faults`` runs it in full): real
worker processes are killed with SIGKILL, Redis is restarted and database connections are
terminated while deadlines fall due; every breach must happen once and every notice must
arrive once."""

from __future__ import annotations

import os

from bench.faults import FaultConfig, run
from service.config import Settings


async def test_every_breach_once_through_kills_restarts_and_cut_connections(
    settings: Settings,  # builds the test template the run's database is cloned from
) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    figures = await run(
        FaultConfig(
            reports=30,
            workers=2,
            spread_seconds=6,
            kills=1,
            redis_restarts=1,
            db_terminations=1,
            # How long to wait for stragglers: a send cut off by a terminated connection is
            # retried after its send lease (45 s) and the job's backoff. The run stops
            # waiting as soon as everything has arrived.
            deadline_seconds=150,
            database_suffix=f"faults_{worker}",
        )
    )
    assert figures.kills == figures.redis_restarts == figures.db_terminations == 1
    assert figures.lost == 0, figures
    assert figures.duplicated_events == 0, figures
    assert figures.duplicated_mails == 0, figures
    assert figures.missing_mails == 0, figures
    # How late the breaches came (lag_max) is a figure of `make faults`, not a pass mark.

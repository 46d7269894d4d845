"""The KPI queries: one statement aggregating rounds, ratings and moderation decisions per
department or per reason. Rounds are the unit, so a reopened report counts once per round.

* received: rounds opened in the period (each acceptance and each reopen opens one);
* answered, on time, answer times, ratings, reopened: rounds answered in the period (the
  working time to the answer, pauses excluded, was stored when the round was answered);
* overdue now: open, unanswered rounds past their due time whose report is not paused;
* moderated and rejected: reports filed in the period that moderators accepted, rejected
  or merged, by the department they were routed to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.reports.states import OPEN_STATES, ReportState

# Open rounds whose clock runs: a report waiting for the reporter's answer is paused.
RUNNING_STATES = sorted(OPEN_STATES - {ReportState.awaiting_info})


class GroupBy(StrEnum):
    department = "department"
    reason = "reason"


# (key of a round, key of a report) per grouping: constants, never user input.
_KEYS = {
    GroupBy.department: ("rr.department_id", "rep.department_id"),
    GroupBy.reason: ("rep.reason_id", "rep.reason_id"),
}

_SQL = """
WITH received AS (
    SELECT {round_key} AS key, count(*) AS received
    FROM report_round rr JOIN report rep ON rep.id = rr.report_id
    WHERE rr.opened_at >= :start AND rr.opened_at < :end {round_filter}
    GROUP BY 1
),
answered AS (
    SELECT {round_key} AS key,
           count(*) AS answered,
           count(*) FILTER (WHERE rr.on_time) AS on_time,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY rr.answer_working_seconds) AS median_s,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY rr.answer_working_seconds) AS p90_s,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM report_round nx
               WHERE nx.report_id = rr.report_id AND nx.number = rr.number + 1
           )) AS reopened
    FROM report_round rr JOIN report rep ON rep.id = rr.report_id
    WHERE rr.answered_at >= :start AND rr.answered_at < :end {round_filter}
    GROUP BY 1
),
rated AS (
    SELECT {round_key} AS key,
           count(*) FILTER (WHERE rt.by_reporter) AS ratings,
           avg(rt.score) FILTER (WHERE rt.by_reporter) AS average_rating,
           count(*) FILTER (WHERE NOT rt.by_reporter) AS supporter_ratings,
           avg(rt.score) FILTER (WHERE NOT rt.by_reporter) AS supporters_average
    FROM report_round rr
    JOIN report rep ON rep.id = rr.report_id
    JOIN report_rating rt ON rt.report_id = rr.report_id AND rt.round_number = rr.number
    WHERE rr.answered_at >= :start AND rr.answered_at < :end {round_filter}
    GROUP BY 1
),
overdue AS (
    SELECT {round_key} AS key, count(*) AS overdue_now
    FROM report_round rr JOIN report rep ON rep.id = rr.report_id
    WHERE rr.ended_at IS NULL AND rr.answered_at IS NULL AND rr.due_at < :now
      AND rep.state = ANY(CAST(:running AS text[])) {round_filter}
    GROUP BY 1
),
moderated AS (
    SELECT {report_key} AS key,
           count(*) FILTER (
               WHERE rep.state IN ('rejected', 'duplicate') OR rep.accepted_at IS NOT NULL
           ) AS moderated,
           count(*) FILTER (WHERE rep.state = 'rejected') AS rejected
    FROM report rep
    WHERE rep.created_at >= :start AND rep.created_at < :end {report_filter}
    GROUP BY 1
),
keys AS (
    SELECT key FROM received UNION SELECT key FROM answered
    UNION SELECT key FROM overdue UNION SELECT key FROM moderated
)
SELECT keys.key,
       coalesce(received.received, 0) AS received,
       coalesce(answered.answered, 0) AS answered,
       coalesce(answered.on_time, 0) AS on_time,
       answered.median_s, answered.p90_s,
       coalesce(answered.reopened, 0) AS reopened,
       coalesce(rated.ratings, 0) AS ratings, rated.average_rating,
       coalesce(rated.supporter_ratings, 0) AS supporter_ratings, rated.supporters_average,
       coalesce(overdue.overdue_now, 0) AS overdue_now,
       coalesce(moderated.moderated, 0) AS moderated,
       coalesce(moderated.rejected, 0) AS rejected
FROM keys
LEFT JOIN received ON received.key = keys.key
LEFT JOIN answered ON answered.key = keys.key
LEFT JOIN rated ON rated.key = keys.key
LEFT JOIN overdue ON overdue.key = keys.key
LEFT JOIN moderated ON moderated.key = keys.key
"""


@dataclass(frozen=True)
class KpiRow:
    key: uuid.UUID
    received: int
    answered: int
    on_time: int
    median_seconds: float | None
    p90_seconds: float | None
    reopened: int
    ratings: int
    average_rating: float | None
    supporter_ratings: int
    supporters_average: float | None
    overdue_now: int
    moderated: int
    rejected: int


def _float(value: Decimal | float | None) -> float | None:
    """Averages come as ``numeric`` (Decimal), percentiles as ``double precision``."""
    return None if value is None else float(value)


async def kpi_rows(
    session: AsyncSession,
    group_by: GroupBy,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    department_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, KpiRow]:
    """The figures of each department (or reason) with any in ``[start, end)``; with
    ``department_id`` only that department's rounds and reports."""
    round_key, report_key = _KEYS[group_by]
    sql = _SQL.format(
        round_key=round_key,
        report_key=report_key,
        round_filter="AND rr.department_id = :department" if department_id else "",
        report_filter="AND rep.department_id = :department" if department_id else "",
    )
    params: dict[str, object] = {
        "start": start,
        "end": end,
        "now": now,
        "running": [state.value for state in RUNNING_STATES],
    }
    if department_id:
        params["department"] = department_id
    rows = await session.execute(text(sql), params)
    return {
        row.key: KpiRow(
            key=row.key,
            received=row.received,
            answered=row.answered,
            on_time=row.on_time,
            median_seconds=_float(row.median_s),
            p90_seconds=_float(row.p90_s),
            reopened=row.reopened,
            ratings=row.ratings,
            average_rating=_float(row.average_rating),
            supporter_ratings=row.supporter_ratings,
            supporters_average=_float(row.supporters_average),
            overdue_now=row.overdue_now,
            moderated=row.moderated,
            rejected=row.rejected,
        )
        for row in rows
    }

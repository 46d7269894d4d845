"""The demo reports (``make run`` loads 3,000) hold what the service would have written
(rounds, responses and ratings included), were routed as filing routes, and give a league
table with plausible figures.

Each test seeds the reports into its own transaction (the template holds the demo city) and
checks them with SQL over the whole set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.city.routing.service import route
from service.config import Settings
from service.demo.reports import demo_paths
from service.demo.seed import seed
from service.feedback import stats
from service.reports.states import Action, ReportState, legal_pairs

DEMO_REPORTS = 3000

# Each query selects the ids of reports breaking one invariant.
INVARIANTS: dict[str, str] = {
    "a duplicate points to an accepted report of the same reason within its radius": """
        SELECT d.id FROM report d
        JOIN reason ON reason.id = d.reason_id
        LEFT JOIN report o ON o.id = d.duplicate_of_id
        WHERE d.state = 'duplicate' AND (
            o.id IS NULL
            OR o.reason_id <> d.reason_id
            OR o.accepted_at IS NULL
            OR o.state IN ('draft', 'submitted', 'rejected', 'withdrawn', 'duplicate')
            OR NOT ST_DWithin(
                o.location::geography, d.location::geography, greatest(reason.duplicate_radius_m, 1)
            )
            OR o.accepted_at > (
                SELECT e.at FROM report_event e
                WHERE e.report_id = d.id AND e.type = 'mark_duplicate'
            )
        )
    """,
    "only a duplicate has duplicate_of_id": """
        SELECT id FROM report WHERE state <> 'duplicate' AND duplicate_of_id IS NOT NULL
    """,
    "the original's timeline records the merge": """
        SELECT d.id FROM report d WHERE d.state = 'duplicate' AND NOT EXISTS (
            SELECT 1 FROM report_event e
            WHERE e.report_id = d.duplicate_of_id AND e.type = 'merged'
              AND e.data ->> 'merged_report' = d.id::text
        )
    """,
    "round is one more than the reopenings, and a reopened report is in round 2": """
        SELECT r.id FROM report r
        WHERE r.round <> 1 + (
            SELECT count(*) FROM report_event e WHERE e.report_id = r.id AND e.type = 'reopen'
        ) OR (r.state = 'reopened' AND r.round <> 2)
    """,
    "answered and closed reports have answered_at, closed ones closed_at": """
        SELECT id FROM report
        WHERE (state IN ('answered', 'closed') AND answered_at IS NULL)
           OR (state = 'closed' AND closed_at IS NULL)
           OR (answered_at IS NULL) <> NOT EXISTS (
                SELECT 1 FROM report_event e WHERE e.report_id = report.id AND e.type = 'answer'
           )
    """,
    "a rejected report, and only that, has a reject code and text": """
        SELECT id FROM report
        WHERE (state = 'rejected') <> (reject_code IS NOT NULL AND reject_text IS NOT NULL)
    """,
    "accepted_at and due_at exactly when a moderator accepted it": """
        SELECT id FROM report
        WHERE (accepted_at IS NOT NULL) <> EXISTS (
                SELECT 1 FROM report_event e WHERE e.report_id = report.id AND e.type = 'accept'
              )
           OR (accepted_at IS NULL) <> (due_at IS NULL)
           OR (state = 'draft') <> (submitted_at IS NULL)
    """,
    "the district is the one containing the point (the lookup's answer)": """
        SELECT id FROM report
        WHERE district_id IS DISTINCT FROM (
            SELECT district.id FROM district WHERE ST_Covers(district.geom, report.location)
            ORDER BY district.code LIMIT 1
        )
    """,
    "every change of state is legal, follows the previous one and ends in the state": """
        WITH change AS (
            SELECT e.report_id, e.type, e.from_state, e.to_state, e.at,
                   lag(e.to_state) OVER w AS previous,
                   row_number() OVER (PARTITION BY e.report_id ORDER BY e.at DESC) AS from_end
            FROM report_event e
            WHERE e.to_state IS NOT NULL
            WINDOW w AS (PARTITION BY e.report_id ORDER BY e.at)
        ),
        legal AS (
            SELECT * FROM unnest(
                CAST(:sources AS text[]), CAST(:actions AS text[]), CAST(:targets AS text[])
            ) AS t(source, action, target)
        )
        SELECT change.report_id FROM change
        WHERE (change.type = 'filed') <> (change.previous IS NULL)
           OR (change.type = 'filed' AND change.to_state NOT IN ('draft', 'submitted'))
           OR (change.type <> 'filed' AND (
                change.from_state IS DISTINCT FROM change.previous
                OR NOT EXISTS (
                    SELECT 1 FROM legal
                    WHERE (legal.source, legal.action, legal.target)
                        = (change.from_state, change.type, change.to_state)
                )
           ))
        UNION ALL
        SELECT report.id FROM report
        LEFT JOIN change ON change.report_id = report.id AND change.from_end = 1
        WHERE change.to_state IS DISTINCT FROM report.state::text
           OR change.at > report.updated_at OR report.updated_at > now()
    """,
    "a report has one round per acceptance and reopen, numbered up to its round, in its "
    "department, opened by those events": """
        SELECT r.id FROM report r
        WHERE (SELECT count(*) FROM report_round rr WHERE rr.report_id = r.id)
              <> CASE WHEN r.accepted_at IS NULL THEN 0 ELSE r.round END
           OR EXISTS (
                SELECT 1 FROM report_round rr WHERE rr.report_id = r.id
                AND (rr.number > r.round OR rr.department_id <> r.department_id
                     OR NOT EXISTS (
                        SELECT 1 FROM report_event e
                        WHERE e.report_id = r.id AND e.type IN ('accept', 'reopen')
                          AND e.at = rr.opened_at
                     ))
           )
    """,
    "the report's deadline and breach are its current round's": """
        SELECT r.id FROM report r
        JOIN report_round rr ON rr.report_id = r.id AND rr.number = r.round
        WHERE r.due_at IS DISTINCT FROM rr.due_at
           OR r.breached_at IS DISTINCT FROM rr.breached_at
           OR rr.due_at < rr.initial_due_at
    """,
    "a round is answered when its answer event and one published response say so, on time "
    "by its due time, breached at it otherwise": """
        SELECT rr.report_id FROM report_round rr
        WHERE (rr.answered_at IS NOT NULL) <> EXISTS (
                SELECT 1 FROM report_event e
                WHERE e.report_id = rr.report_id AND e.type = 'answer'
                  AND e.at = rr.answered_at AND (e.data ->> 'round')::int = rr.number
              )
           OR (
                SELECT count(*) FROM report_response p
                WHERE p.report_id = rr.report_id AND p.round_number = rr.number
                  AND p.state = 'published' AND p.published_at = rr.answered_at
              ) <> CASE WHEN rr.answered_at IS NULL THEN 0 ELSE 1 END
           OR (rr.answered_at IS NOT NULL AND (
                rr.on_time IS DISTINCT FROM (rr.answered_at <= rr.due_at)
                OR rr.answer_working_seconds IS NULL OR rr.answer_working_seconds < 0
                OR (rr.breached_at IS NOT NULL) <> (rr.answered_at > rr.due_at)
              ))
           OR (rr.breached_at IS NOT NULL AND rr.breached_at <> rr.due_at)
    """,
    "a reopen ends the previous round on the reporter's 'not resolved'; a close ends the "
    "last one on a 'resolved' or at the end of the rating window": """
        SELECT e.report_id FROM report_event e
        JOIN report_round rr
          ON rr.report_id = e.report_id AND rr.number = (e.data ->> 'round')::int - 1
        WHERE e.type = 'reopen' AND (
            rr.ended_at IS DISTINCT FROM e.at OR NOT EXISTS (
                SELECT 1 FROM report_rating t
                WHERE t.report_id = e.report_id AND t.round_number = rr.number
                  AND t.by_reporter AND NOT t.resolved AND t.created_at = e.at
            ))
        UNION ALL
        SELECT e.report_id FROM report_event e
        LEFT JOIN report_round rr
          ON rr.report_id = e.report_id AND rr.number = (e.data ->> 'round')::int
        WHERE e.type = 'close' AND (
            rr.ended_at IS DISTINCT FROM e.at
            OR NOT (
                (e.data ->> 'by' = 'reporter' AND EXISTS (
                    SELECT 1 FROM report_rating t
                    WHERE t.report_id = e.report_id AND t.round_number = rr.number
                      AND t.by_reporter AND t.resolved AND t.created_at = e.at
                ))
                OR (e.data ->> 'by' = 'rating_window'
                    AND e.at = rr.answered_at + make_interval(days => :window))
            ))
        UNION ALL
        SELECT r.id FROM report r
        JOIN report_round rr ON rr.report_id = r.id AND rr.number = r.round
        WHERE (r.state = 'closed') <> (rr.ended_at IS NOT NULL)
    """,
    "ratings are of answered rounds, within the window, by the reporter or a supporter": """
        SELECT t.report_id FROM report_rating t
        JOIN report r ON r.id = t.report_id
        LEFT JOIN report_round rr ON rr.report_id = t.report_id AND rr.number = t.round_number
        WHERE rr.answered_at IS NULL OR t.created_at < rr.answered_at
           OR t.created_at >= rr.answered_at + make_interval(days => :window)
           OR t.created_at > now()
           OR t.by_reporter <> (t.user_id = r.reporter_id)
           OR (NOT t.by_reporter AND NOT EXISTS (
                SELECT 1 FROM report_support s
                WHERE s.report_id = t.report_id AND s.user_id = t.user_id
           ))
    """,
    "a report is paused exactly while it waits for its reporter": """
        SELECT id FROM report WHERE (state = 'awaiting_info') <> (paused_at IS NOT NULL)
    """,
}


async def _seed(session: AsyncSession, settings: Settings, count: int) -> None:
    report = await seed(session, settings, datetime.now(UTC), accounts=False, reports=count)
    assert report.reports_added == count


async def test_demo_reports_keep_the_invariants(session: AsyncSession, settings: Settings) -> None:
    await _seed(session, settings, DEMO_REPORTS)
    states: dict[str, int] = dict(
        (await session.execute(text("SELECT state, count(*) FROM report GROUP BY state"))).all()
    )
    # Every state the demo promises is there, so no check below passes for want of rows.
    assert set(states) >= {
        "draft",
        "submitted",
        "accepted",
        "in_progress",
        "awaiting_info",
        "answered",
        "closed",
        "reopened",
        "rejected",
        "withdrawn",
        "duplicate",
    }
    assert sum(states.values()) == DEMO_REPORTS
    sources, actions, targets = zip(*legal_pairs(), strict=True)
    legal = {
        "sources": [s.value for s in sources],
        "actions": [a.value for a in actions],
        "targets": [t.value for t in targets],
    }
    params = {**legal, "window": settings.rating_window_days}
    broken: dict[str, list[Any]] = {}
    for invariant, query in INVARIANTS.items():
        used = {name: value for name, value in params.items() if f":{name}" in query}
        rows = await session.execute(text(query), used)
        ids = [row[0] for row in rows]
        if ids:
            broken[invariant] = ids[:5]
    assert not broken, broken
    await _check_league_table(session)
    # Some reporters let their words into the open data, and some did not.
    consents: dict[bool, int] = dict(
        (
            await session.execute(text("SELECT text_in_open_data, count(*) FROM report GROUP BY 1"))
        ).all()
    )
    assert consents.get(True, 0) > DEMO_REPORTS * 0.4 and consents.get(False, 0) > 0
    templates = (await session.execute(text("SELECT code FROM response_template"))).scalars()
    assert set(templates) == {"pothole-patched", "lamp-replaced", "roads-scheduled"}


async def _check_league_table(session: AsyncSession) -> None:
    """The half year's league table shows plausible figures that tell departments apart."""
    now = datetime.now(UTC)
    table = await stats.league_table(session, (now - timedelta(days=183)).date(), now.date(), now)
    busy = [row for row in table.departments if row.answered >= 20]
    assert len(busy) >= 8, [(row.department.code, row.answered) for row in table.departments]
    for row in busy:
        assert row.on_time_percent is not None and 30 <= row.on_time_percent <= 100
        assert row.median_answer_hours is not None and row.p90_answer_hours is not None
        assert 0 < row.median_answer_hours <= row.p90_answer_hours
        assert row.average_rating is not None and 3.0 <= row.average_rating <= 4.6
        assert row.supporter_ratings > 0
        assert row.reopen_percent is not None and 0 < row.reopen_percent < 25
        assert row.rejected_percent is not None and 0 < row.rejected_percent < 25
        assert row.received >= row.answered * 0.8
    assert len({round(row.on_time_percent or 0) for row in busy}) >= 5
    assert sum(row.overdue_now for row in table.departments) > 0


async def test_demo_routing_agrees_with_filing(session: AsyncSession, settings: Settings) -> None:
    """The seed routes all its reports in one statement; routing each alone, as filing does
    (with the building for building-bound reasons, the nearest one found otherwise), gives
    the same department, district and building."""
    await _seed(session, settings, 600)
    rows = (
        await session.execute(
            text(
                """
                SELECT report.reason_id, ST_Y(report.location) AS lat,
                       ST_X(report.location) AS lon, report.building_id, reason.building_bound,
                       report.department_id, report.district_id
                FROM report JOIN reason ON reason.id = report.reason_id
                """
            )
        )
    ).all()
    bases: set[str] = set()
    for row in rows:
        alone = await route(
            session,
            row.reason_id,
            row.lat,
            row.lon,
            row.building_id if row.building_bound else None,
            inside_city=True,
        )
        assert (alone.department_id, alone.district_id, alone.building_id) == (
            row.department_id,
            row.district_id,
            row.building_id,
        )
        bases.add(alone.basis)
    # The set covers the kinds of decision the demo's rules make (graffiti in Kesklinn, the
    # one reason rule for a district, is too rare to count on in 600 reports).
    assert bases >= {
        "building_managing_org",
        "reason_any_district",
        "category_district",
        "category_any_district",
    }


def test_demo_paths_come_from_the_transition_table() -> None:
    closed = demo_paths(ReportState.closed)
    assert closed
    for path in closed:
        actions = [rule.action for rule in path]
        assert actions[0] is Action.accept
        assert actions[-2:] == [Action.answer, Action.close]
    reopened = demo_paths(ReportState.reopened)
    assert all([rule.action for rule in path].count(Action.reopen) == 1 for path in reopened)
    assert demo_paths(ReportState.duplicate) == tuple(
        path
        for path in demo_paths(ReportState.duplicate)
        if path[-1].action is Action.mark_duplicate
    )
    assert not demo_paths(ReportState.transferred)

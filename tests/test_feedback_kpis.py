"""KPIs on a hand-built data set whose right answers are worked out by hand below.

Two fresh departments, A and B, and October 2026 in Tartu (1 October 00:00 EEST is
30 September 21:00 UTC; 1 November 00:00 EET is 31 October 22:00 UTC). "Now" is
5 November 12:00 UTC.

Department A (rounds: opened → answered, working seconds to the answer, on time):

* R1, pothole, filed 30.09 21:10 UTC (1.10 local), closed. Round 1: 30.09 21:30 UTC (1.10
  local) → 5.10, 36000 s, on time; round 2: 6.10 → 9.10, 14400 s, late. The reporter
  rated 2 (round 1) and 5 (round 2); a supporter 3 (round 2).
* R2, pothole, filed 10.10, closed: 10.10 → 12.10, 7200 s, on time; the reporter rated 4.
* R3, street-dirty, filed 27.09, closed: 28.09 → 3.10, 72000 s, late.
* R4, street-dirty, filed 19.10, in progress: opened 20.10, due 25.10.
* R5, pothole, filed 21.10, accepted: opened 21.10, due 20.11.
* R6, pothole, filed 14.10, awaiting the reporter (paused): opened 15.10, due 20.10.
* R7, pothole, filed 3.10, rejected.
* R8, street-dirty, filed 1.11 10:00 UTC, answered: 2.11 → 3.11, 3600 s, on time.
* R9, street-dirty, filed 4.10, merged as a duplicate straight from moderation.
* R11, pothole, filed 16.10, withdrawn: opened 16.10, due 22.10.

Department B: R10, pothole, filed 4.10, closed: 5.10 → 6.10, 10800 s, on time; rated 5.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.config import Settings
from service.feedback.models import ReportRating
from service.reports.models import ReportRound
from service.reports.states import ReportState
from tests.factories import bearer, file_report, make_department, make_user

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}


def utc(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def _report(
    session: AsyncSession,
    reporter: User,
    department: uuid.UUID,
    reason: str,
    filed: datetime,
    state: str,
    rounds: list[dict[str, Any]],
) -> Any:
    report = await file_report(session, reporter, reason_code=reason, when=filed)
    report.department_id = department
    report.state = ReportState(state)
    report.created_at = filed
    if rounds:
        report.accepted_at = rounds[0]["opened_at"]
        report.round = len(rounds)
    for number, values in enumerate(rounds, start=1):
        values.setdefault("due_at", values["opened_at"])
        session.add(
            ReportRound(
                report_id=report.id,
                number=number,
                department_id=department,
                initial_due_at=values["due_at"],
                **values,
            )
        )
    await session.flush()
    return report


def _rating(report: Any, user: User, number: int, score: int, *, by_reporter: bool = True) -> Any:
    return ReportRating(
        report_id=report.id,
        round_number=number,
        user_id=user.id,
        by_reporter=by_reporter,
        score=score,
        resolved=score >= 4,
    )


async def _data_set(session: AsyncSession, settings: Settings) -> tuple[Any, Any, User]:
    a = await make_department(session, code="kpi-a")
    b = await make_department(session, code="kpi-b")
    reporter = await make_user(session, settings)
    supporter = await make_user(session, settings)
    r1 = await _report(
        session,
        reporter,
        a.id,
        "pothole",
        utc(9, 30, 21, 10),
        "closed",
        [
            {
                "opened_at": utc(9, 30, 21, 30),
                "answered_at": utc(10, 5),
                "answer_working_seconds": 36000,
                "on_time": True,
                "ended_at": utc(10, 6),
            },
            {
                "opened_at": utc(10, 6),
                "answered_at": utc(10, 9),
                "answer_working_seconds": 14400,
                "on_time": False,
                "ended_at": utc(10, 10),
            },
        ],
    )
    r2 = await _report(
        session,
        reporter,
        a.id,
        "pothole",
        utc(10, 10, 8),
        "closed",
        [
            {
                "opened_at": utc(10, 10, 9),
                "answered_at": utc(10, 12),
                "answer_working_seconds": 7200,
                "on_time": True,
            }
        ],
    )
    await _report(
        session,
        reporter,
        a.id,
        "street-dirty",
        utc(9, 27),
        "closed",
        [
            {
                "opened_at": utc(9, 28),
                "answered_at": utc(10, 3),
                "answer_working_seconds": 72000,
                "on_time": False,
            }
        ],
    )
    await _report(
        session,
        reporter,
        a.id,
        "street-dirty",
        utc(10, 19),
        "in_progress",
        [{"opened_at": utc(10, 20), "due_at": utc(10, 25)}],
    )
    await _report(
        session,
        reporter,
        a.id,
        "pothole",
        utc(10, 21),
        "accepted",
        [{"opened_at": utc(10, 21, 11), "due_at": utc(11, 20)}],
    )
    await _report(
        session,
        reporter,
        a.id,
        "pothole",
        utc(10, 14),
        "awaiting_info",
        [{"opened_at": utc(10, 15), "due_at": utc(10, 20)}],
    )
    await _report(session, reporter, a.id, "pothole", utc(10, 3), "rejected", [])
    await _report(
        session,
        reporter,
        a.id,
        "street-dirty",
        utc(11, 1),
        "answered",
        [
            {
                "opened_at": utc(11, 2),
                "answered_at": utc(11, 3),
                "answer_working_seconds": 3600,
                "on_time": True,
            }
        ],
    )
    await _report(session, reporter, a.id, "street-dirty", utc(10, 4), "duplicate", [])
    r10 = await _report(
        session,
        reporter,
        b.id,
        "pothole",
        utc(10, 4),
        "closed",
        [
            {
                "opened_at": utc(10, 5),
                "answered_at": utc(10, 6),
                "answer_working_seconds": 10800,
                "on_time": True,
            }
        ],
    )
    await _report(
        session,
        reporter,
        a.id,
        "pothole",
        utc(10, 16),
        "withdrawn",
        [{"opened_at": utc(10, 16, 11), "due_at": utc(10, 22)}],
    )
    session.add_all(
        [
            _rating(r1, reporter, 1, 2),
            _rating(r1, reporter, 2, 5),
            _rating(r1, supporter, 2, 3, by_reporter=False),
            _rating(r2, reporter, 1, 4),
            _rating(r10, reporter, 1, 5),
        ]
    )
    await session.flush()
    return a, b, reporter


# Worked out by hand from the table in the module's docstring.
A_TOTAL = {
    # Rounds opened in October: R1/1 (1.10 00:30 local), R1/2, R2, R4, R5, R6, R11.
    "received": 7,
    # Rounds answered in October: R1/1, R1/2, R2, R3 (opened in September); R8 is November's.
    "answered": 4,
    "on_time": 2,  # R1/1 and R2
    "on_time_percent": 50.0,
    # Sorted seconds 7200, 14400, 36000, 72000: median (14400 + 36000) / 2 = 25200 s = 7 h;
    # p90 at 0.9 × 3 = 2.7: 36000 + 0.7 × (72000 − 36000) = 61200 s = 17 h.
    "median_answer_hours": 7.0,
    "p90_answer_hours": 17.0,
    # Past due now and running: R4. R6 is paused, R11 withdrawn, R5 not due yet.
    "overdue_now": 1,
    "ratings": 3,  # the reporter's 2, 5, 4
    "average_rating": 3.67,  # 11 / 3
    "supporter_ratings": 1,
    "supporters_average_rating": 3.0,
    "reopened": 1,  # R1/1 was followed by a round 2
    "reopen_percent": 25.0,
    # Filed in October and decided: R1, R2, R4, R5, R6, R11 (accepted), R7 (rejected), R9
    # (merged); R3 was filed in September, R8 in November.
    "moderated": 8,
    "rejected": 1,
    "rejected_percent": 12.5,
}
A_POTHOLE = {
    "received": 6,  # R1/1, R1/2, R2, R5, R6, R11
    "answered": 3,  # R1/1, R1/2, R2
    "on_time": 2,
    "on_time_percent": 66.7,
    # 7200, 14400, 36000: median 14400 s = 4 h; p90 at 1.8: 14400 + 0.8 × 21600 = 31680 s.
    "median_answer_hours": 4.0,
    "p90_answer_hours": 8.8,
    "overdue_now": 0,
    "ratings": 3,
    "average_rating": 3.67,
    "supporter_ratings": 1,
    "supporters_average_rating": 3.0,
    "reopened": 1,
    "reopen_percent": 33.3,
    "moderated": 6,  # R1, R2, R5, R6, R7, R11
    "rejected": 1,
    "rejected_percent": 16.7,
}
A_STREET_DIRTY = {
    "received": 1,  # R4
    "answered": 1,  # R3
    "on_time": 0,
    "on_time_percent": 0.0,
    "median_answer_hours": 20.0,
    "p90_answer_hours": 20.0,
    "overdue_now": 1,  # R4
    "ratings": 0,
    "average_rating": None,
    "supporter_ratings": 0,
    "supporters_average_rating": None,
    "reopened": 0,
    "reopen_percent": 0.0,
    "moderated": 2,  # R4, R9
    "rejected": 0,
    "rejected_percent": 0.0,
}
B_TOTAL = {
    "received": 1,
    "answered": 1,
    "on_time": 1,
    "on_time_percent": 100.0,
    "median_answer_hours": 3.0,
    "p90_answer_hours": 3.0,
    "overdue_now": 0,
    "ratings": 1,
    "average_rating": 5.0,
    "supporter_ratings": 0,
    "supporters_average_rating": None,
    "reopened": 0,
    "reopen_percent": 0.0,
    "moderated": 1,
    "rejected": 0,
    "rejected_percent": 0.0,
}


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in A_TOTAL}


async def test_the_league_table_counts_rounds_in_the_citys_days(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    a, b, _ = await _data_set(session, settings)
    app.state.clock = lambda: NOW
    response = await client.get("/v1/stats/departments", params=PERIOD)  # public
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"]["from"] == "2026-10-01"
    assert body["period"]["to"] == "2026-10-31"
    assert body["period"]["time_zone"] == "Europe/Tallinn"
    rows = {row["department"]["code"]: row for row in body["departments"]}
    assert _figures(rows["kpi-a"]) == A_TOTAL
    assert _figures(rows["kpi-b"]) == B_TOTAL
    # Best on-time share first; departments with nothing answered last.
    codes = [row["department"]["code"] for row in body["departments"]]
    assert codes[:2] == ["kpi-b", "kpi-a"]
    assert all(row["on_time_percent"] is None for row in body["departments"][2:])
    assert rows["roads"]["received"] == 0


async def test_a_departments_figures_per_reason(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    a, b, reporter = await _data_set(session, settings)
    app.state.clock = lambda: NOW
    staff = await make_user(session, settings, roles=((Role.staff, a.id),))
    path = f"/v1/departments/{a.id}/stats"
    response = await client.get(
        path, params={**PERIOD, "lang": "en"}, headers=bearer(settings, staff)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["department"]["code"] == "kpi-a"
    assert _figures(body["total"]) == A_TOTAL
    by_reason = {row["reason"]["code"]: row for row in body["reasons"]}
    assert list(by_reason) == ["pothole", "street-dirty"]  # the busier first
    assert by_reason["pothole"]["reason"]["name"] == "Pothole"
    assert _figures(by_reason["pothole"]) == A_POTHOLE
    assert _figures(by_reason["street-dirty"]) == A_STREET_DIRTY

    # Staff of another department, residents and the anonymous do not see it.
    b_staff = await make_user(session, settings, roles=((Role.staff, b.id),))
    other = await client.get(path, params=PERIOD, headers=bearer(settings, b_staff))
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert (await client.get(path, headers=bearer(settings, reporter))).status_code == 403
    assert (await client.get(path)).status_code == 401
    missing = await client.get(
        f"/v1/departments/{uuid.uuid4()}/stats", headers=bearer(settings, staff)
    )
    assert missing.status_code == 404
    # A supervisor above the department sees it.
    parent = await make_department(session)
    a.parent_id = parent.id
    await session.flush()
    head = await make_user(session, settings, roles=((Role.supervisor, parent.id),))
    above = await client.get(path, params=PERIOD, headers=bearer(settings, head))
    assert above.status_code == 200
    assert _figures(above.json()["total"]) == A_TOTAL


async def test_periods_are_checked(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.clock = lambda: NOW
    for params in (
        {"from": "2026-10-31", "to": "2026-10-01"},
        {"from": "2024-01-01", "to": "2026-10-01"},
        {"from": "yesterday"},
    ):
        refused = await client.get("/v1/stats/departments", params=params)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"
    a = await make_department(session)
    staff = await make_user(session, settings, roles=((Role.staff, a.id),))
    backwards = await client.get(
        f"/v1/departments/{a.id}/stats",
        params={"from": "2026-10-31", "to": "2026-10-01"},
        headers=bearer(settings, staff),
    )
    assert (backwards.status_code, backwards.json()["field"]) == (422, "from")
    default = (await client.get("/v1/stats/departments")).json()["period"]
    assert (default["from"], default["to"]) == ("2026-10-07", "2026-11-05")


async def test_a_period_at_the_calendars_ends_is_refused_not_failed(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.clock = lambda: NOW
    a = await make_department(session)
    staff = await make_user(session, settings, roles=((Role.staff, a.id),))
    for params in (
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"to": "0001-01-01"},
    ):
        for path, headers in (
            ("/v1/stats/departments", {}),
            (f"/v1/departments/{a.id}/stats", bearer(settings, staff)),
        ):
            refused = await client.get(path, params=params, headers=headers)
            assert refused.status_code == 422, (path, params)
            assert refused.json()["field"] in ("from", "to")

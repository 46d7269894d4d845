"""Demo reports: a few thousand reports in plausible states over the last half year, with
their timelines and some supporters.

Each report's history is a walk through the report life cycle's transition table
(:mod:`service.reports.states`), so the rows hold what the service would have written: a
duplicate points to an accepted report of the same reason close by, a reopened report is in
its second round, answered and closed ones have their answer, rejected ones a reason. All
reports are routed at once by the statement filing uses, so each one's district, building
and department are what filing the same report would give.

(Over 400 lines: generated demo data, one pass that builds the reports and their events.)
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.calendar import TimeUnit, WorkingCalendar, add_working_time
from service.catalog.models import Reason
from service.city import service as city
from service.city.models import Building
from service.config import Settings
from service.db import table_of
from service.demo import tartu
from service.demo.accounts import demo_residents, refuse_in_production
from service.demo.feedback import DemoFeedback, reporter_languages, seed_templates
from service.reports.models import Report, ReportEvent, ReportSupport
from service.reports.states import TRANSITIONS, Action, ReportState, Transition, transition

S = ReportState

# (state, share) of reports older than a month, and of recent ones.
OLD_STATES = [
    ("closed", 62),
    ("answered", 12),
    ("rejected", 9),
    ("withdrawn", 3),
    ("duplicate", 4),
    ("in_progress", 6),
    ("reopened", 2),
    ("awaiting_info", 2),
]
RECENT_STATES = [
    ("submitted", 18),
    ("accepted", 24),
    ("in_progress", 26),
    ("awaiting_info", 4),
    ("answered", 14),
    ("closed", 6),
    ("rejected", 5),
    ("draft", 1),
    ("withdrawn", 2),
]
DESCRIPTIONS = [
    "Palun vaadake see üle, probleem on olnud juba mitu päeva.",
    "Please have a look, this has been like this for days.",
    "Ohtlik eriti pimedas, jalakäijad peavad sõiduteele minema.",
    "Dangerous in the dark; people walk on the road to get around it.",
    "Пожалуйста, примите меры, ситуация повторяется.",
    "Naabrid on ka märganud, keegi pole midagi teinud.",
]

# Moves the demo does not make: a submit needs a photo the demo has not got, a transfer a
# second department's consent, and closing an unanswered report (no reply to a question)
# would leave a closed report without an answer.
UNPLAYED_ACTIONS = frozenset({Action.submit, Action.transfer, Action.receive_transfer})
UNPLAYED_MOVES = frozenset({(S.awaiting_info, Action.close)})
RESIDENT_ACTIONS = frozenset({Action.withdraw, Action.reopen, Action.receive_info})
MODERATOR_ACTIONS = frozenset({Action.accept, Action.reject, Action.mark_duplicate})
# A duplicate lies within this share of its reason's duplicate radius from the original.
DUPLICATE_SPREAD = 0.5
DUPLICATE_SPREAD_MAX_M = 30.0
REJECTION = ("out_of_scope", "Not the city's matter.")


@cache
def demo_paths(target: ReportState) -> tuple[tuple[Transition, ...], ...]:
    """Every walk through the transition table from ``submitted`` to ``target`` that visits
    no state twice (so a report reopens at most once), without the unplayed moves."""
    paths: list[tuple[Transition, ...]] = []

    def walk(state: ReportState, path: tuple[Transition, ...], seen: frozenset[S]) -> None:
        if state == target:
            paths.append(path)
            return
        for rule in TRANSITIONS:
            if (
                state in rule.sources
                and rule.target not in seen
                and rule.action not in UNPLAYED_ACTIONS
                and (state, rule.action) not in UNPLAYED_MOVES
            ):
                walk(rule.target, (*path, rule), seen | {rule.target})

    walk(S.submitted, (), frozenset({S.submitted}))
    return tuple(paths)


@dataclass
class DemoReport:
    """One demo report while it is being made up: where, what, and its history."""

    id: uuid.UUID
    reason: Reason
    reporter: uuid.UUID
    state: ReportState
    created: datetime
    lat: float = 0.0
    lon: float = 0.0
    building_id: uuid.UUID | None = None
    steps: list[tuple[Transition, datetime]] = field(default_factory=list)
    duplicate_of: DemoReport | None = None

    def moment_of(self, action: Action) -> datetime | None:
        return next((at for rule, at in self.steps if rule.action == action), None)

    def moment_of_last(self, action: Action) -> datetime | None:
        return next((at for rule, at in reversed(self.steps) if rule.action == action), None)


def _walk(report: DemoReport, now: datetime, rng: random.Random) -> None:
    """A path to the report's state, each step checked by the transition table, at moments
    an hour to three days apart (squeezed to end before ``now``)."""
    if report.state == S.draft:
        return
    path = rng.choice(demo_paths(report.state))
    gaps = [rng.uniform(1, 72) for _ in path]
    room = (now - report.created - timedelta(minutes=1)) / timedelta(hours=1)
    scale = min(1.0, room / sum(gaps)) if gaps else 1.0
    state, moment = S.submitted, report.created
    for rule, gap in zip(path, gaps, strict=True):
        state = transition(state, rule.action).target
        moment += timedelta(hours=gap * scale)
        report.steps.append((rule, moment))
    assert state == report.state


def _offset(lat: float, lon: float, metres: float, rng: random.Random) -> tuple[float, float]:
    """A point up to ``metres`` from (lat, lon)."""
    distance, bearing = metres * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return (
        lat + distance * math.cos(bearing) / 111_320,
        lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat))),
    )


async def seed_reports(
    session: AsyncSession, settings: Settings, now: datetime, count: int = 3000
) -> int:
    """``count`` reports over the last half year, with timelines, rounds, answers, ratings
    and some supporters, and the demo's response templates. The reports are skipped when
    the database holds reports already."""
    from service.reports.filing import CODE_ALPHABET

    refuse_in_production(settings, "demo reports")
    await seed_templates(session)
    if (await session.execute(select(col(Report.id)).limit(1))).first() is not None:
        return 0
    rng = random.Random(1789)
    residents = await demo_residents(session, 60, now)
    reasons = list((await session.execute(select(Reason).order_by(col(Reason.code)))).scalars())
    buildings = (
        await session.execute(
            select(col(Building.id), func.ST_Y(Building.point), func.ST_X(Building.point))
            .where(col(Building.managing_org_id).is_not(None))
            .order_by(col(Building.address))
        )
    ).all()
    shapes = tartu.district_shapes()
    district_codes = [code for code, *_ in tartu.DISTRICTS]
    weights = [shapes[code].area for code in district_codes]
    calendar = await city.load_working_calendar(session)

    def place(report: DemoReport) -> None:
        """At (near) a building for building-bound reasons, else anywhere in a district."""
        if report.reason.building_bound and buildings:
            report.building_id, lat, lon = rng.choice(buildings)
            report.lat, report.lon = _offset(lat, lon, 10, rng)
        else:
            district = rng.choices(district_codes, weights)[0]
            report.lon, report.lat = tartu.point_in(shapes[district], rng, margin=0.0003)

    made: list[DemoReport] = []
    duplicates: list[DemoReport] = []
    for _ in range(count):
        created = now - timedelta(minutes=rng.randint(30, 180 * 24 * 60))
        shares = OLD_STATES if now - created > timedelta(days=30) else RECENT_STATES
        states, odds = zip(*shares, strict=True)
        report = DemoReport(
            id=uuid.uuid4(),
            reason=rng.choice(reasons),
            reporter=rng.choice(residents),
            state=S(rng.choices(states, odds)[0]),
            created=created,
        )
        if report.state == S.duplicate:
            duplicates.append(report)
            continue
        place(report)
        _walk(report, now, rng)
        made.append(report)
    for report in _duplicates(duplicates, made, now, rng):
        if report.duplicate_of is None:
            # Too few reports to have an accepted one to merge into: it awaits moderation.
            report.state = S.submitted
            place(report)
        _walk(report, now, rng)
        made.append(report)

    feedback = DemoFeedback(
        calendar, now, settings.rating_window_days, await reporter_languages(session, residents)
    )
    for report in made:
        feedback.plan(report)
    decisions = await city.route_many(
        session, [city.RoutingRequest(r.reason.id, r.lat, r.lon, r.building_id) for r in made]
    )
    codes = {
        r.id: "ML-"
        + "".join(rng.choice(CODE_ALPHABET) for _ in range(4))
        + "-"
        + "".join(rng.choice(CODE_ALPHABET) for _ in range(4))
        for r in made
    }
    report_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    support_rows: list[dict[str, Any]] = []
    for report, decision in zip(made, decisions, strict=True):
        row, events = _rows(report, decision, codes, calendar, rng)
        feedback.add(report, row, events, decision.department_id)
        report_rows.append(row)
        event_rows.extend(events)
        if (
            report.state in (S.accepted, S.in_progress, S.answered, S.closed)
            and rng.random() < 0.15
        ):
            fans = rng.sample([r for r in residents if r != report.reporter], rng.randint(1, 6))
            support_rows.extend(
                {"report_id": report.id, "user_id": fan, "created_at": report.created}
                for fan in fans
            )
            row["supporters_count"] = len(fans)
            feedback.add_supporter_ratings(report, fans)
    for chunk in range(0, len(report_rows), 1000):
        await session.execute(insert(table_of(Report)), report_rows[chunk : chunk + 1000])
    for chunk in range(0, len(event_rows), 2000):
        await session.execute(insert(table_of(ReportEvent)), event_rows[chunk : chunk + 2000])
    if support_rows:
        await session.execute(insert(table_of(ReportSupport)), support_rows)
    await feedback.write(session)
    return len(report_rows)


def _duplicates(
    duplicates: list[DemoReport], made: list[DemoReport], now: datetime, rng: random.Random
) -> list[DemoReport]:
    """Each duplicate placed near an accepted report of the same reason (of another reason
    when its own has none), filed after that one was accepted; ``duplicate_of`` stays None
    when no report was accepted."""
    latest = now - timedelta(hours=2)
    originals: dict[uuid.UUID, list[DemoReport]] = {}
    for report in made:
        accepted_at = report.moment_of(Action.accept)
        live = report.state not in (S.duplicate, S.rejected, S.withdrawn)
        if accepted_at is not None and accepted_at < latest and live:
            originals.setdefault(report.reason.id, []).append(report)
    for report in duplicates:
        candidates = originals.get(report.reason.id) or [
            r for group in originals.values() for r in group
        ]
        if not candidates:
            continue
        original = rng.choice(candidates)
        accepted_at = original.moment_of(Action.accept)
        assert accepted_at is not None
        report.reason, report.duplicate_of = original.reason, original
        report.created = accepted_at + (latest - accepted_at) * rng.uniform(0.01, 0.2)
        report.building_id = original.building_id
        spread = min(original.reason.duplicate_radius_m * DUPLICATE_SPREAD, DUPLICATE_SPREAD_MAX_M)
        report.lat, report.lon = _offset(original.lat, original.lon, spread, rng)
    return duplicates


def _rows(
    report: DemoReport,
    decision: city.RoutingDecision,
    codes: dict[uuid.UUID, str],
    calendar: WorkingCalendar,
    rng: random.Random,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report's row and its timeline, from its steps."""
    if decision.district_id is None:
        raise ValueError(f"demo report at ({report.lat}, {report.lon}) is outside the city")
    reason, created = report.reason, report.created
    draft = report.state == S.draft
    row: dict[str, Any] = {
        "id": report.id,
        "tracking_code": codes[report.id],
        "reporter_id": report.reporter,
        "reason_id": reason.id,
        "category_id": reason.category_id,
        "department_id": decision.department_id,
        "district_id": decision.district_id,
        "building_id": decision.building_id,
        "location": from_shape(Point(report.lon, report.lat), srid=4326),
        "description": rng.choice(DESCRIPTIONS),
        "attributes": _demo_attributes(reason, rng),
        "anonymous_public": rng.random() < 0.2,
        # Three in five let their words into the open data (without drawing from ``rng``,
        # so the rest of the demo city stays as it was).
        "text_in_open_data": int(created.timestamp()) // 60 % 5 < 3,
        "state": report.state,
        "round": 1,
        "created_at": created,
        "updated_at": created,
        "submitted_at": None if draft else created,
        "moderation_due_at": None
        if draft
        else add_working_time(
            created, reason.moderation_sla_hours, TimeUnit.working_hours, calendar
        ),
        "subscribers_count": 1,
        "supporters_count": 0,
        # executemany wants the same keys in every row
        "accepted_at": None,
        "due_at": None,
        "answered_at": None,
        "closed_at": None,
        "reject_code": None,
        "reject_text": None,
        "duplicate_of_id": None,
    }
    events = [
        _event(
            report,
            "filed",
            created,
            to_state=S.draft if draft else S.submitted,
            public=False,
            routing=decision.basis,
        )
    ]
    state = S.draft if draft else S.submitted
    for rule, moment in report.steps:
        data: dict[str, Any] = {}
        if rule.action in (Action.accept, Action.reopen):
            # Acceptance starts the clock; a reopened report starts a round with a fresh one.
            row["due_at"] = add_working_time(moment, reason.sla_amount, reason.sla_unit, calendar)
            data["due_at"] = row["due_at"].isoformat()
        if rule.action == Action.accept:
            row["accepted_at"] = moment
            data["department_id"] = str(decision.department_id)
        elif rule.action == Action.reopen:
            row["round"] += 1
            data["round"] = row["round"]
        elif rule.action == Action.answer:
            row["answered_at"] = moment
        elif rule.action == Action.close:
            row["closed_at"] = moment
        elif rule.action == Action.reject:
            row["reject_code"], row["reject_text"] = REJECTION
            data = {"code": REJECTION[0], "text": REJECTION[1]}
        elif rule.action == Action.mark_duplicate:
            original = report.duplicate_of
            assert original is not None
            row["duplicate_of_id"] = original.id
            data = {"duplicate_of": str(original.id), "tracking_code": codes[original.id]}
            # The original's timeline names the merged report only once a moderator has
            # let that one through.
            events.append(
                _event(
                    original,
                    "merged",
                    moment,
                    public=row["accepted_at"] is not None,
                    merged_report=str(report.id),
                    tracking_code=codes[report.id],
                )
            )
        events.append(
            _event(
                report,
                rule.action.value,
                moment,
                from_state=state,
                to_state=rule.target,
                public=rule.public,
                **data,
            )
        )
        state = rule.target
        row["updated_at"] = moment
    return row, events


def _event(
    report: DemoReport,
    kind: str,
    at: datetime,
    *,
    from_state: ReportState | None = None,
    to_state: ReportState | None = None,
    public: bool = True,
    **data: Any,
) -> dict[str, Any]:
    by_reporter = kind == "filed" or kind in RESIDENT_ACTIONS
    return {
        "id": uuid.uuid4(),
        "report_id": report.id,
        "at": at,
        "actor_id": report.reporter if by_reporter else None,
        "actor_role": "resident"
        if by_reporter
        else "moderator"
        if kind in MODERATOR_ACTIONS
        else "staff",
        "type": kind,
        "from_state": from_state.value if from_state else None,
        "to_state": to_state.value if to_state else None,
        "public": public,
        "data": data,
    }


def _demo_attributes(reason: Reason, rng: random.Random) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for definition in reason.attributes:
        if not definition.get("required"):
            continue
        if definition["type"] == "single_value_list":
            values[definition["code"]] = rng.choice(definition["values"])["key"]
        elif definition["type"] == "multi_value_list":
            values[definition["code"]] = [rng.choice(definition["values"])["key"]]
        elif definition["type"] == "number":
            values[definition["code"]] = float(rng.randint(1, 4))
    return values

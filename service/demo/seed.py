"""Writing the demo Tartu into a database. Idempotent: every entity is matched by its code
(buildings by address, accounts by email), so a second run changes nothing.

Demo accounts (one per role, password :data:`DEMO_PASSWORD`) are refused when
``MEIELINN_ENV=production``: a city's production database must not hold a known password.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository
from service.auth import service as auth
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import RegisterRequest
from service.catalog.models import Category, ObjectType, Reason
from service.city import service as city
from service.city.models import Building, Department, District, RoutingRule
from service.config import Environment, Settings
from service.db import table_of
from service.demo import tartu

DEMO_PASSWORD = "meielinn-demo"  # noqa: S105 - documented demo credential, refused in production
DEMO_DOMAIN = "demo.meielinn.ee"
# role → (local part, display name, department code)
DEMO_ACCOUNTS: list[tuple[Role | None, str, str, str | None]] = [
    (None, "resident", "Mari Maasikas", None),
    (Role.ambassador, "ambassador", "Jaan Tamm", None),
    (Role.staff, "staff", "Kati Karu", "roads"),
    (Role.supervisor, "supervisor", "Peeter Paju", "roads"),
    (Role.moderator, "moderator", "Liis Lepp", None),
    (Role.coordinator, "coordinator", "Tiit Kask", None),
    (Role.admin, "admin", "Anne Admin", None),
]


class DemoRefused(Exception):
    pass


@dataclass
class SeedReport:
    districts: int = 0
    departments: int = 0
    reasons: int = 0
    buildings_added: int = 0
    routing_rules: int = 0
    accounts_added: list[str] = field(default_factory=list)
    reports_added: int = 0


async def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows or update them by ``code`` (ids of existing rows are kept)."""
    if not rows:
        return
    table = table_of(model)
    statement = insert(table).values(rows)
    updates = {k: statement.excluded[k] for k in rows[0] if k not in ("id", "code")}
    await session.execute(
        statement.on_conflict_do_update(index_elements=[table.c.code], set_=updates)
    )


async def _ids(session: AsyncSession, model: Any) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(model.code, model.id))
    return dict(rows.all())  # a Result has keys(), so dict(rows) would take it for a mapping


async def seed_city(session: AsyncSession) -> SeedReport:
    """Districts, calendar, departments, catalogue, routing rules and buildings."""
    report = SeedReport()
    result = await city.import_districts(session, tartu.district_collection())
    report.districts = result.total
    await city.city_calendar(session)

    for code, name, kind, parent, email in tartu.DEPARTMENTS:
        parents = await _ids(session, Department)
        await _upsert(
            session,
            Department,
            [
                {
                    "id": uuid.uuid4(),
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "parent_id": parents[parent] if parent else None,
                    "email": email,
                }
            ],
        )
    departments = await _ids(session, Department)
    report.departments = len(tartu.DEPARTMENTS)

    object_rows, category_rows, reason_rows = [], [], []
    for type_position, (type_code, type_names, type_categories) in enumerate(tartu.CATALOGUE):
        object_rows.append(
            {"id": uuid.uuid4(), "code": type_code, "names": type_names, "position": type_position}
        )
        for position, (category_code, category_names, _, specs) in enumerate(type_categories):
            category_rows.append((type_code, category_code, category_names, position))
            for reason_position, spec in enumerate(specs):
                reason_rows.append((category_code, spec, reason_position))
    await _upsert(session, ObjectType, object_rows)
    object_types = await _ids(session, ObjectType)
    await _upsert(
        session,
        Category,
        [
            {
                "id": uuid.uuid4(),
                "code": code,
                "object_type_id": object_types[type_code],
                "names": names,
                "position": position,
            }
            for type_code, code, names, position in category_rows
        ],
    )
    categories = await _ids(session, Category)
    await _upsert(
        session,
        Reason,
        [
            _reason_row(spec, categories[category], position)
            for category, spec, position in reason_rows
        ],
    )
    reasons = await _ids(session, Reason)
    report.reasons = len(reason_rows)

    districts = await _ids(session, District)
    rules: list[dict[str, Any]] = []
    for _, _, category_list in tartu.CATALOGUE:
        for category_code, _, department, _ in category_list:
            rules.append(
                _rule(category_id=categories[category_code], department=departments[department])
            )
    for category_code, district, department in tartu.DISTRICT_RULES:
        rules.append(
            _rule(
                category_id=categories[category_code],
                district_id=districts[district],
                department=departments[department],
            )
        )
    for reason_code, maybe_district, department in tartu.REASON_RULES:
        rules.append(
            _rule(
                reason_id=reasons[reason_code],
                district_id=districts[maybe_district] if maybe_district else None,
                department=departments[department],
            )
        )
    await session.execute(insert(table_of(RoutingRule)).values(rules).on_conflict_do_nothing())
    report.routing_rules = len(rules)

    known = set((await session.execute(select(col(Building.address)))).scalars())
    fresh = [spec for spec in tartu.buildings() if spec.address not in known]
    if fresh:
        await session.execute(
            insert(table_of(Building)).values(
                [
                    {
                        "id": uuid.uuid4(),
                        "address": spec.address,
                        "point": from_shape(Point(spec.lon, spec.lat), srid=4326),
                        "footprint": from_shape(tartu.footprint(spec), srid=4326)
                        if spec.apartments > 1
                        else None,
                        "year_built": spec.year_built,
                        "floors": spec.floors,
                        "apartments": spec.apartments,
                        "heating": spec.heating,
                        "managing_org_id": departments[spec.managing_org]
                        if spec.managing_org
                        else None,
                        "is_pilot_area": spec.is_pilot_area,
                        "passport": spec.passport,
                    }
                    for spec in fresh
                ]
            )
        )
    report.buildings_added = len(fresh)
    return report


def _reason_row(spec: tartu.ReasonSpec, category_id: uuid.UUID, position: int) -> dict[str, Any]:
    start = spec.season[0].split("-") if spec.season else None
    end = spec.season[1].split("-") if spec.season else None
    return {
        "id": uuid.uuid4(),
        "code": spec.code,
        "category_id": category_id,
        "names": spec.names,
        "sla_amount": spec.sla,
        "sla_unit": spec.unit,
        "moderation_sla_hours": spec.moderation_hours,
        "needs_answer_moderation": spec.needs_answer_moderation,
        "requires_photo": spec.requires_photo,
        "building_bound": spec.building_bound,
        "season_start_month": int(start[0]) if start else None,
        "season_start_day": int(start[1]) if start else None,
        "season_end_month": int(end[0]) if end else None,
        "season_end_day": int(end[1]) if end else None,
        "duplicate_radius_m": spec.duplicate_radius_m,
        "service_code": spec.code,
        "attributes": spec.attributes,
        "position": position,
    }


def _rule(
    *,
    department: uuid.UUID,
    reason_id: uuid.UUID | None = None,
    category_id: uuid.UUID | None = None,
    district_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "reason_id": reason_id,
        "category_id": category_id,
        "district_id": district_id,
        "department_id": department,
    }


async def seed_accounts(session: AsyncSession, settings: Settings) -> list[str]:
    """One verified account per role; returns the emails created now."""
    if settings.env is Environment.production:
        raise DemoRefused("demo accounts are refused when MEIELINN_ENV=production")
    departments = await _ids(session, Department)
    created = []
    now = datetime.now(UTC)
    for role, local, name, department in DEMO_ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = await repository.user_by_email(session, email)
        if user is None:
            user = await auth.create_account(
                session,
                settings,
                RegisterRequest(email=email, password=DEMO_PASSWORD, display_name=name),
                verified_at=now,
            )
            await session.flush()
            created.append(email)
        if role is not None:
            await session.execute(
                insert(table_of(RoleGrant))
                .values(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    role=role,
                    department_id=departments[department] if department else None,
                )
                .on_conflict_do_nothing()
            )
    return created


async def is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(col(District.id)).limit(1))).first() is None


async def seed(
    session: AsyncSession, settings: Settings, *, accounts: bool = True, reports: int = 0
) -> SeedReport:
    report = await seed_city(session)
    if accounts:
        report.accounts_added = await seed_accounts(session, settings)
    if reports:
        report.reports_added = await seed_reports(session, settings, reports)
    return report


# --- demo reports ------------------------------------------------------------------------

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


async def seed_reports(session: AsyncSession, settings: Settings, count: int = 3000) -> int:
    """A few thousand reports in plausible states over the last half year, with their
    timelines and some supporters. Skipped when the database holds reports already."""
    from service.reports.filing import CODE_ALPHABET
    from service.reports.models import Report, ReportEvent, ReportSupport
    from service.sla.calendar import TimeUnit, add_working_time

    if settings.env is Environment.production:
        raise DemoRefused("demo reports are refused when MEIELINN_ENV=production")
    if (await session.execute(select(col(Report.id)).limit(1))).first() is not None:
        return 0
    rng = random.Random(1789)
    now = datetime.now(UTC)
    residents = await _demo_residents(session, 60)
    departments = await _ids(session, Department)
    districts = await _ids(session, District)
    reasons = list((await session.execute(select(Reason))).scalars())
    category_codes = {v: k for k, v in (await _ids(session, Category)).items()}
    category_department = {
        category_code: department
        for _, _, categories in tartu.CATALOGUE
        for category_code, _, department, _ in categories
    }
    district_rules = {(c, d): dep for c, d, dep in tartu.DISTRICT_RULES}
    reason_rules = {(r, d): dep for r, d, dep in tartu.REASON_RULES}
    buildings = (
        await session.execute(
            select(
                col(Building.id),
                func.ST_X(Building.point),
                func.ST_Y(Building.point),
                col(Building.managing_org_id),
            ).where(col(Building.managing_org_id).is_not(None))
        )
    ).all()
    shapes = tartu.district_shapes()
    weights = [shapes[code].area for code, *_ in tartu.DISTRICTS]
    calendar = await city.load_working_calendar(session)
    report_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    support_rows: list[dict[str, Any]] = []
    for _ in range(count):
        reason = rng.choice(reasons)
        category = category_codes[reason.category_id]
        created = now - timedelta(minutes=rng.randint(30, 180 * 24 * 60))
        building_id = None
        if reason.building_bound and buildings:
            building_id, lon, lat, department_id = rng.choice(buildings)
            lon += rng.uniform(-0.0001, 0.0001)
            lat += rng.uniform(-0.0001, 0.0001)
            district_code = next(
                (c for c, s in shapes.items() if s.covers(Point(lon, lat))), "kesklinn"
            )
        else:
            district_code = rng.choices([c for c, *_ in tartu.DISTRICTS], weights)[0]
            lon, lat = tartu.point_in(shapes[district_code], rng, margin=0.0003)
            code = (
                reason_rules.get((reason.code, district_code))
                or reason_rules.get((reason.code, None))
                or district_rules.get((category, district_code))
                or category_department.get(category, "dispatcher")
            )
            department_id = departments[code]
        old = now - created > timedelta(days=30)
        states, shares = zip(*(OLD_STATES if old else RECENT_STATES), strict=True)
        state = rng.choices(states, shares)[0]
        report_id = uuid.uuid4()
        reporter = rng.choice(residents)
        row: dict[str, Any] = {
            "id": report_id,
            "tracking_code": "ML-"
            + "".join(rng.choice(CODE_ALPHABET) for _ in range(4))
            + "-"
            + "".join(rng.choice(CODE_ALPHABET) for _ in range(4)),
            "reporter_id": reporter,
            "reason_id": reason.id,
            "category_id": reason.category_id,
            "department_id": department_id,
            "district_id": districts[district_code],
            "building_id": building_id,
            "location": from_shape(Point(lon, lat), srid=4326),
            "description": rng.choice(DESCRIPTIONS),
            "attributes": _demo_attributes(reason, rng),
            "anonymous_public": rng.random() < 0.2,
            "state": state,
            "created_at": created,
            "updated_at": created,
            "submitted_at": None if state == "draft" else created,
            "moderation_due_at": add_working_time(
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
        }
        events: list[tuple[str, str | None, str, datetime, bool]] = [
            ("filed", None, "submitted" if state != "draft" else "draft", created, False)
        ]
        moment = created
        path = _demo_path(state)
        for action, before, after in path:
            moment = min(now, moment + timedelta(hours=rng.uniform(1, 72)))
            events.append((action, before, after, moment, action not in ("reject",)))
            if action == "accept":
                row["accepted_at"] = moment
                row["due_at"] = add_working_time(
                    moment, reason.sla_amount, reason.sla_unit, calendar
                )
            elif action == "answer":
                row["answered_at"] = moment
            elif action == "close":
                row["closed_at"] = moment
            elif action == "reject":
                row["reject_code"], row["reject_text"] = "out_of_scope", "Not the city's matter."
        row["updated_at"] = moment
        report_rows.append(row)
        event_rows.extend(
            {
                "id": uuid.uuid4(),
                "report_id": report_id,
                "at": at,
                "actor_id": reporter if kind in ("filed", "withdraw") else None,
                "actor_role": "resident" if kind in ("filed", "withdraw") else "staff",
                "type": kind,
                "from_state": before,
                "to_state": after,
                "public": public,
                "data": {},
            }
            for kind, before, after, at, public in events
        )
        if state in ("accepted", "in_progress", "answered", "closed") and rng.random() < 0.15:
            fans = rng.sample([r for r in residents if r != reporter], rng.randint(1, 6))
            support_rows.extend(
                {"report_id": report_id, "user_id": fan, "created_at": created} for fan in fans
            )
            row["supporters_count"] = len(fans)
    for chunk in range(0, len(report_rows), 1000):
        await session.execute(insert(table_of(Report)), report_rows[chunk : chunk + 1000])
    for chunk in range(0, len(event_rows), 2000):
        await session.execute(insert(table_of(ReportEvent)), event_rows[chunk : chunk + 2000])
    if support_rows:
        await session.execute(insert(table_of(ReportSupport)), support_rows)
    return len(report_rows)


def _demo_path(state: str) -> list[tuple[str, str, str]]:
    """The transitions that lead from submitted to ``state``."""
    steps = {
        "draft": [],
        "submitted": [],
        "rejected": [("reject", "submitted", "rejected")],
        "accepted": [("accept", "submitted", "accepted")],
        "duplicate": [("mark_duplicate", "submitted", "duplicate")],
        "withdrawn": [("withdraw", "submitted", "withdrawn")],
    }
    if state in steps:
        return steps[state]
    path = [("accept", "submitted", "accepted"), ("start_work", "accepted", "in_progress")]
    if state == "in_progress":
        return path
    if state == "awaiting_info":
        return [*path, ("ask_info", "in_progress", "awaiting_info")]
    path.append(("answer", "in_progress", "answered"))
    if state == "answered":
        return path
    if state == "reopened":
        return [*path, ("reopen", "answered", "reopened")]
    return [*path, ("close", "answered", "closed")]


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


async def _demo_residents(session: AsyncSession, count: int) -> list[uuid.UUID]:
    """Residents who file the demo reports. They cannot sign in (no password)."""
    table = table_of(User)
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"resident{number:02d}@{DEMO_DOMAIN}",
            "display_name": f"{rng_name(number)}",
            "language": "et" if number % 4 else "ru",
            "password_hash": "!",  # matches no password
            "email_verified_at": datetime.now(UTC),
        }
        for number in range(1, count + 1)
    ]
    await session.execute(insert(table).values(rows).on_conflict_do_nothing())
    found = await session.execute(
        select(col(User.id)).where(col(User.email).like(f"resident__@{DEMO_DOMAIN}"))
    )
    return list(found.scalars())


FIRST_NAMES = [
    "Mari",
    "Jaan",
    "Kadri",
    "Toomas",
    "Liis",
    "Andres",
    "Olga",
    "Sergei",
    "Kersti",
    "Mart",
]
LAST_NAMES = ["Tamm", "Saar", "Sepp", "Mägi", "Kask", "Ivanova", "Rebane", "Ilves", "Kukk", "Lepik"]


def rng_name(number: int) -> str:
    return f"{FIRST_NAMES[number % 10]} {LAST_NAMES[(number // 10 + number) % 10]}"

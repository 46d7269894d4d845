"""City-model operations: districts, the city boundary, departments, buildings, routing and
calendars. Services take a session and never commit (one request is one transaction)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from geoalchemy2.shape import from_shape
from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, RoleGrant, User
from service.catalog.models import Category, Reason
from service.city.geo import OVERLAP_TOLERANCE, DistrictFileError, parse_district_collection
from service.city.models import (
    Building,
    Calendar,
    CalendarException,
    CalendarExceptionKind,
    Department,
    DepartmentKind,
    District,
    RoutingRule,
)
from service.city.schemas import (
    BuildingPublic,
    BuildingSummary,
    CalendarCreate,
    CalendarUpdate,
    DepartmentCreate,
    DepartmentUpdate,
    DistrictImportResult,
    DistrictPublic,
    OrganisationRef,
    RoutingBasis,
    RoutingRuleCreate,
)
from service.db import table_of
from service.errors import Conflict, InvalidInput, NotFound
from service.sla.calendar import WorkingCalendar

NEAREST_BUILDING_M = 50.0


class OutsideCity(InvalidInput):
    slug, title = "outside-city", "Location outside the city"


def point_sql(lat: float, lon: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


# --- districts and the city boundary -------------------------------------------------------


async def import_districts(session: AsyncSession, document: Any) -> DistrictImportResult:
    """Create or replace districts by code, all or nothing."""
    try:
        shapes = parse_district_collection(document)
    except DistrictFileError as exc:
        raise InvalidInput(
            "The district file has problems; nothing was imported.",
            errors=[e.model_dump() for e in exc.errors],
        ) from exc
    # Districts kept from earlier imports must not overlap the new ones either.
    codes = [s.code for s in shapes]
    clashes: list[dict[str, Any]] = []
    for index, district in enumerate(shapes):
        new = func.ST_GeomFromWKB(district.geometry.wkb, 4326)
        overlapping = await session.execute(
            select(col(District.code))
            .where(
                col(District.code).not_in(codes),
                func.ST_Intersects(District.geom, new),
                func.ST_Area(func.ST_Intersection(District.geom, new))
                > OVERLAP_TOLERANCE * func.least(func.ST_Area(District.geom), func.ST_Area(new)),
            )
            .order_by(District.code)
        )
        clashes.extend(
            {"index": index, "code": district.code, "problem": f"overlaps district {other}"}
            for other in overlapping.scalars()
        )
    if clashes:
        raise InvalidInput("The district file has problems; nothing was imported.", errors=clashes)
    existing = set(
        (
            await session.execute(
                select(col(District.code)).where(col(District.code).in_([s.code for s in shapes]))
            )
        ).scalars()
    )
    table = table_of(District)
    statement = insert(table).values(
        [
            {
                "id": uuid.uuid4(),
                "code": s.code,
                "name": s.name,
                "is_pilot_area": s.is_pilot_area,
                "geom": from_shape(s.geometry, srid=4326),
            }
            for s in shapes
        ]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.code],
        set_={
            "name": statement.excluded.name,
            "is_pilot_area": statement.excluded.is_pilot_area,
            "geom": statement.excluded.geom,
        },
    )
    await session.execute(statement)
    return DistrictImportResult(
        created=[c for c in codes if c not in existing],
        updated=[c for c in codes if c in existing],
        total=len(codes),
    )


def district_public(district: District) -> DistrictPublic:
    return DistrictPublic.model_validate(district, from_attributes=True)


async def districts_geojson(session: AsyncSession, simplify_m: float = 0) -> dict[str, Any]:
    """All districts as a GeoJSON FeatureCollection (coordinates to 6 decimals, ~0.1 m)."""
    geom = District.geom
    if simplify_m > 0:
        # Degrees per metre at Tartu's latitude is close enough for display simplification.
        geom = func.ST_SimplifyPreserveTopology(District.geom, simplify_m / 111_000)
    rows = await session.execute(
        select(
            col(District.id),
            col(District.code),
            col(District.name),
            col(District.is_pilot_area),
            func.ST_AsGeoJSON(geom, 6).label("geometry"),
        ).order_by(District.code)
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": str(row.id),
                "geometry": json.loads(row.geometry),
                "properties": {
                    "code": row.code,
                    "name": row.name,
                    "is_pilot_area": row.is_pilot_area,
                },
            }
            for row in rows
        ],
    }


async def locate(session: AsyncSession, lat: float, lon: float) -> District | None:
    """The district covering a point (a point on a shared border belongs to the district
    whose code sorts first, so the answer is stable). One GiST-indexed query."""
    result = await session.execute(
        select(District)
        .where(func.ST_Covers(District.geom, point_sql(lat, lon)))
        .order_by(District.code)
        .limit(1)
    )
    return result.scalar_one_or_none()


def outside_city(lat: float, lon: float) -> OutsideCity:
    """The 422 ``outside-city`` problem for a point no district covers. The city boundary
    is the union of its districts."""
    return OutsideCity(
        f"The point ({lat:.6f}, {lon:.6f}) is outside the city's districts.", field="location"
    )


# --- departments -------------------------------------------------------------------------


async def get_department(session: AsyncSession, department_id: uuid.UUID) -> Department:
    department = await session.get(Department, department_id)
    if department is None:
        raise NotFound("No such department.")
    return department


async def list_departments(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[Department]:
    query = select(Department).order_by(Department.code)
    if not include_inactive:
        query = query.where(col(Department.active))
    return list((await session.execute(query)).scalars())


async def department_subtree(session: AsyncSession, root_id: uuid.UUID) -> list[uuid.UUID]:
    """The department and all below it (a supervisor sees the queues of the subtree)."""
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM department WHERE id = :root
                UNION
                SELECT d.id FROM department d JOIN tree t ON d.parent_id = t.id
            )
            SELECT id FROM tree
            """
        ),
        {"root": root_id},
    )
    return [row[0] for row in rows]


async def _check_parent(
    session: AsyncSession, department_id: uuid.UUID | None, parent_id: uuid.UUID | None
) -> None:
    if parent_id is None:
        return
    if await session.get(Department, parent_id) is None:
        raise InvalidInput("The parent department does not exist.", field="parent_id")
    if department_id is not None and parent_id in await department_subtree(session, department_id):
        raise InvalidInput(
            "A department cannot be placed under itself or one of its own sub-departments.",
            field="parent_id",
        )


async def _check_calendar(session: AsyncSession, calendar_id: uuid.UUID | None) -> None:
    if calendar_id is not None and await session.get(Calendar, calendar_id) is None:
        raise InvalidInput("The calendar does not exist.", field="calendar_id")


async def create_department(session: AsyncSession, body: DepartmentCreate) -> Department:
    await _check_parent(session, None, body.parent_id)
    await _check_calendar(session, body.calendar_id)
    if await session.scalar(select(exists().where(col(Department.code) == body.code))):
        raise Conflict(f"A department with code {body.code} exists.", field="code")
    department = Department(**body.model_dump())
    session.add(department)
    await session.flush()
    return department


async def update_department(
    session: AsyncSession, department_id: uuid.UUID, body: DepartmentUpdate
) -> Department:
    department = await get_department(session, department_id)
    changes = body.model_dump(exclude_unset=True)
    if "parent_id" in changes:
        await _check_parent(session, department.id, changes["parent_id"])
    if "calendar_id" in changes:
        await _check_calendar(session, changes["calendar_id"])
    for name, value in changes.items():
        setattr(department, name, value)
    await session.flush()
    return department


async def department_detail(
    session: AsyncSession, department: Department
) -> tuple[list[tuple[uuid.UUID, str]], list[uuid.UUID]]:
    """(supervisors as (user id, display name), child department ids)."""
    supervisors = await session.execute(
        select(col(User.id), col(User.display_name))
        .join(RoleGrant, col(RoleGrant.user_id) == User.id)
        .where(
            col(RoleGrant.role) == Role.supervisor, col(RoleGrant.department_id) == department.id
        )
        .order_by(User.display_name)
    )
    children = await session.execute(
        select(col(Department.id))
        .where(col(Department.parent_id) == department.id)
        .order_by(Department.code)
    )
    return [(row.id, row.display_name) for row in supervisors], list(children.scalars())


# --- buildings ---------------------------------------------------------------------------


def _lat_lon() -> tuple[Any, Any]:
    return func.ST_Y(Building.point).label("lat"), func.ST_X(Building.point).label("lon")


def _summary(row: Any, **extra: Any) -> BuildingSummary:
    return BuildingSummary(
        id=row.Building.id,
        address=row.Building.address,
        lat=row.lat,
        lon=row.lon,
        is_pilot_area=row.Building.is_pilot_area,
        **extra,
    )


async def search_buildings(session: AsyncSession, q: str, limit: int) -> list[BuildingSummary]:
    """Addresses most similar to ``q`` (trigram similarity, so typos and partial numbers
    still find the building); ties broken by address."""
    q = " ".join(q.split())
    lat, lon = _lat_lon()
    similarity = func.word_similarity(q, Building.address).label("similarity")
    rows = await session.execute(
        select(Building, lat, lon, similarity)
        .where(
            text("(:q <% building.address OR building.address ILIKE :prefix)").bindparams(
                q=q, prefix=q.replace("%", r"\%").replace("_", r"\_") + "%"
            )
        )
        .order_by(similarity.desc(), Building.address)
        .limit(limit)
    )
    return [_summary(row, similarity=round(row.similarity, 3)) for row in rows]


async def nearest_buildings(
    session: AsyncSession, lat: float, lon: float, max_m: float, limit: int
) -> list[BuildingSummary]:
    """Buildings within ``max_m`` metres, nearest first (KNN on the geography index)."""
    here = func.Geography(point_sql(lat, lon))
    geography = func.Geography(Building.point)
    distance = func.ST_Distance(geography, here).label("distance")
    b_lat, b_lon = _lat_lon()
    rows = await session.execute(
        select(Building, b_lat, b_lon, distance)
        .where(func.ST_DWithin(geography, here, max_m))
        .order_by(geography.op("<->")(here))
        .limit(limit)
    )
    return [_summary(row, distance_m=round(row.distance, 1)) for row in rows]


async def building_public(session: AsyncSession, building_id: uuid.UUID) -> BuildingPublic:
    lat, lon = _lat_lon()
    row = (
        await session.execute(
            select(
                Building,
                lat,
                lon,
                func.ST_AsGeoJSON(Building.footprint, 6).label("footprint"),
            ).where(col(Building.id) == building_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("No such building.")
    district = await locate(session, row.lat, row.lon)
    organisations: list[OrganisationRef] = []
    if row.Building.managing_org_id:
        org = await session.get(Department, row.Building.managing_org_id)
        if org is not None:
            organisations.append(_org_ref(org, "manages the building"))
    dispatcher = await dispatcher_department(session)
    if dispatcher is not None:
        organisations.append(_org_ref(dispatcher, "takes every report no one else owns"))
    building = row.Building
    return BuildingPublic(
        id=building.id,
        address=building.address,
        lat=row.lat,
        lon=row.lon,
        is_pilot_area=building.is_pilot_area,
        year_built=building.year_built,
        floors=building.floors,
        apartments=building.apartments,
        heating=building.heating,
        district=district_public(district) if district else None,
        passport=building.passport,
        organisations=organisations,
        footprint=json.loads(row.footprint) if row.footprint else None,
    )


def _org_ref(department: Department, serves: str) -> OrganisationRef:
    return OrganisationRef(
        id=department.id,
        code=department.code,
        name=department.name,
        kind=department.kind,
        email=department.email,
        serves=serves,
    )


async def get_building_point(session: AsyncSession, building_id: uuid.UUID) -> tuple[float, float]:
    """(lat, lon) of a building, or 422 when it does not exist (for filing by building)."""
    row = (
        await session.execute(
            select(func.ST_Y(Building.point), func.ST_X(Building.point)).where(
                col(Building.id) == building_id
            )
        )
    ).one_or_none()
    if row is None:
        raise InvalidInput("No such building.", field="building_id")
    return float(row[0]), float(row[1])


# --- routing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingDecision:
    department_id: uuid.UUID
    basis: RoutingBasis
    rule_id: uuid.UUID | None
    district_id: uuid.UUID | None
    building_id: uuid.UUID | None
    building_distance_m: float | None


# The point, spelled out at each use: a CTE would hide it from the index conditions.
_HERE = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
ROUTING_SQL = text(
    """
    WITH r AS (
        SELECT id, category_id, building_bound FROM reason WHERE id = :reason_id
    ),
    d AS (
        SELECT district.id FROM district
        WHERE ST_Covers(district.geom, {here})
        ORDER BY district.code LIMIT 1
    ),
    b AS (
        (
            SELECT building.id, building.managing_org_id,
                   ST_Distance(building.point::geography, {here}::geography) AS distance_m
            FROM building WHERE building.id = CAST(:building_id AS uuid)
        )
        UNION ALL
        (
            SELECT building.id, building.managing_org_id,
                   ST_Distance(building.point::geography, {here}::geography) AS distance_m
            FROM building
            WHERE CAST(:building_id AS uuid) IS NULL
              AND ST_DWithin(building.point::geography, {here}::geography, :max_m)
            ORDER BY building.point::geography <-> {here}::geography
            LIMIT 1
        )
    ),
    org AS (
        SELECT department.id FROM department, b, r
        WHERE r.building_bound AND department.id = b.managing_org_id AND department.active
    ),
    rule AS (
        SELECT rr.id, rr.department_id,
               CASE WHEN rr.reason_id IS NOT NULL THEN 'reason' ELSE 'category' END
               || CASE WHEN rr.district_id IS NOT NULL THEN '_district' ELSE '_any_district' END
               AS basis
        FROM routing_rule rr
        JOIN r ON rr.reason_id = r.id OR rr.category_id = r.category_id
        JOIN department dep ON dep.id = rr.department_id AND dep.active
        WHERE rr.district_id IS NULL OR rr.district_id = (SELECT id FROM d)
        ORDER BY (rr.reason_id IS NOT NULL) DESC, (rr.district_id IS NOT NULL) DESC
        LIMIT 1
    ),
    dispatcher AS (
        SELECT id FROM department WHERE kind = 'dispatcher' AND active ORDER BY code LIMIT 1
    )
    SELECT
        (SELECT id FROM d) AS district_id,
        (SELECT id FROM b) AS building_id,
        (SELECT distance_m FROM b) AS building_distance_m,
        (SELECT id FROM org) AS org_id,
        (SELECT id FROM rule) AS rule_id,
        (SELECT department_id FROM rule) AS rule_department_id,
        (SELECT basis FROM rule) AS rule_basis,
        (SELECT id FROM dispatcher) AS dispatcher_id,
        EXISTS (SELECT 1 FROM r) AS reason_exists
    """.replace("{here}", _HERE)
)


async def route(
    session: AsyncSession,
    reason_id: uuid.UUID,
    lat: float,
    lon: float,
    building_id: uuid.UUID | None = None,
    *,
    inside_city: bool = False,
) -> RoutingDecision:
    """Who owns a report of ``reason_id`` at a point, in one query; with ``inside_city``,
    a point outside every district is refused (422 ``outside-city``).

    Order: a building-bound reason goes to the managing organisation of the building (the
    given one, or the nearest within 50 m); then the most specific routing rule (a reason
    rule before a category rule, a rule for the point's district before an any-district
    rule); then the city dispatcher. Inactive departments are skipped."""
    row = (
        await session.execute(
            ROUTING_SQL,
            {
                "lat": lat,
                "lon": lon,
                "reason_id": reason_id,
                "building_id": building_id,
                "max_m": NEAREST_BUILDING_M,
            },
        )
    ).one()
    if not row.reason_exists:
        raise InvalidInput("No such reason.", field="reason_id")
    if inside_city and row.district_id is None:
        raise outside_city(lat, lon)
    common = {
        "district_id": row.district_id,
        "building_id": row.building_id,
        "building_distance_m": (
            round(row.building_distance_m, 1) if row.building_distance_m is not None else None
        ),
    }
    if row.org_id is not None:
        return RoutingDecision(
            department_id=row.org_id, basis="building_managing_org", rule_id=None, **common
        )
    if row.rule_id is not None:
        return RoutingDecision(
            department_id=row.rule_department_id,
            basis=row.rule_basis,
            rule_id=row.rule_id,
            **common,
        )
    if row.dispatcher_id is None:
        raise Conflict("The city has no active dispatcher department to take the report.")
    return RoutingDecision(
        department_id=row.dispatcher_id, basis="dispatcher", rule_id=None, **common
    )


EXPLANATIONS: dict[str, str] = {
    "building_managing_org": "The reason concerns a building; its managing organisation owns it.",
    "reason_district": "A rule for this reason in this district.",
    "reason_any_district": "A rule for this reason in any district.",
    "category_district": "A rule for the reason's category in this district.",
    "category_any_district": "A rule for the reason's category in any district.",
    "dispatcher": "No rule matched; the city dispatcher takes it.",
}


async def dispatcher_department(session: AsyncSession) -> Department | None:
    result = await session.execute(
        select(Department)
        .where(col(Department.kind) == DepartmentKind.dispatcher, col(Department.active))
        .order_by(Department.code)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def list_routing_rules(session: AsyncSession) -> list[RoutingRule]:
    rows = await session.execute(select(RoutingRule).order_by(col(RoutingRule.created_at)))
    return list(rows.scalars())


async def create_routing_rule(session: AsyncSession, body: RoutingRuleCreate) -> RoutingRule:
    checks: list[tuple[Any, uuid.UUID | None, str]] = [
        (Reason, body.reason_id, "reason_id"),
        (Category, body.category_id, "category_id"),
        (District, body.district_id, "district_id"),
        (Department, body.department_id, "department_id"),
    ]
    for model, value, field in checks:
        if value is not None and await session.get(model, value) is None:
            raise InvalidInput(f"No such {field.removesuffix('_id')}.", field=field)
    rule = RoutingRule(**body.model_dump())
    session.add(rule)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("A rule for this reason or category and district exists.") from exc
    return rule


async def delete_routing_rule(session: AsyncSession, rule_id: uuid.UUID) -> None:
    result = await session.execute(delete(RoutingRule).where(col(RoutingRule.id) == rule_id))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("No such routing rule.")


# --- calendars ---------------------------------------------------------------------------


async def city_calendar(session: AsyncSession) -> Calendar:
    """The city's default calendar, created with the defaults on first use."""
    found = (
        await session.execute(select(Calendar).where(col(Calendar.is_city_default)))
    ).scalar_one_or_none()
    if found is not None:
        return found
    await session.execute(
        insert(table_of(Calendar))
        .values(id=uuid.uuid4(), name="City", is_city_default=True)
        .on_conflict_do_nothing()
    )
    return (
        await session.execute(select(Calendar).where(col(Calendar.is_city_default)))
    ).scalar_one()


async def list_calendars(session: AsyncSession) -> list[Calendar]:
    rows = await session.execute(
        select(Calendar).order_by(col(Calendar.is_city_default).desc(), Calendar.name)
    )
    return list(rows.scalars())


async def get_calendar(session: AsyncSession, calendar_id: uuid.UUID) -> Calendar:
    calendar = await session.get(Calendar, calendar_id)
    if calendar is None:
        raise NotFound("No such calendar.")
    return calendar


async def calendar_exceptions(
    session: AsyncSession, calendar_id: uuid.UUID
) -> list[CalendarException]:
    rows = await session.execute(
        select(CalendarException)
        .where(col(CalendarException.calendar_id) == calendar_id)
        .order_by(col(CalendarException.day))
    )
    return list(rows.scalars())


def working_calendar(calendar: Calendar, exceptions: list[CalendarException]) -> WorkingCalendar:
    return WorkingCalendar(
        timezone=calendar.timezone,
        work_start=calendar.work_start,
        work_end=calendar.work_end,
        country=calendar.country,
        extra_holidays=frozenset(
            e.day for e in exceptions if e.kind == CalendarExceptionKind.holiday
        ),
        extra_working_days=frozenset(
            e.day for e in exceptions if e.kind == CalendarExceptionKind.working_day
        ),
    )


async def load_working_calendar(
    session: AsyncSession, department_id: uuid.UUID | None = None
) -> WorkingCalendar:
    """The calendar a department works by: its own, or the city's."""
    calendar: Calendar | None = None
    if department_id is not None:
        department = await session.get(Department, department_id)
        if department is not None and department.calendar_id is not None:
            calendar = await session.get(Calendar, department.calendar_id)
    if calendar is None:
        calendar = await city_calendar(session)
    return working_calendar(calendar, await calendar_exceptions(session, calendar.id))


def _check_hours(timezone: str, start: Any, end: Any) -> None:
    try:
        WorkingCalendar(timezone=timezone, work_start=start, work_end=end)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"Invalid calendar: {exc}", field="timezone") from exc


async def create_calendar(session: AsyncSession, body: CalendarCreate) -> Calendar:
    _check_hours(body.timezone, body.work_start, body.work_end)
    calendar = Calendar(**body.model_dump())
    session.add(calendar)
    await session.flush()
    return calendar


async def update_calendar(
    session: AsyncSession, calendar: Calendar, body: CalendarUpdate
) -> Calendar:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    merged: dict[str, Any] = {
        "timezone": calendar.timezone,
        "work_start": calendar.work_start,
        "work_end": calendar.work_end,
    } | changes
    _check_hours(merged["timezone"], merged["work_start"], merged["work_end"])
    for name, value in changes.items():
        setattr(calendar, name, value)
    await session.flush()
    return calendar


async def put_calendar_exception(
    session: AsyncSession,
    calendar: Calendar,
    day: date,
    kind: CalendarExceptionKind,
    note: str,
) -> CalendarException:
    table = table_of(CalendarException)
    statement = insert(table).values(
        id=uuid.uuid4(), calendar_id=calendar.id, day=day, kind=kind, note=note
    )
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_calendar_exception_day",
            set_={"kind": statement.excluded.kind, "note": statement.excluded.note},
        )
    )
    found = await session.execute(
        select(CalendarException).where(
            col(CalendarException.calendar_id) == calendar.id, col(CalendarException.day) == day
        )
    )
    exception = found.scalar_one()
    await session.refresh(exception)
    return exception


async def delete_calendar_exception(session: AsyncSession, calendar: Calendar, day: date) -> None:
    result = await session.execute(
        delete(CalendarException).where(
            col(CalendarException.calendar_id) == calendar.id, col(CalendarException.day) == day
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No exception on {day.isoformat()}.")

"""City-model endpoints: districts, departments, buildings, routing and calendars."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, status
from fastapi.responses import JSONResponse

from service.auth.actor import Actor
from service.auth.dependencies import AdminActor, require_roles
from service.auth.models import Role
from service.catalog.service import get_reason
from service.city import service
from service.city.models import Calendar, CalendarException, Department, District
from service.city.schemas import (
    BuildingList,
    BuildingPublic,
    CalendarCreate,
    CalendarDay,
    CalendarExceptionPublic,
    CalendarExceptionPut,
    CalendarPublic,
    CalendarUpdate,
    CalendarYear,
    DepartmentCreate,
    DepartmentDetail,
    DepartmentPublic,
    DepartmentUpdate,
    DistrictImportResult,
    DistrictPublic,
    Holiday,
    Latitude,
    Longitude,
    RoutingPreview,
    RoutingRuleCreate,
    RoutingRulePublic,
    Supervisor,
)
from service.db import SessionDep, utcnow
from service.errors import ERRORS, PROBLEM, NotFound
from service.fields import PlainText

GEOJSON = "application/geo+json"

router = APIRouter()
public = APIRouter(prefix="/v1", tags=["city"])
admin = APIRouter(prefix="/v1/admin", tags=["city admin"])


def department_public(department: Department) -> DepartmentPublic:
    return DepartmentPublic.model_validate(department, from_attributes=True)


def routing_rule_public(rule: Any) -> RoutingRulePublic:
    return RoutingRulePublic.model_validate(rule, from_attributes=True)


# --- districts ---------------------------------------------------------------------------


@public.get(
    "/districts",
    summary="The city's districts as a GeoJSON FeatureCollection",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def list_districts(
    session: SessionDep,
    simplify_m: Annotated[
        float, Query(ge=0, le=500, description="Simplify outlines to this many metres")
    ] = 0,
) -> JSONResponse:
    collection = await service.districts_geojson(session, simplify_m)
    return JSONResponse(collection, media_type=GEOJSON)


@public.get(
    "/districts/locate",
    summary="The district a point lies in",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def locate_district(lat: Latitude, lon: Longitude, session: SessionDep) -> DistrictPublic:
    district = await service.locate(session, lat, lon)
    if district is None:
        raise NotFound("The point is outside the city.", reason="outside_city")
    return service.district_public(district)


@admin.post(
    "/districts/import",
    summary="Create or replace districts from a GeoJSON FeatureCollection, all or nothing",
    responses=ERRORS,
)
async def import_districts(
    actor: AdminActor,
    session: SessionDep,
    document: Annotated[
        dict[str, Any],
        Body(
            description=(
                "A FeatureCollection of Polygon/MultiPolygon features in WGS84 with "
                "properties `code`, `name` and optionally `is_pilot_area`."
            )
        ),
    ],
) -> DistrictImportResult:
    return await service.import_districts(session, document)


# --- departments -------------------------------------------------------------------------


@public.get("/departments", summary="Active departments and organisations")
async def list_departments(session: SessionDep) -> list[DepartmentPublic]:
    return [department_public(d) for d in await service.list_departments(session)]


async def _detail(session: Any, department: Department) -> DepartmentDetail:
    supervisors, children = await service.department_detail(session, department)
    return DepartmentDetail(
        **department_public(department).model_dump(),
        calendar_id=department.calendar_id,
        supervisors=[Supervisor(user_id=u, display_name=n) for u, n in supervisors],
        children=children,
    )


@admin.get("/departments", summary="All departments, inactive ones too", responses=ERRORS)
async def admin_list_departments(actor: AdminActor, session: SessionDep) -> list[DepartmentPublic]:
    departments = await service.list_departments(session, include_inactive=True)
    return [department_public(d) for d in departments]


@admin.get(
    "/departments/{department_id}",
    summary="A department with its supervisors and sub-departments",
    responses=ERRORS,
)
async def admin_get_department(
    department_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> DepartmentDetail:
    return await _detail(session, await service.get_department(session, department_id))


@admin.post(
    "/departments",
    status_code=status.HTTP_201_CREATED,
    summary="Add a department, managing organisation or dispatcher",
    responses=ERRORS,
)
async def create_department(
    body: DepartmentCreate, actor: AdminActor, session: SessionDep
) -> DepartmentDetail:
    return await _detail(session, await service.create_department(session, body))


@admin.patch(
    "/departments/{department_id}",
    summary="Change a department (deactivate instead of deleting)",
    responses=ERRORS,
)
async def update_department(
    department_id: uuid.UUID, body: DepartmentUpdate, actor: AdminActor, session: SessionDep
) -> DepartmentDetail:
    department = await service.update_department(session, department_id, body)
    return await _detail(session, department)


# --- buildings ---------------------------------------------------------------------------


@public.get("/buildings", summary="Search buildings by address", responses={422: PROBLEM})
async def search_buildings(
    session: SessionDep,
    q: Annotated[
        str, Query(min_length=2, max_length=120, description="Address or part of it"), PlainText
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> BuildingList:
    return BuildingList(items=await service.search_buildings(session, q, limit))


@public.get("/buildings/nearest", summary="Buildings nearest to a point", responses={422: PROBLEM})
async def nearest_buildings(
    session: SessionDep,
    lat: Latitude,
    lon: Longitude,
    max_m: Annotated[float, Query(gt=0, le=2000, description="Search radius in metres")] = 100,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> BuildingList:
    return BuildingList(items=await service.nearest_buildings(session, lat, lon, max_m, limit))


@public.get(
    "/buildings/{building_id}",
    summary="A building's public passport and the organisations serving it",
    responses={404: PROBLEM},
)
async def get_building(building_id: uuid.UUID, session: SessionDep) -> BuildingPublic:
    return await service.building_public(session, building_id)


# --- routing -----------------------------------------------------------------------------

RoutingActor = Annotated[Actor, Depends(require_roles(Role.admin, Role.coordinator))]


@public.get(
    "/routing/preview",
    tags=["city admin"],
    summary="Which department a report would go to, and why",
    responses=ERRORS,
)
async def routing_preview(
    actor: RoutingActor,
    session: SessionDep,
    reason: Annotated[uuid.UUID, Query(description="Reason id")],
    lat: Latitude,
    lon: Longitude,
    building_id: uuid.UUID | None = None,
) -> RoutingPreview:
    reason_row = await get_reason(session, reason)
    decision = await service.route(session, reason, lat, lon, building_id)
    department = await service.get_department(session, decision.department_id)
    district = await session.get(District, decision.district_id) if decision.district_id else None
    building = None
    if decision.building_id is not None:
        full = await service.building_public(session, decision.building_id)
        building = full.model_copy(update={"distance_m": decision.building_distance_m})
    return RoutingPreview(
        reason_id=reason_row.id,
        reason_code=reason_row.code,
        district=service.district_public(district) if district else None,
        building=building,
        department=department_public(department),
        basis=decision.basis,
        rule_id=decision.rule_id,
        explanation=service.EXPLANATIONS[decision.basis],
    )


@admin.get("/routing-rules", summary="All routing rules", responses=ERRORS)
async def list_routing_rules(actor: AdminActor, session: SessionDep) -> list[RoutingRulePublic]:
    return [routing_rule_public(r) for r in await service.list_routing_rules(session)]


@admin.post(
    "/routing-rules",
    status_code=status.HTTP_201_CREATED,
    summary="Add a routing rule",
    responses=ERRORS,
)
async def create_routing_rule(
    body: RoutingRuleCreate, actor: AdminActor, session: SessionDep
) -> RoutingRulePublic:
    return routing_rule_public(await service.create_routing_rule(session, body))


@admin.delete(
    "/routing-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a routing rule",
    responses=ERRORS,
)
async def delete_routing_rule(rule_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> None:
    await service.delete_routing_rule(session, rule_id)


# --- calendars ---------------------------------------------------------------------------


async def _calendar_public(
    session: Any, calendar: Calendar, exceptions: list[CalendarException] | None = None
) -> CalendarPublic:
    if exceptions is None:
        exceptions = await service.calendar_exceptions(session, calendar.id)
    return CalendarPublic(
        id=calendar.id,
        name=calendar.name,
        timezone=calendar.timezone,
        work_start=calendar.work_start,
        work_end=calendar.work_end,
        is_city_default=calendar.is_city_default,
        exceptions=[
            CalendarExceptionPublic(day=e.day, kind=e.kind, note=e.note) for e in exceptions
        ],
    )


@public.get(
    "/calendar",
    summary="Working hours and non-working days of a year (the city's or a department's)",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def get_calendar(
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    department_id: uuid.UUID | None = None,
) -> CalendarYear:
    calendar = await service.city_calendar(session)
    if department_id is not None:
        department = await service.get_department(session, department_id)
        if department.calendar_id is not None:
            calendar = await service.get_calendar(session, department.calendar_id)
    year = year or utcnow().year
    exceptions = await service.calendar_exceptions(session, calendar.id)
    base = await _calendar_public(session, calendar, exceptions)
    working = service.working_calendar(calendar, exceptions)
    holidays = working.holidays_between(date(year, 1, 1), date(year, 12, 31))
    return CalendarYear(
        **base.model_dump(),
        year=year,
        holidays=[Holiday(day=d, name=n) for d, n in holidays],
    )


async def _resolve(session: Any, calendar_id: uuid.UUID | None) -> Calendar:
    if calendar_id is None:
        return await service.city_calendar(session)
    return await service.get_calendar(session, calendar_id)


@admin.get("/calendars", summary="All calendars", responses=ERRORS)
async def list_calendars(actor: AdminActor, session: SessionDep) -> list[CalendarPublic]:
    await service.city_calendar(session)
    return [await _calendar_public(session, c) for c in await service.list_calendars(session)]


@admin.post(
    "/calendars",
    status_code=status.HTTP_201_CREATED,
    summary="Add a calendar for departments that keep other hours",
    responses=ERRORS,
)
async def create_calendar(
    body: CalendarCreate, actor: AdminActor, session: SessionDep
) -> CalendarPublic:
    return await _calendar_public(session, await service.create_calendar(session, body))


@admin.get("/calendar", summary="The city's calendar", responses=ERRORS)
@admin.get("/calendars/{calendar_id}", summary="A calendar", responses=ERRORS)
async def admin_get_calendar(
    actor: AdminActor, session: SessionDep, calendar_id: uuid.UUID | None = None
) -> CalendarPublic:
    return await _calendar_public(session, await _resolve(session, calendar_id))


@admin.patch("/calendar", summary="Change the city's working hours", responses=ERRORS)
@admin.patch(
    "/calendars/{calendar_id}", summary="Change a calendar's working hours", responses=ERRORS
)
async def update_calendar(
    body: CalendarUpdate,
    actor: AdminActor,
    session: SessionDep,
    calendar_id: uuid.UUID | None = None,
) -> CalendarPublic:
    calendar = await service.update_calendar(session, await _resolve(session, calendar_id), body)
    return await _calendar_public(session, calendar)


@admin.put(
    "/calendar/exceptions/{day}",
    summary="Declare an extra holiday or working day in the city's calendar",
    responses=ERRORS,
)
@admin.put(
    "/calendars/{calendar_id}/exceptions/{day}",
    summary="Declare an extra holiday or working day",
    responses=ERRORS,
)
async def put_calendar_exception(
    day: CalendarDay,
    body: CalendarExceptionPut,
    actor: AdminActor,
    session: SessionDep,
    calendar_id: uuid.UUID | None = None,
) -> CalendarExceptionPublic:
    calendar = await _resolve(session, calendar_id)
    exception = await service.put_calendar_exception(session, calendar, day, body.kind, body.note)
    return CalendarExceptionPublic(day=exception.day, kind=exception.kind, note=exception.note)


@admin.delete(
    "/calendar/exceptions/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an exception from the city's calendar",
    responses=ERRORS,
)
@admin.delete(
    "/calendars/{calendar_id}/exceptions/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an exception",
    responses=ERRORS,
)
async def delete_calendar_exception(
    day: CalendarDay,
    actor: AdminActor,
    session: SessionDep,
    calendar_id: uuid.UUID | None = None,
) -> None:
    await service.delete_calendar_exception(session, await _resolve(session, calendar_id), day)


router.include_router(public)
router.include_router(admin)

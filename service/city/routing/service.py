"""Routing: which department owns a report, and why; and the routing rules.

There is one routing implementation, the statement in :mod:`.repository`; :func:`route`
routes one report (filing, acceptance, the preview) and :func:`route_many` routes a whole set
in the same statement (the demo seed). Services never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.catalog.models import Category, Reason
from service.city.districts.service import outside_city
from service.city.models import Department, District, RoutingRule
from service.city.routing import repository
from service.city.schemas import RoutingBasis, RoutingRuleCreate
from service.errors import Conflict, InvalidInput, NotFound

NEAREST_BUILDING_M = 50.0

EXPLANATIONS: dict[str, str] = {
    "building_managing_org": "The reason concerns a building; its managing organisation owns it.",
    "reason_district": "A rule for this reason in this district.",
    "reason_any_district": "A rule for this reason in any district.",
    "category_district": "A rule for the reason's category in this district.",
    "category_any_district": "A rule for the reason's category in any district.",
    "dispatcher": "No rule matched; the city dispatcher takes it.",
}


@dataclass(frozen=True)
class RoutingRequest:
    reason_id: uuid.UUID
    lat: float
    lon: float
    building_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RoutingDecision:
    department_id: uuid.UUID
    basis: RoutingBasis
    rule_id: uuid.UUID | None
    district_id: uuid.UUID | None
    building_id: uuid.UUID | None
    building_distance_m: float | None


async def route_many(
    session: AsyncSession, requests: Sequence[RoutingRequest]
) -> list[RoutingDecision]:
    """Who owns each report, in one statement for the whole set; decisions in the order of
    ``requests``. A point outside every district gets ``district_id`` None.

    Order: a building-bound reason goes to the managing organisation of the building (the
    given one, or the nearest within 50 m); then the most specific routing rule (a reason
    rule before a category rule, a rule for the point's district before an any-district
    rule); then the city dispatcher. Inactive departments are skipped."""
    if not requests:
        return []
    rows = await repository.route_rows(
        session,
        [(r.reason_id, r.lat, r.lon, r.building_id) for r in requests],
        NEAREST_BUILDING_M,
    )
    return [_decision(row) for row in rows]


async def route(
    session: AsyncSession,
    reason_id: uuid.UUID,
    lat: float,
    lon: float,
    building_id: uuid.UUID | None = None,
    *,
    inside_city: bool = False,
) -> RoutingDecision:
    """Who owns a report of ``reason_id`` at a point (see :func:`route_many`); with
    ``inside_city``, a point outside every district is refused (422 ``outside-city``)."""
    (decision,) = await route_many(session, [RoutingRequest(reason_id, lat, lon, building_id)])
    if inside_city and decision.district_id is None:
        raise outside_city(lat, lon)
    return decision


def _decision(row: Any) -> RoutingDecision:
    if not row.reason_exists:
        raise InvalidInput("No such reason.", field="reason_id")
    common: dict[str, Any] = {
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


async def dispatcher_department(session: AsyncSession) -> Department | None:
    """The department routing falls back to."""
    return await repository.dispatcher(session)


async def list_routing_rules(session: AsyncSession) -> list[RoutingRule]:
    return await repository.rules(session)


async def create_routing_rule(session: AsyncSession, body: RoutingRuleCreate) -> RoutingRule:
    checks: list[tuple[Any, uuid.UUID | None, str]] = [
        (Reason, body.reason_id, "reason_id"),
        (Category, body.category_id, "category_id"),
        (District, body.district_id, "district_id"),
        (Department, body.department_id, "department_id"),
    ]
    for model, value, field in checks:
        if value is not None and not await repository.exists(session, model, value):
            raise InvalidInput(f"No such {field.removesuffix('_id')}.", field=field)
    rule = RoutingRule(**body.model_dump())
    if not await repository.add_rule(session, rule):
        raise Conflict("A rule for this reason or category and district exists.")
    return rule


async def delete_routing_rule(session: AsyncSession, rule_id: uuid.UUID) -> None:
    if not await repository.delete_rule(session, rule_id):
        raise NotFound("No such routing rule.")

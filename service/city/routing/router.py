"""Routing endpoints: the preview (where would a report go, and why) and the rules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from service.auth.actor import Actor
from service.auth.dependencies import AdminActor, require_roles
from service.auth.models import Role
from service.auth.policy import PUBLIC
from service.catalog.service import get_reason
from service.city.buildings.service import building_public
from service.city.departments.service import department_public, get_department
from service.city.districts.service import district_public, get_district
from service.city.routing import service
from service.city.schemas import (
    Latitude,
    Longitude,
    RoutingPreview,
    RoutingRuleCreate,
    RoutingRulePublic,
)
from service.db import SessionDep
from service.errors import ERRORS

public = APIRouter(prefix="/v1", tags=["city"], dependencies=[PUBLIC])
admin = APIRouter(prefix="/v1/admin", tags=["city admin"])

RoutingActor = Annotated[Actor, Depends(require_roles(Role.admin, Role.coordinator))]


def routing_rule_public(rule: Any) -> RoutingRulePublic:
    return RoutingRulePublic.model_validate(rule, from_attributes=True)


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
    department = await get_department(session, decision.department_id)
    district = await get_district(session, decision.district_id) if decision.district_id else None
    building = None
    if decision.building_id is not None:
        full = await building_public(session, decision.building_id)
        building = full.model_copy(update={"distance_m": decision.building_distance_m})
    return RoutingPreview(
        reason_id=reason_row.id,
        reason_code=reason_row.code,
        district=district_public(district) if district else None,
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

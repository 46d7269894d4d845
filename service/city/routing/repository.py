"""Routing SQL: the one statement that routes reports (one or thousands at a time) and the
routing rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Uuid, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.city.districts.repository import DISTRICT_AT
from service.city.models import Department, RoutingRule

# The department that takes every report no one else owns.
DISPATCHER = """
    SELECT department.id FROM department
    WHERE department.kind = 'dispatcher' AND department.active
    ORDER BY department.code LIMIT 1
"""

# Routes a set of requests (reason, point, optional building) given as parallel arrays, one
# output row per request in input order. Each lookup is a LATERAL subquery on the request's
# point, so the district and the nearest building come from the GiST indexes for one request
# or for thousands. The order of precedence is in ``service.route_many``; this statement
# finds each candidate: the building's managing organisation (for building-bound reasons),
# the most specific rule with an active department, and the dispatcher.
ROUTING_SQL = text(
    """
    WITH request AS (
        SELECT r.n, r.reason_id, r.building_id, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) AS here
        FROM unnest(
            CAST(:reason_ids AS uuid[]), CAST(:lats AS float8[]), CAST(:lons AS float8[]),
            CAST(:building_ids AS uuid[])
        ) WITH ORDINALITY AS r(reason_id, lat, lon, building_id, n)
    )
    SELECT
        request.n,
        reason.id IS NOT NULL AS reason_exists,
        d.id AS district_id,
        b.id AS building_id,
        b.distance_m AS building_distance_m,
        org.id AS org_id,
        rule.id AS rule_id,
        rule.department_id AS rule_department_id,
        rule.basis AS rule_basis,
        ({dispatcher}) AS dispatcher_id
    FROM request
    LEFT JOIN reason ON reason.id = request.reason_id
    LEFT JOIN LATERAL ({district_at}) d ON true
    LEFT JOIN LATERAL (
        -- The building given, or else the nearest within :max_m metres.
        SELECT building.id, building.managing_org_id,
               ST_Distance(building.point::geography, request.here::geography) AS distance_m
        FROM building WHERE building.id = request.building_id
        UNION ALL
        (
            SELECT building.id, building.managing_org_id,
                   ST_Distance(building.point::geography, request.here::geography)
            FROM building
            WHERE request.building_id IS NULL
              AND ST_DWithin(building.point::geography, request.here::geography, :max_m)
            ORDER BY building.point::geography <-> request.here::geography
            LIMIT 1
        )
    ) b ON true
    LEFT JOIN department org
        ON reason.building_bound AND org.id = b.managing_org_id AND org.active
    LEFT JOIN LATERAL (
        SELECT rr.id, rr.department_id,
               CASE WHEN rr.reason_id IS NOT NULL THEN 'reason' ELSE 'category' END
               || CASE WHEN rr.district_id IS NOT NULL THEN '_district' ELSE '_any_district' END
               AS basis
        FROM routing_rule rr
        JOIN department dep ON dep.id = rr.department_id AND dep.active
        WHERE (rr.reason_id = reason.id OR rr.category_id = reason.category_id)
          AND (rr.district_id IS NULL OR rr.district_id = d.id)
        ORDER BY (rr.reason_id IS NOT NULL) DESC, (rr.district_id IS NOT NULL) DESC
        LIMIT 1
    ) rule ON true
    ORDER BY request.n
    """.format(  # noqa: S608 - composed of the constants above, nothing from input
        dispatcher=DISPATCHER, district_at=DISTRICT_AT.format(point="request.here")
    )
)


async def route_rows(
    session: AsyncSession,
    requests: Sequence[tuple[uuid.UUID, float, float, uuid.UUID | None]],
    max_m: float,
) -> Sequence[Row[Any]]:
    """One row per (reason id, lat, lon, building id or None), in order."""
    rows = await session.execute(
        ROUTING_SQL,
        {
            "reason_ids": [r[0] for r in requests],
            "lats": [r[1] for r in requests],
            "lons": [r[2] for r in requests],
            "building_ids": [r[3] for r in requests],
            "max_m": max_m,
        },
    )
    return rows.all()


async def dispatcher(session: AsyncSession) -> Department | None:
    dispatcher_id = text(DISPATCHER).columns(id=Uuid).scalar_subquery()
    result = await session.execute(select(Department).where(col(Department.id) == dispatcher_id))
    return result.scalar_one_or_none()


async def exists(session: AsyncSession, model: Any, row_id: uuid.UUID) -> bool:
    """Whether a row a rule refers to (reason, category, district, department) exists."""
    return await session.get(model, row_id) is not None


async def rules(session: AsyncSession) -> list[RoutingRule]:
    rows = await session.execute(select(RoutingRule).order_by(col(RoutingRule.created_at)))
    return list(rows.scalars())


async def add_rule(session: AsyncSession, rule: RoutingRule) -> bool:
    """Whether the rule was added (False: one for the same target exists)."""
    session.add(rule)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        return False
    return True


async def delete_rule(session: AsyncSession, rule_id: uuid.UUID) -> bool:
    result = await session.execute(delete(RoutingRule).where(col(RoutingRule.id) == rule_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]

"""Routing precedence and fallback, and the catalogue API with its attribute validation."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.catalog.attributes import validate_attribute_values
from service.catalog.models import Category, ObjectType, Reason
from service.city.models import Building, Department, District, RoutingRule
from service.config import Settings
from service.errors import InvalidInput
from tests.factories import bearer, make_department, make_user

KESKLINN = (58.3795, 26.7230)  # lat, lon
ANNELINN = (58.3730, 26.7700)


async def _reason(session: AsyncSession, *, building_bound: bool = False) -> Reason:
    suffix = uuid.uuid4().hex[:6]
    object_type = ObjectType(code=f"t-type-{suffix}", names={"et": "Tüüp"})
    session.add(object_type)
    await session.flush()
    category = Category(code=f"t-cat-{suffix}", object_type_id=object_type.id, names={"et": "K"})
    session.add(category)
    await session.flush()
    reason = Reason(
        code=f"t-reason-{suffix}",
        category_id=category.id,
        names={"et": "Põhjus"},
        sla_amount=5,
        service_code=f"t-{suffix}",
        building_bound=building_bound,
    )
    session.add(reason)
    await session.flush()
    return reason


async def _district_id(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(select(District.id).where(District.code == code))
    assert isinstance(found, uuid.UUID)
    return found


async def _preview(
    client: AsyncClient, headers: dict[str, str], reason: Reason, point: tuple[float, float]
) -> dict[str, Any]:
    response = await client.get(
        "/v1/routing/preview",
        params={"reason": str(reason.id), "lat": point[0], "lon": point[1]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_most_specific_rule_wins_then_the_dispatcher(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    headers = bearer(settings, admin)
    reason = await _reason(session)
    kesklinn = await _district_id(session, "kesklinn")
    departments = {name: await make_department(session) for name in "ABCD"}

    assert (await _preview(client, headers, reason, KESKLINN))["basis"] == "dispatcher"

    async def rule(name: str, **target: Any) -> str:
        response = await client.post(
            "/v1/admin/routing-rules",
            json={"department_id": str(departments[name].id), **target},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        rule_id: str = response.json()["id"]
        return rule_id

    rules = {
        "A": await rule("A", category_id=str(reason.category_id)),
        "B": await rule("B", category_id=str(reason.category_id), district_id=str(kesklinn)),
        "C": await rule("C", reason_id=str(reason.id)),
        "D": await rule("D", reason_id=str(reason.id), district_id=str(kesklinn)),
    }
    expected = [
        ("D", "reason_district", "C", "reason_any_district"),
        ("C", "reason_any_district", "C", "reason_any_district"),
        ("B", "category_district", "A", "category_any_district"),
        ("A", "category_any_district", "A", "category_any_district"),
    ]
    for name, basis, elsewhere, elsewhere_basis in expected:
        here = await _preview(client, headers, reason, KESKLINN)
        assert (here["department"]["id"], here["basis"]) == (str(departments[name].id), basis)
        assert here["rule_id"] == rules[name]
        assert here["district"]["code"] == "kesklinn"
        there = await _preview(client, headers, reason, ANNELINN)
        assert (there["department"]["id"], there["basis"]) == (
            str(departments[elsewhere].id),
            elsewhere_basis,
        )
        removed = await client.delete(f"/v1/admin/routing-rules/{rules[name]}", headers=headers)
        assert removed.status_code == 204
    final = await _preview(client, headers, reason, KESKLINN)
    assert final["department"]["code"] == "dispatcher"
    assert "dispatcher" in final["explanation"]


async def test_inactive_departments_are_skipped(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    reason = await _reason(session)
    closed = await make_department(session)
    open_ = await make_department(session)
    session.add(RoutingRule(reason_id=reason.id, department_id=closed.id))
    session.add(RoutingRule(category_id=reason.category_id, department_id=open_.id))
    closed.active = False
    await session.flush()
    decision = await _preview(client, headers, reason, KESKLINN)
    assert decision["department"]["id"] == str(open_.id)


async def test_building_bound_reasons_go_to_the_managing_organisation(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = bearer(
        settings, await make_user(session, settings, roles=((Role.coordinator, None),))
    )
    reason = await _reason(session, building_bound=True)
    fallback = await make_department(session)
    session.add(RoutingRule(category_id=reason.category_id, department_id=fallback.id))
    await session.flush()
    row = (
        await session.execute(
            select(
                Building.id, func.ST_Y(Building.point), func.ST_X(Building.point), Department.code
            )
            .join(Department, Department.id == Building.managing_org_id)
            .where(Building.is_pilot_area)
            .limit(1)
        )
    ).one()
    building_id, lat, lon, org_code = row
    near = await _preview(client, headers, reason, (lat + 0.0002, lon))  # about 22 m away
    assert near["basis"] == "building_managing_org"
    assert near["department"]["code"] == org_code == "annelinna-haldus"
    assert near["building"]["id"] == str(building_id)
    assert 20 < near["building"]["distance_m"] < 25

    # Far from any building (in a field at the city's edge) the rules decide.
    empty_spot = await session.scalar(
        select(func.ST_AsText(func.ST_PointOnSurface(District.geom))).where(
            ~select(Building.id)
            .where(
                func.ST_DWithin(
                    func.Geography(Building.point),
                    func.Geography(func.ST_PointOnSurface(District.geom)),
                    60,
                )
            )
            .exists()
        )
    )
    assert empty_spot is not None
    lon_far, lat_far = (float(v) for v in empty_spot.removeprefix("POINT(").rstrip(")").split())
    far = await _preview(client, headers, reason, (lat_far, lon_far))
    assert far["basis"] == "category_any_district"
    assert far["building"] is None


async def test_routing_preview_policy_and_errors(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    reason = await _reason(session)
    params: dict[str, Any] = {"reason": str(reason.id), "lat": KESKLINN[0], "lon": KESKLINN[1]}
    assert (await client.get("/v1/routing/preview", params=params)).status_code == 401
    staff = await make_user(session, settings, roles=((Role.staff, None),))
    forbidden = await client.get(
        "/v1/routing/preview", params=params, headers=bearer(settings, staff)
    )
    assert forbidden.status_code == 403
    headers = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    unknown = await client.get(
        "/v1/routing/preview", params={**params, "reason": str(uuid.uuid4())}, headers=headers
    )
    assert unknown.status_code == 404
    both = await client.post(
        "/v1/admin/routing-rules",
        json={
            "reason_id": str(reason.id),
            "category_id": str(reason.category_id),
            "department_id": str((await make_department(session)).id),
        },
        headers=headers,
    )
    assert both.status_code == 422
    department = await make_department(session)
    body = {"reason_id": str(reason.id), "department_id": str(department.id)}
    assert (
        await client.post("/v1/admin/routing-rules", json=body, headers=headers)
    ).status_code == 201
    repeat = await client.post("/v1/admin/routing-rules", json=body, headers=headers)
    assert repeat.status_code == 409
    ghost = await client.post(
        "/v1/admin/routing-rules",
        json={"reason_id": str(reason.id), "department_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert ghost.status_code == 422


async def test_routing_is_one_query_on_the_spatial_index(session: AsyncSession) -> None:
    """The routing query can use the GiST indexes (seq scans disabled to ask the planner
    whether it could do without them; with 12 districts it would rightly scan)."""
    from service.city.routing.repository import ROUTING_SQL

    reason = await _reason(session)
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    explain = await session.execute(
        text("EXPLAIN " + ROUTING_SQL.text),
        {
            "lats": [KESKLINN[0]],
            "lons": [KESKLINN[1]],
            "reason_ids": [reason.id],
            "building_ids": [None],
            "max_m": 50.0,
        },
    )
    plan = "\n".join(row[0] for row in explain)
    assert "idx_district_geom" in plan, plan
    assert "ix_building_point_geography" in plan


async def test_one_report_and_a_set_route_alike(session: AsyncSession) -> None:
    """Routing a set in one statement (as the demo seed does) answers what routing each
    report alone answers: points in the city and beyond it, with and without a building."""
    from service.city.routing.service import RoutingRequest, route, route_many

    rng = random.Random(7)
    reasons = list((await session.execute(select(Reason).order_by(Reason.code))).scalars())
    buildings = list(
        (await session.execute(select(Building.id).order_by(Building.address))).scalars()
    )
    requests = [
        RoutingRequest(
            rng.choice(reasons).id,
            rng.uniform(58.34, 58.42),  # the demo city's box and a little beyond
            rng.uniform(26.63, 26.83),
            rng.choice(buildings) if rng.random() < 0.3 else None,
        )
        for _ in range(300)
    ]
    together = await route_many(session, requests)
    alone = [await route(session, r.reason_id, r.lat, r.lon, r.building_id) for r in requests]
    assert together == alone
    assert any(d.district_id is None for d in together)
    assert any(d.district_id is not None for d in together)
    assert {d.basis for d in together} >= {
        "building_managing_org",
        "reason_any_district",
        "category_any_district",
    }
    assert await route_many(session, []) == []
    with pytest.raises(InvalidInput):
        await route_many(session, [requests[0], RoutingRequest(uuid.uuid4(), *KESKLINN)])


# --- catalogue -------------------------------------------------------------------------------


async def test_catalog_in_three_languages(client: AsyncClient) -> None:
    et = (await client.get("/v1/catalog")).json()
    en = (await client.get("/v1/catalog", params={"lang": "en"})).json()
    ru = (await client.get("/v1/catalog", headers={"Accept-Language": "ru-RU,ru;q=0.9"})).json()
    assert (et["language"], en["language"], ru["language"]) == ("et", "en", "ru")
    road = next(t for t in en["object_types"] if t["code"] == "road")
    assert road["name"] == "Street and road"
    assert next(t for t in ru["object_types"] if t["code"] == "road")["name"] == "Улица и дорога"
    pothole = next(r for c in road["categories"] for r in c["reasons"] if r["code"] == "pothole")
    assert pothole["attributes"][0]["code"] == "size"
    assert pothole["sla_unit"] == "working_days"
    snow = next(r for c in road["categories"] for r in c["reasons"] if r["code"] == "snow-sidewalk")
    assert (snow["season_start"], snow["season_end"]) == ("11-01", "03-31")


def _reason_body(category_id: str, **changes: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    return {
        "code": f"t-{suffix}",
        "service_code": f"t-{suffix}",
        "category_id": category_id,
        "names": {"et": "Uus põhjus", "en": "New reason"},
        "sla_amount": 3,
        **changes,
    }


SIZE: dict[str, Any] = {
    "code": "size",
    "names": {"et": "Suurus"},
    "type": "single_value_list",
    "required": True,
    "values": [{"key": "small", "names": {"et": "Väike"}}, {"key": "big", "names": {"et": "Suur"}}],
}


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ([{**SIZE, "values": None}], "needs values"),
        ([{**SIZE, "values": []}], "needs values"),
        ([{**SIZE, "values": [SIZE["values"][0], SIZE["values"][0]]}], "value keys repeat"),
        ([{**SIZE, "type": "string"}], "only list types take values"),
        ([{**SIZE, "type": "colour"}], "type"),
        ([SIZE, SIZE], "attribute codes repeat"),
        (
            [{"code": "n", "names": {"et": "N"}, "type": "number", "min_value": 5, "max_value": 1}],
            "min_value is above max_value",
        ),
        (
            [{"code": "s", "names": {"et": "S"}, "type": "string", "min_value": 1}],
            "for numbers",
        ),
        ([{"code": "Bad Code", "names": {"et": "X"}, "type": "string"}], "code"),
        ([{"code": "x", "names": {"en": "no Estonian"}, "type": "string"}], "et"),
    ],
)
async def test_attribute_definitions_are_validated(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    attributes: list[dict[str, Any]],
    message: str,
) -> None:
    headers = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    category_id = await session.scalar(select(Category.id).limit(1))
    response = await client.post(
        "/v1/admin/catalog/reasons",
        json=_reason_body(str(category_id), attributes=attributes),
        headers=headers,
    )
    assert response.status_code == 422
    assert message in response.text


async def test_catalog_admin_create_update_deactivate_delete(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    object_type = await client.post(
        "/v1/admin/catalog/object-types",
        json={"code": "t-bridge", "names": {"et": "Sild", "en": "Bridge", "ru": "Мост"}},
        headers=headers,
    )
    assert object_type.status_code == 201, object_type.text
    category = await client.post(
        "/v1/admin/catalog/categories",
        json={
            "code": "t-bridge-safety",
            "object_type_id": object_type.json()["id"],
            "names": {"et": "Ohutus"},
        },
        headers=headers,
    )
    assert category.status_code == 201
    body = _reason_body(
        category.json()["id"],
        attributes=[SIZE],
        season_start="11-01",
        season_end="03-31",
        sla_unit="working_hours",
    )
    reason = await client.post("/v1/admin/catalog/reasons", json=body, headers=headers)
    assert reason.status_code == 201, reason.text
    reason_id = reason.json()["id"]
    assert reason.json()["season_start"] == "11-01"

    tree = (await client.get("/v1/catalog", params={"lang": "en"})).json()
    bridge = next(t for t in tree["object_types"] if t["code"] == "t-bridge")
    assert bridge["categories"][0]["reasons"][0]["name"] == "New reason"

    duplicate = await client.post("/v1/admin/catalog/reasons", json=body, headers=headers)
    assert duplicate.status_code == 409
    feb30 = await client.post(
        "/v1/admin/catalog/reasons",
        json=_reason_body(category.json()["id"], season_start="02-30", season_end="03-01"),
        headers=headers,
    )
    assert feb30.status_code == 422
    half = await client.patch(
        f"/v1/admin/catalog/reasons/{reason_id}", json={"season_start": "01-01"}, headers=headers
    )
    assert half.status_code == 422
    cleared = await client.patch(
        f"/v1/admin/catalog/reasons/{reason_id}",
        json={"season_start": None, "season_end": None, "sla_amount": 6},
        headers=headers,
    )
    assert cleared.json()["season_start"] is None
    assert cleared.json()["sla_amount"] == 6

    deactivated = await client.patch(
        f"/v1/admin/catalog/reasons/{reason_id}", json={"active": False}, headers=headers
    )
    assert deactivated.json()["active"] is False
    tree = (await client.get("/v1/catalog")).json()
    bridge = next(t for t in tree["object_types"] if t["code"] == "t-bridge")
    assert bridge["categories"][0]["reasons"] == []
    admin_tree = (await client.get("/v1/admin/catalog", headers=headers)).json()
    bridge = next(t for t in admin_tree["object_types"] if t["code"] == "t-bridge")
    assert len(bridge["categories"][0]["reasons"]) == 1

    resident = await make_user(session, settings)
    denied = await client.delete(
        f"/v1/admin/catalog/reasons/{reason_id}", headers=bearer(settings, resident)
    )
    assert denied.status_code == 403
    deleted = await client.delete(f"/v1/admin/catalog/reasons/{reason_id}", headers=headers)
    assert deleted.status_code == 204
    assert (await client.get(f"/v1/catalog/reasons/{reason_id}")).status_code == 404


def test_attribute_values_are_checked_against_definitions() -> None:
    definitions = [
        SIZE,
        {"code": "count", "names": {"et": "Arv"}, "type": "number", "min_value": 1},
        {"code": "day", "names": {"et": "Päev"}, "type": "date"},
        {
            "code": "kinds",
            "names": {"et": "Liigid"},
            "type": "multi_value_list",
            "values": [{"key": "a", "names": {"et": "A"}}, {"key": "b", "names": {"et": "B"}}],
        },
    ]
    cleaned = validate_attribute_values(
        definitions, {"size": "big", "count": "3", "day": "2026-01-05", "kinds": ["b", "a", "b"]}
    )
    assert cleaned == {"size": "big", "count": 3.0, "day": "2026-01-05", "kinds": ["a", "b"]}
    with pytest.raises(InvalidInput) as caught:
        validate_attribute_values(
            definitions,
            {"count": 0, "day": "1900-01-01", "kinds": ["c"], "colour": "red"},
        )
    problems = {e["attribute"]: e["problem"] for e in caught.value.extensions["attribute_errors"]}
    assert problems == {
        "colour": "unknown attribute",
        "size": "required",
        "count": "below 1",
        "day": "must be between 2000 and 2100",
        "kinds": "unknown values ['c']; allowed: a, b",
    }

"""Districts, the city boundary, departments, buildings and calendars through the API.

Every test database holds the demo Tartu; imported test districts lie near Pärnu (far from it).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role
from service.city.models import Building, Department, District
from service.config import Settings
from service.demo import tartu
from tests.factories import bearer, make_department, make_user

IMPORT = "/v1/admin/districts/import"
SAMPLE_DISTRICTS = Path(__file__).resolve().parent.parent / "docs" / "sample_districts.geojson"


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    return [
        [
            [lon, lat],
            [lon + size, lat],
            [lon + size, lat + size],
            [lon, lat + size],
            [lon, lat],
        ]
    ]


def feature(
    code: str, coordinates: Any, kind: str = "Polygon", **properties: Any
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": kind, "coordinates": coordinates},
        "properties": {"code": code, "name": code.title(), **properties},
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def two_districts() -> dict[str, Any]:
    # Two squares sharing the border lon = 24.51.
    return collection(
        feature("p-west", square(24.50, 58.38)),
        feature("p-east", [square(24.51, 58.38)], kind="MultiPolygon", is_pilot_area=True),
    )


async def _admin_headers(session: AsyncSession, settings: Settings) -> dict[str, str]:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    return bearer(settings, admin)


async def test_import_then_list_and_locate(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin_headers(session, settings)
    response = await client.post(IMPORT, json=two_districts(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"created": ["p-west", "p-east"], "updated": [], "total": 2}

    listing = await client.get("/v1/districts")
    assert listing.headers["content-type"] == "application/geo+json"
    features = {f["properties"]["code"]: f for f in listing.json()["features"]}
    assert features["p-east"]["properties"]["is_pilot_area"] is True
    assert features["p-west"]["geometry"]["type"] == "MultiPolygon"
    assert "annelinn" in features  # the demo city is still there

    inside = await client.get("/v1/districts/locate", params={"lat": 58.385, "lon": 24.515})
    assert inside.json()["code"] == "p-east"
    # A point on the shared border belongs to the district whose code sorts first.
    border = await client.get("/v1/districts/locate", params={"lat": 58.385, "lon": 24.51})
    assert border.json()["code"] == "p-east"
    corner = await client.get("/v1/districts/locate", params={"lat": 58.38, "lon": 24.50})
    assert corner.json()["code"] == "p-west"
    outside = await client.get("/v1/districts/locate", params={"lat": 58.0, "lon": 24.0})
    assert outside.status_code == 404
    assert outside.headers["content-type"] == "application/problem+json"
    bad = await client.get("/v1/districts/locate", params={"lat": 91, "lon": 24.0})
    assert bad.status_code == 422

    # Importing again replaces by code.
    renamed = two_districts()
    renamed["features"][0]["properties"]["name"] = "Pärnu lääs"
    again = await client.post(IMPORT, json=renamed, headers=headers)
    assert again.json() == {"created": [], "updated": ["p-west", "p-east"], "total": 2}
    name = await session.scalar(select(District.name).where(District.code == "p-west"))
    assert name == "Pärnu lääs"


BOWTIE = [[[24.5, 58.3], [24.6, 58.4], [24.6, 58.3], [24.5, 58.4], [24.5, 58.3]]]


def _bad_files() -> list[tuple[str, Any, int | None, str]]:
    good = feature("p-good", square(24.70, 58.38))
    return [
        ("not a collection", {"type": "Feature"}, None, "FeatureCollection"),
        ("no features", collection(), None, "non-empty"),
        (
            "another reference system",
            {
                **collection(good),
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3301"}},
            },
            None,
            "EPSG:4326",
        ),
        (
            "a point",
            collection(good, feature("p-point", [24.5, 58.3], kind="Point")),
            1,
            "Polygon or MultiPolygon",
        ),
        (
            "self-intersecting",
            collection(good, feature("p-bowtie", BOWTIE)),
            1,
            "Self-intersection",
        ),
        (
            "unclosed ring",
            collection(
                good, feature("p-open", [[[24.5, 58.3], [24.6, 58.3], [24.6, 58.4], [24.5, 58.4]]])
            ),
            1,
            "malformed geometry",
        ),
        (
            "projected coordinates",
            collection(good, feature("p-lest", square(659000, 6474000, 1000))),
            1,
            "outside longitude/latitude",
        ),
        (
            "missing code",
            collection(good, {**feature("x", square(24.8, 58.38)), "properties": {"name": "X"}}),
            1,
            "properties.code",
        ),
        (
            "repeated code",
            collection(good, feature("p-good", square(24.9, 58.38))),
            1,
            "code repeats feature 0",
        ),
        (
            "overlapping features",
            collection(good, feature("p-over", square(24.705, 58.385))),
            1,
            "overlaps district p-good",
        ),
        (
            "overlapping the city",
            collection(good, feature("p-tartu", square(26.72, 58.37))),
            1,
            "overlaps district",
        ),
    ]


@pytest.mark.parametrize(
    ("document", "index", "problem"),
    [pytest.param(doc, index, problem, id=name) for name, doc, index, problem in _bad_files()],
)
async def test_bad_district_files_are_refused_whole(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    document: Any,
    index: int | None,
    problem: str,
) -> None:
    headers = await _admin_headers(session, settings)
    before = await session.scalar(select(func.count()).select_from(District))
    response = await client.post(IMPORT, json=document, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors[0]["index"] == index
    assert problem in errors[0]["problem"]
    # Nothing half-imported: the good feature of the same file is not there either.
    assert await session.scalar(select(func.count()).select_from(District)) == before


async def test_district_import_needs_an_admin(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    assert (await client.post(IMPORT, json=two_districts())).status_code == 401
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    response = await client.post(IMPORT, json=two_districts(), headers=bearer(settings, moderator))
    assert response.status_code == 403


async def test_the_demo_city_is_served(client: AsyncClient) -> None:
    districts = (await client.get("/v1/districts", params={"simplify_m": 20})).json()["features"]
    assert len(districts) == len(tartu.DISTRICTS)
    assert [f["properties"]["code"] for f in districts if f["properties"]["is_pilot_area"]] == [
        "annelinn"
    ]
    departments = (await client.get("/v1/departments")).json()
    kinds = [d["kind"] for d in departments]
    assert kinds.count("managing_org") == 2
    assert kinds.count("dispatcher") == 1
    assert kinds.count("department") >= 10
    catalog = (await client.get("/v1/catalog")).json()
    reasons = [r for t in catalog["object_types"] for c in t["categories"] for r in c["reasons"]]
    assert len(catalog["object_types"]) >= 6
    assert len(reasons) >= 40
    annelinn = await client.get("/v1/districts/locate", params={"lat": 58.3730, "lon": 26.7700})
    assert annelinn.json()["code"] == "annelinn"


async def test_building_search_nearest_and_passport(
    client: AsyncClient, session: AsyncSession
) -> None:
    row = (
        await session.execute(
            select(Building, func.ST_Y(Building.point), func.ST_X(Building.point))
            .where(Building.is_pilot_area)
            .order_by(Building.address)
            .limit(1)
        )
    ).one()
    building, lat, lon = row
    # Search by a part of the address, with a typo in the street name.
    street, number = building.address.split(",")[0].rsplit(" ", 1)
    typo = street[:-1] + "x" + " " + number
    found = (await client.get("/v1/buildings", params={"q": typo})).json()["items"]
    assert building.address in [b["address"] for b in found[:3]]
    empty = await client.get("/v1/buildings", params={"q": "zzzzqqq"})
    assert empty.json()["items"] == []
    assert (await client.get("/v1/buildings", params={"q": "a"})).status_code == 422

    nearest = await client.get(
        "/v1/buildings/nearest", params={"lat": lat + 0.0001, "lon": lon, "max_m": 50}
    )
    items = nearest.json()["items"]
    assert items[0]["id"] == str(building.id)
    assert 10 < items[0]["distance_m"] < 12  # 0.0001° of latitude is about 11 m
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)
    far = await client.get("/v1/buildings/nearest", params={"lat": 58.0, "lon": 24.0})
    assert far.json()["items"] == []

    detail = (await client.get(f"/v1/buildings/{building.id}")).json()
    assert detail["is_pilot_area"] is True
    assert detail["district"]["code"] == "annelinn"
    assert detail["passport"]["heated_area"]["unit"] == "m²"
    assert detail["footprint"]["type"] == "Polygon"
    serving = {o["kind"]: o["code"] for o in detail["organisations"]}
    assert serving == {"managing_org": "annelinna-haldus", "dispatcher": "dispatcher"}
    missing = await client.get("/v1/buildings/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_department_tree_admin(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin_headers(session, settings)
    parent = await client.post(
        "/v1/admin/departments",
        json={"code": "t-parent", "name": "Parent", "email": "parent@city.example"},
        headers=headers,
    )
    assert parent.status_code == 201, parent.text
    parent_id = parent.json()["id"]
    child = await client.post(
        "/v1/admin/departments",
        json={"code": "t-child", "name": "Child", "parent_id": parent_id},
        headers=headers,
    )
    child_id = child.json()["id"]
    supervisor = await make_user(
        session, settings, name="Sue Pervisor", roles=((Role.supervisor, parent.json()["id"]),)
    )
    detail = (await client.get(f"/v1/admin/departments/{parent_id}", headers=headers)).json()
    assert detail["children"] == [child_id]
    assert detail["supervisors"] == [
        {"user_id": str(supervisor.id), "display_name": "Sue Pervisor"}
    ]

    # A department cannot sit under its own sub-department.
    cycle = await client.patch(
        f"/v1/admin/departments/{parent_id}", json={"parent_id": child_id}, headers=headers
    )
    assert cycle.status_code == 422
    self_parent = await client.patch(
        f"/v1/admin/departments/{parent_id}", json={"parent_id": parent_id}, headers=headers
    )
    assert self_parent.status_code == 422
    duplicate = await client.post(
        "/v1/admin/departments", json={"code": "t-child", "name": "Again"}, headers=headers
    )
    assert duplicate.status_code == 409
    bad_email = await client.post(
        "/v1/admin/departments", json={"code": "t-x", "name": "X", "email": "nope"}, headers=headers
    )
    assert bad_email.status_code == 422
    missing = await client.patch(
        "/v1/admin/departments/00000000-0000-0000-0000-000000000000",
        json={"name": "Y"},
        headers=headers,
    )
    assert missing.status_code == 404

    # Deactivated departments leave the public list.
    await client.patch(f"/v1/admin/departments/{child_id}", json={"active": False}, headers=headers)
    public = [d["code"] for d in (await client.get("/v1/departments")).json()]
    assert "t-parent" in public
    assert "t-child" not in public
    everything = await client.get("/v1/admin/departments", headers=headers)
    assert "t-child" in [d["code"] for d in everything.json()]

    staff = await make_user(session, settings, roles=((Role.staff, parent_id),))
    forbidden = await client.post(
        "/v1/admin/departments", json={"code": "t-y", "name": "Y"}, headers=bearer(settings, staff)
    )
    assert forbidden.status_code == 403


async def test_department_subtree(session: AsyncSession) -> None:
    from service.city.departments.service import department_subtree

    root = await make_department(session)
    child = await make_department(session, parent_id=root.id)
    grandchild = await make_department(session, parent_id=child.id)
    await make_department(session)  # unrelated
    assert set(await department_subtree(session, root.id)) == {root.id, child.id, grandchild.id}
    assert set(await department_subtree(session, grandchild.id)) == {grandchild.id}


async def test_calendar_admin_and_public_view(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin_headers(session, settings)
    city_before = (await client.get("/v1/calendar", params={"year": 2026})).json()
    assert city_before["timezone"] == "Europe/Tallinn"
    assert city_before["work_start"] == "08:30:00"
    assert {"day": "2026-06-23", "name": "võidupüha"} in city_before["holidays"]

    put = await client.put(
        "/v1/admin/calendar/exceptions/2026-11-02",
        json={"kind": "holiday", "note": "Hingedepäev"},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    view = (await client.get("/v1/calendar", params={"year": 2026})).json()
    assert {"day": "2026-11-02", "name": "City holiday"} in view["holidays"]
    assert view["exceptions"] == [{"day": "2026-11-02", "kind": "holiday", "note": "Hingedepäev"}]

    # Changing the kind of the same day replaces it.
    await client.put(
        "/v1/admin/calendar/exceptions/2026-11-02", json={"kind": "working_day"}, headers=headers
    )
    view = (await client.get("/v1/calendar", params={"year": 2026})).json()
    assert [e["kind"] for e in view["exceptions"]] == ["working_day"]

    assert (
        await client.put(
            "/v1/admin/calendar/exceptions/1900-01-01", json={"kind": "holiday"}, headers=headers
        )
    ).status_code == 422
    assert (
        await client.put(
            "/v1/admin/calendar/exceptions/2026-11-03", json={"kind": "party"}, headers=headers
        )
    ).status_code == 422
    deleted = await client.delete("/v1/admin/calendar/exceptions/2026-11-02", headers=headers)
    assert deleted.status_code == 204
    again = await client.delete("/v1/admin/calendar/exceptions/2026-11-02", headers=headers)
    assert again.status_code == 404
    assert again.json()["detail"] == "No exception on November 2, 2026."
    assert again.json()["day"] == "2026-11-02"

    hours = await client.patch(
        "/v1/admin/calendar", json={"work_start": "18:00", "work_end": "09:00"}, headers=headers
    )
    assert hours.status_code == 422
    zone = await client.patch(
        "/v1/admin/calendar", json={"timezone": "Mars/Olympus"}, headers=headers
    )
    assert zone.status_code == 422

    # A department keeping other hours gets its own calendar.
    own = await client.post(
        "/v1/admin/calendars",
        json={"name": "Night shift", "work_start": "07:00", "work_end": "19:00"},
        headers=headers,
    )
    assert own.status_code == 201
    department = await client.post(
        "/v1/admin/departments",
        json={"code": "t-night", "name": "Night", "calendar_id": own.json()["id"]},
        headers=headers,
    )
    view = await client.get("/v1/calendar", params={"department_id": department.json()["id"]})
    assert view.json()["work_end"] == "19:00:00"
    resident = await make_user(session, settings)
    assert (
        await client.get("/v1/admin/calendar", headers=bearer(settings, resident))
    ).status_code == 403


async def test_seed_is_idempotent(session: AsyncSession, settings: Settings, now: datetime) -> None:
    from service.demo.accounts import DEMO_ACCOUNTS
    from service.demo.seed import seed

    counts_before = [
        await session.scalar(select(func.count()).select_from(model))
        for model in (District, Department, Building)
    ]
    report = await seed(session, settings, now, reports=120)
    assert report.buildings_added == 0
    assert len(report.accounts_added) == len(DEMO_ACCOUNTS)
    assert report.reports_added == 120
    counts_after = [
        await session.scalar(select(func.count()).select_from(model))
        for model in (District, Department, Building)
    ]
    assert counts_after == counts_before
    again = await seed(session, settings, now, reports=120)
    assert again.accounts_added == []
    assert again.reports_added == 0

    # The demo reports are consistent: a legal state, a timeline that ends in it, counts
    # that match the supporter rows, and a place inside their district.
    from service.reports.models import Report, ReportEvent, ReportSupport
    from service.reports.states import ReportState

    demo_reports = list((await session.execute(select(Report))).scalars())
    assert {r.state for r in demo_reports} >= {"closed", "submitted", "in_progress"}
    for demo in demo_reports:
        assert ReportState(demo.state)
        last = (
            await session.execute(
                select(ReportEvent.to_state)
                # The last change of state ("merged" into a report changes none).
                .where(ReportEvent.report_id == demo.id, col(ReportEvent.to_state).is_not(None))
                .order_by(col(ReportEvent.at).desc())
                .limit(1)
            )
        ).scalar_one()
        assert last == demo.state
        supporters = await session.scalar(
            select(func.count())
            .select_from(ReportSupport)
            .where(ReportSupport.report_id == demo.id)
        )
        assert supporters == demo.supporters_count
    outside = await session.scalar(
        select(func.count())
        .select_from(Report)
        .join(District, District.id == Report.district_id)
        .where(~func.ST_Covers(District.geom, Report.location))
    )
    assert outside == 0


async def test_demo_accounts_are_refused_in_production(
    session: AsyncSession, settings: Settings, now: datetime
) -> None:
    from service.config import Environment
    from service.demo.seed import DemoRefused, seed_accounts

    production = copy.copy(settings)
    object.__setattr__(production, "env", Environment.production)
    with pytest.raises(DemoRefused):
        await seed_accounts(session, production, now)


async def test_the_sample_district_file_imports(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The README's import example: the shipped file is the demo city's districts."""
    document = json.loads(SAMPLE_DISTRICTS.read_text(encoding="utf-8"))
    assert document == tartu.district_collection()
    response = await client.post(
        IMPORT, json=document, headers=await _admin_headers(session, settings)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "created": [],
        "updated": [code for code, *_ in tartu.DISTRICTS],
        "total": len(tartu.DISTRICTS),
    }

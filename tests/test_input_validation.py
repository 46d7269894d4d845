"""Bad input answers 4xx problem+json and writes nothing: the cases a fuzzing run of the API
once turned into 500s, and the classes of input behind them (control characters in text,
nulls for fields that cannot be empty, integers past their column, time zones and times)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient, Response
from pydantic import EmailStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.catalog.models import ObjectType
from service.city.models import Calendar, Department, District
from service.city.service import city_calendar
from service.config import Settings
from service.fields import plain_text, time_zone
from service.main import create_app
from service.reports.models import Report
from service.web.errors import is_web_path
from tests.factories import bearer, file_report, make_department, make_user, reason_by_code
from tests.fuzzing import assert_documented

NUL = "\x00"


def assert_refused(response: Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


def error_fields(problem: dict[str, Any]) -> set[str]:
    """The last element of each error's location: the fields the problem names."""
    return {str(error["loc"][-1]) for error in problem.get("errors", [])}


async def _admin(session: AsyncSession, settings: Settings) -> dict[str, str]:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    return bearer(settings, admin)


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _reload(session: AsyncSession, model: Any, row_id: uuid.UUID) -> Any:
    """The row as the database holds it now, not as the session remembers it."""
    found = await session.execute(
        select(model).where(model.id == row_id).execution_options(populate_existing=True)
    )
    return found.scalar_one()


# --- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [f"Riia{NUL}", "Ri\x1bia", "Riia\x7f\x01"])
async def test_control_characters_in_a_query_parameter(client: AsyncClient, q: str) -> None:
    problem = assert_refused(await client.get("/v1/buildings", params={"q": q}))
    assert error_fields(problem) == {"q"}


async def test_tabs_and_newlines_are_text(client: AsyncClient) -> None:
    assert (await client.get("/v1/buildings", params={"q": "Riia\t1"})).status_code == 200


async def test_control_characters_in_a_path_parameter(client: AsyncClient) -> None:
    assert_refused(await client.get("/v1/reports/by-code/AB%00C"))


async def test_control_characters_and_lone_surrogates_in_a_body(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin(session, settings)
    before = await _count(session, Department)
    for name in (f"Parks{NUL}", "Parks\x07", "Parks \ud800"):
        response = await client.post(
            "/v1/admin/departments",
            # JSON escapes carry what UTF-8 cannot (an unpaired surrogate).
            content=json.dumps({"code": "parks-x", "name": name}),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert error_fields(assert_refused(response)) == {"name"}
    assert await _count(session, Department) == before


async def test_control_characters_in_the_sign_in_form(client: AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/token", data={"username": f"someone{NUL}@example.org", "password": "x" * 12}
    )
    assert error_fields(assert_refused(response)) == {"username"}


def _parameters(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.path_params
    yield from dependant.query_params
    yield from dependant.header_params
    yield from dependant.cookie_params
    yield from dependant.body_params
    for sub in dependant.dependencies:
        yield from _parameters(sub)


def _is_guard(function: Any) -> bool:
    # Time zones are matched against the known names; EmailStr's own validation refuses
    # control characters too.
    return function in (plain_text, time_zone) or getattr(function, "__self__", None) is EmailStr


def _is_constraint(function: Any) -> bool:
    return isinstance(function, functools.partial) and function.func.__module__.startswith(
        "pydantic"
    )


def _unguarded(node: Any, where: str, guarded: bool = False) -> Iterator[str]:
    """Places in a pydantic core schema where text is taken without the control-character
    guard, or where a length constraint was put after the guard (so it no longer reaches
    the str: whitespace is not stripped and the messages speak of "items")."""
    if isinstance(node, list):
        for item in node:
            yield from _unguarded(item, where, guarded)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    function = node.get("function", {}).get("function") if kind == "function-after" else None
    if function is not None and _is_guard(function):
        guarded = True
    if function is not None and _is_constraint(function):
        inner = node["schema"]
        if inner.get("type") == "function-after" and _is_guard(inner["function"]["function"]):
            yield f"{where}: a constraint after the guard"
    if kind == "str" and not guarded and "pattern" not in node:
        yield where
    for key, value in node.items():
        if key == "fields" and isinstance(value, dict):
            for name, field in value.items():
                yield from _unguarded(field, f"{where}.{name}", guarded)
        # Dict keys are matched against known names (attribute codes), never stored as given.
        elif key not in ("function", "metadata", "serialization", "keys_schema"):
            yield from _unguarded(value, where, guarded)


@pytest.mark.parametrize(
    "properties",
    [{"code": "p-x", "name": f"West{NUL}"}, {"code": "p-x\n", "name": "West"}],
)
async def test_district_files_with_control_characters(
    client: AsyncClient, session: AsyncSession, settings: Settings, properties: dict[str, str]
) -> None:
    headers = await _admin(session, settings)
    before = await _count(session, District)
    ring = [[24.50, 58.38], [24.51, 58.38], [24.51, 58.39], [24.50, 58.39], [24.50, 58.38]]
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": properties,
            }
        ],
    }
    response = await client.post("/v1/admin/districts/import", json=document, headers=headers)
    assert_refused(response)
    assert await _count(session, District) == before


async def test_every_text_input_refuses_control_characters() -> None:
    """Every str a route takes (query, path, header, cookie, form, JSON body) goes through
    the guarded text type, unless a pattern or a closed set of values constrains it."""
    app = create_app()
    routes = [
        (f"{sorted(context.methods or [])} {context.path}", context.original_route)
        for context in iter_route_contexts(app.routes)
    ]
    # Pages: every query value passes the same guard in the pages' context dependency
    # (service.web.dependencies; tests/test_web_access.py probes every page with one).
    api_routes = [
        (name, route)
        for name, route in routes
        if isinstance(route, APIRoute) and not is_web_path(route.path)
    ]
    assert len(api_routes) > 50
    found = [
        place
        for name, route in api_routes
        for parameter in _parameters(route.dependant)
        for place in _unguarded(parameter._type_adapter.core_schema, f"{name} {parameter.name}")
    ]
    assert found == []


# --- calendars: time zones and times ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/admin/calendar", "/v1/admin/calendars/{id}"])
async def test_patch_calendar_with_an_empty_zone_and_an_offset_time(
    client: AsyncClient, session: AsyncSession, settings: Settings, path: str
) -> None:
    headers = await _admin(session, settings)
    calendar = await city_calendar(session)
    before = (calendar.timezone, calendar.work_start, calendar.work_end)
    response = await client.patch(
        path.format(id=calendar.id),
        json={"timezone": "", "work_start": "00:00:00Z"},
        headers=headers,
    )
    assert error_fields(assert_refused(response)) == {"timezone", "work_start"}
    after = await _reload(session, Calendar, calendar.id)
    assert (after.timezone, after.work_start, after.work_end) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": "Europe"}, "timezone"),
        ({"timezone": f"Europe/Tallinn{NUL}"}, "timezone"),
        ({"work_end": "16:00+02:00"}, "work_end"),
        ({"work_start": "25:00"}, "work_start"),
        ({"name": None}, "name"),
        ({"work_start": None}, "work_start"),
    ],
)
async def test_patch_calendar_refuses_bad_values(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    changes: dict[str, Any],
    field: str,
) -> None:
    headers = await _admin(session, settings)
    calendar = await city_calendar(session)
    response = await client.patch("/v1/admin/calendar", json=changes, headers=headers)
    assert error_fields(assert_refused(response)) == {field}
    after = await _reload(session, Calendar, calendar.id)
    assert (after.timezone, after.name) == (calendar.timezone, calendar.name)


@pytest.mark.parametrize(
    "body",
    [
        {"work_end": "00:00:00Z"},
        {"name": "Night shift", "work_end": "00:00:00Z"},
        {"name": "Night shift", "work_start": "09:00", "work_end": "09:00"},
        {"name": "Night shift", "work_start": "17:00"},
        {"name": "Night shift", "timezone": "Mars/Olympus"},
        {"name": "Night shift", "timezone": None},
        # Longer than the column holds (found by the fuzzing run).
        {"name": "N" * 121},
    ],
)
async def test_create_calendar_refuses_bad_hours_and_zones(
    client: AsyncClient, session: AsyncSession, settings: Settings, body: dict[str, Any]
) -> None:
    headers = await _admin(session, settings)
    before = await _count(session, Calendar)
    assert_refused(await client.post("/v1/admin/calendars", json=body, headers=headers))
    assert await _count(session, Calendar) == before


async def test_a_wall_clock_time_and_a_zone_are_taken(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin(session, settings)
    created = await client.post(
        "/v1/admin/calendars",
        json={"name": "Harbour", "timezone": "UTC", "work_start": "06:00", "work_end": "14:30"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["timezone"], created.json()["work_end"]) == ("UTC", "14:30:00")


# --- integers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [475157792233795406046167040, 2**31, -1, 1_000_001])
async def test_object_type_position_out_of_range(
    client: AsyncClient, session: AsyncSession, settings: Settings, position: int
) -> None:
    headers = await _admin(session, settings)
    item = (await session.execute(select(ObjectType).limit(1))).scalar_one()
    before = item.position
    response = await client.patch(
        f"/v1/admin/catalog/object-types/{item.id}", json={"position": position}, headers=headers
    )
    assert error_fields(assert_refused(response)) == {"position"}
    assert (await _reload(session, ObjectType, item.id)).position == before


async def test_create_with_a_position_out_of_range(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin(session, settings)
    before = await _count(session, ObjectType)
    response = await client.post(
        "/v1/admin/catalog/object-types",
        json={"code": "boats", "names": {"et": "Paadid"}, "position": 10**30},
        headers=headers,
    )
    assert error_fields(assert_refused(response)) == {"position"}
    assert await _count(session, ObjectType) == before


# --- nulls in PATCH bodies --------------------------------------------------------------------


async def test_patch_department_with_nulls_for_required_columns(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin(session, settings)
    department = await make_department(session)
    response = await client.patch(
        f"/v1/admin/departments/{department.id}",
        json={"calendar_id": None, "name": "Renamed", "active": None, "email": None},
        headers=headers,
    )
    assert error_fields(assert_refused(response)) == {"active"}
    after = await _reload(session, Department, department.id)
    assert (after.name, after.active, after.email) == (
        department.name,
        True,
        department.email,
    )


async def test_patch_department_clears_what_may_be_empty(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await _admin(session, settings)
    department = await make_department(session)
    response = await client.patch(
        f"/v1/admin/departments/{department.id}",
        json={"calendar_id": None, "name": "Renamed", "email": None},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["email"]) == ("Renamed", None)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/admin/catalog/object-types/{object_type}", "names"),
        ("/v1/admin/catalog/object-types/{object_type}", "active"),
        ("/v1/admin/catalog/reasons/{reason}", "attributes"),
        ("/v1/admin/catalog/reasons/{reason}", "sla_amount"),
    ],
)
async def test_catalogue_patches_refuse_nulls(
    client: AsyncClient, session: AsyncSession, settings: Settings, path: str, field: str
) -> None:
    headers = await _admin(session, settings)
    object_type = (await session.execute(select(ObjectType).limit(1))).scalar_one()
    reason = await reason_by_code(session, "pothole")
    url = path.format(object_type=object_type.id, reason=reason.id)
    response = await client.patch(url, json={field: None}, headers=headers)
    assert error_fields(assert_refused(response)) == {field}


async def test_patch_me_refuses_a_null_name(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings, name="Mari")
    response = await client.patch(
        "/v1/me", json={"display_name": None}, headers=bearer(settings, user)
    )
    assert error_fields(assert_refused(response)) == {"display_name"}
    assert (await _reload(session, User, user.id)).display_name == "Mari"


@pytest.mark.parametrize("field", ["anonymous_public", "attributes", "description"])
async def test_patch_report_refuses_nulls(
    client: AsyncClient, session: AsyncSession, settings: Settings, field: str
) -> None:
    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    response = await client.patch(
        f"/v1/reports/{report.id}", json={field: None}, headers=bearer(settings, resident)
    )
    assert error_fields(assert_refused(response)) == {field}
    after = await _reload(session, Report, report.id)
    assert (after.anonymous_public, after.attributes, after.description) == (
        report.anonymous_public,
        report.attributes,
        report.description,
    )


# --- report attribute values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason_code", "attributes", "attribute"),
    [
        ("pothole", {"size": ["large"]}, "size"),
        ("pothole", {"size": {"large": True}}, "size"),
        ("lamp-out", {"pole_number": ["A1"]}, "pole_number"),
        ("lamp-out", {"pole_number": {"n": 1}}, "pole_number"),
        ("lamp-out", {"pole_number": f"A1{NUL}"}, "pole_number"),
    ],
)
async def test_attribute_values_are_scalars_of_their_type(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    reason_code: str,
    attributes: dict[str, Any],
    attribute: str,
) -> None:
    resident = await make_user(session, settings)
    headers = bearer(settings, resident)
    reason = await reason_by_code(session, reason_code)
    before = await _count(session, Report)
    filed = await client.post(
        "/v1/reports",
        json={
            "reason_id": str(reason.id),
            "lat": 58.3795,
            "lon": 26.7230,
            "description": "Something is wrong here.",
            "attributes": attributes,
        },
        headers=headers,
    )
    problem = assert_refused(filed)
    assert [e["attribute"] for e in problem["attribute_errors"]] == [attribute]
    assert await _count(session, Report) == before

    report = await file_report(session, resident, reason_code=reason_code)
    changed = await client.patch(
        f"/v1/reports/{report.id}", json={"attributes": attributes}, headers=headers
    )
    problem = assert_refused(changed)
    assert [e["attribute"] for e in problem["attribute_errors"]] == [attribute]
    assert (await _reload(session, Report, report.id)).attributes == report.attributes


async def test_multi_value_attributes_take_a_list_of_keys(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from service.catalog.attributes import validate_attribute_values
    from service.errors import InvalidInput

    definitions = [
        {
            "code": "kinds",
            "names": {"et": "Liigid"},
            "type": "multi_value_list",
            "values": [{"key": "a", "names": {"et": "A"}}, {"key": "b", "names": {"et": "B"}}],
        }
    ]
    assert validate_attribute_values(definitions, {"kinds": ["b", "a", "b"]}) == {
        "kinds": ["a", "b"]
    }
    for wrong in ([["a"]], [{"a": 1}], {"a": 1}):
        with pytest.raises(InvalidInput) as raised:
            validate_attribute_values(definitions, {"kinds": wrong})
        assert raised.value.extensions["attribute_errors"][0]["attribute"] == "kinds"


# --- the body limit ---------------------------------------------------------------------------


async def test_a_body_past_the_limit_says_the_limit(
    client: AsyncClient, settings: Settings
) -> None:
    limit = settings.max_body_bytes
    declared = await client.post("/v1/auth/register", content=b"x" * (limit + 1))
    problem = assert_refused(declared, 413)
    assert f"{limit} bytes" in problem["detail"]

    async def chunks() -> Any:
        for _ in range(limit // 4096 + 2):
            yield b"x" * 4096

    streamed = await client.post("/v1/auth/register", content=chunks())
    problem = assert_refused(streamed, 413)
    assert f"{limit} bytes" in problem["detail"]
    assert problem["max_bytes"] == limit


async def test_a_photo_past_the_upload_limit_says_the_limit(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    limit = settings.photo_max_bytes + 64 * 1024
    response = await client.post(
        f"/v1/reports/{report.id}/photos",
        files={"file": ("big.jpg", b"x" * (limit + 1), "image/jpeg")},
        headers=bearer(settings, resident),
    )
    problem = assert_refused(response, 413)
    assert problem["detail"] == f"The body is larger than {limit} bytes (10.06 MiB)."


# Found by the conformance checks of the fuzzing run (tests/fuzzing.py): these answers were
# right, but the document did not list them, so clients generated from it could not read them.


async def test_a_body_that_cannot_be_parsed_is_a_documented_400(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    response = await client.post(
        "/v1/admin/catalog/categories",
        content=b"\xffv\x07",
        headers={**bearer(settings, admin), "content-type": "application/json"},
    )
    assert_refused(response, 400)
    assert_documented(response, "post", "/v1/admin/catalog/categories")


async def test_request_validation_errors_are_documented_as_problems(client: AsyncClient) -> None:
    # The document said application/json (the framework's HTTPValidationError) here.
    response = await client.get("/v1/catalog/reasons/not-an-id")
    problem = assert_refused(response)
    assert problem["errors"][0]["loc"] == ["path", "reason_id"]
    assert_documented(response, "get", "/v1/catalog/reasons/{reason_id}")

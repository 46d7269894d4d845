"""Filing reports (validation, quota, idempotency, API keys), public reads, the map, nearby
search, support and subscriptions."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service import idempotency
from service.auth import service as auth
from service.auth.models import Role
from service.auth.schemas import ApiKeyCreate
from service.calendar import TimeUnit, add_working_time
from service.city.calendars.service import load_working_calendar
from service.config import Settings
from service.reports.mapview import refresh_cells
from service.reports.models import Report, ReportEvent
from tests.factories import (
    ANNELINN,
    KESKLINN,
    accept_report,
    bearer,
    file_report,
    make_user,
    reason_by_code,
)


async def _body(session: AsyncSession, code: str = "pothole", **changes: Any) -> dict[str, Any]:
    reason = await reason_by_code(session, code)
    body: dict[str, Any] = {
        "reason_id": str(reason.id),
        "lat": KESKLINN[0],
        "lon": KESKLINN[1],
        "description": "A deep pothole in front of the town hall.",
        "attributes": {"size": "large"},
    }
    body.update(changes)
    return body


async def test_file_a_report(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings, name="Mari Maasikas")
    response = await client.post(
        "/v1/reports", json=await _body(session), headers=bearer(settings, resident)
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert re.fullmatch(r"ML-[0-9A-Z]{4}-[0-9A-Z]{4}", report["tracking_code"])
    assert report["state"] == "submitted"
    assert report["district"]["code"] == "kesklinn"
    assert report["department"]["code"] == "roads"
    assert report["reason"]["code"] == "pothole"
    assert report["attributes"] == {"size": "large"}
    assert report["subscribers_count"] == 1
    private = report["private"]
    assert private["reporter"]["display_name"] == "Mari Maasikas"
    due = datetime.fromisoformat(private["moderation_due_at"])
    submitted = datetime.fromisoformat(private["submitted_at"])
    calendar = await load_working_calendar(session)
    assert due == add_working_time(submitted, 8.5, TimeUnit.working_hours, calendar)
    assert response.headers["Location"] == f"/v1/reports/{report['id']}"
    assert response.headers["RateLimit-Limit"] == "10"
    assert response.headers["RateLimit-Remaining"] == "9"
    events = (
        await session.execute(select(ReportEvent.type).where(ReportEvent.report_id == report["id"]))
    ).scalars()
    assert list(events) == ["filed"]


def _invalid_cases() -> list[tuple[str, dict[str, Any], str]]:
    return [
        ("missing required attribute", {"attributes": {}}, "required"),
        ("bad enum value", {"attributes": {"size": "huge"}}, "must be one of"),
        ("unknown attribute", {"attributes": {"size": "small", "colour": "red"}}, "unknown"),
        ("outside the city", {"lat": 59.437, "lon": 24.745}, "outside-city"),
        ("description too long", {"description": "x" * 4001}, "description"),
        ("empty description", {"description": "   "}, "description"),
        ("no place", {"lat": None, "lon": None}, "either lat/lon or building_id"),
        ("point and building", {"building_id": str(uuid.uuid4())}, "either lat/lon"),
        ("half a point", {"lon": None}, "both lat and lon"),
        ("latitude out of range", {"lat": 91}, "lat"),
        ("unknown reason", {"reason_id": str(uuid.uuid4())}, "No such reason"),
        ("unknown field", {"priority": "high"}, "priority"),
        (
            "unknown building",
            {"lat": None, "lon": None, "building_id": str(uuid.uuid4())},
            "building",
        ),
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [pytest.param(changes, expected, id=name) for name, changes, expected in _invalid_cases()],
)
async def test_invalid_reports_are_refused(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    changes: dict[str, Any],
    expected: str,
) -> None:
    resident = await make_user(session, settings)
    body = {k: v for k, v in (await _body(session, **changes)).items() if v is not None}
    response = await client.post("/v1/reports", json=body, headers=bearer(settings, resident))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert expected in response.text
    count = await session.scalar(
        select(func.count()).select_from(Report).where(Report.reporter_id == resident.id)
    )
    assert count == 0


async def test_inactive_and_out_of_season_reasons(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    headers = bearer(settings, resident)
    reason = await reason_by_code(session, "bench")
    reason.active = False
    await session.flush()
    inactive = await client.post(
        "/v1/reports", json=await _body(session, "bench", attributes={}), headers=headers
    )
    assert inactive.status_code == 422
    assert inactive.json()["type"] == "/problems/reason-unavailable"

    # A season that starts a month from now.
    today = datetime.now(UTC).date()
    start, end = today + timedelta(days=30), today + timedelta(days=60)
    if (start.month, start.day) == (2, 29) or (end.month, end.day) == (2, 29):
        start, end = start + timedelta(days=1), end + timedelta(days=1)
    seasonal = await reason_by_code(session, "fountain")
    seasonal.season_start_month, seasonal.season_start_day = start.month, start.day
    seasonal.season_end_month, seasonal.season_end_day = end.month, end.day
    await session.flush()
    out = await client.post(
        "/v1/reports", json=await _body(session, "fountain", attributes={}), headers=headers
    )
    assert out.status_code == 422
    assert out.json()["reason"] == "out_of_season"


async def test_who_may_file(client: AsyncClient, session: AsyncSession, settings: Settings) -> None:
    body = await _body(session)
    assert (await client.post("/v1/reports", json=body)).status_code == 401
    unverified = await make_user(session, settings, verified=False)
    response = await client.post("/v1/reports", json=body, headers=bearer(settings, unverified))
    assert response.status_code == 403
    assert response.json()["reason"] == "email_not_verified"


async def test_api_keys_file_for_residents_with_the_scope(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    integrator = await make_user(session, settings, roles=((Role.admin, None),))
    resident = await make_user(session, settings)
    _, plain_secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name="kiosk", scopes=["reports:write"], owner_id=integrator.id),
        now,
    )
    _, behalf_secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(
            name="call centre",
            scopes=["reports:write", "reports:on_behalf"],
            owner_id=integrator.id,
        ),
        now,
    )
    body = await _body(session, on_behalf_of=resident.email)
    refused = await client.post("/v1/reports", json=body, headers={"X-API-Key": plain_secret})
    assert refused.status_code == 403
    filed = await client.post("/v1/reports", json=body, headers={"X-API-Key": behalf_secret})
    assert filed.status_code == 201, filed.text
    report = await session.get(Report, uuid.UUID(filed.json()["id"]))
    assert report is not None
    assert report.reporter_id == resident.id
    assert report.filed_via_api_key_id is not None
    # The partner sees what a partner may see: the report, not the resident behind it,
    # although the key's owner, an admin, would.
    assert filed.json()["private"] is None
    assert filed.json()["tracking_code"] == report.tracking_code
    assert resident.email not in filed.text
    assert str(resident.id) not in filed.text
    assert resident.display_name not in filed.text
    later = await client.get(f"/v1/reports/{report.id}", headers={"X-API-Key": behalf_secret})
    assert later.status_code == 404  # submitted: not public, and the key holds no roles
    person_view = await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, integrator))
    assert person_view.json()["private"]["reporter"]["email"] == resident.email
    # A person cannot file for someone else, whatever their roles.
    person = await client.post("/v1/reports", json=body, headers=bearer(settings, integrator))
    assert person.status_code == 403
    _, read_only = await auth.create_api_key(
        session, None, ApiKeyCreate(name="ro", scopes=["reports:read"], owner_id=integrator.id), now
    )
    scope = await client.post(
        "/v1/reports", json=await _body(session), headers={"X-API-Key": read_only}
    )
    assert scope.status_code == 403


async def test_the_eleventh_report_in_a_day_is_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    headers = bearer(settings, resident)
    body = await _body(session)
    for number in range(10):
        response = await client.post("/v1/reports", json=body, headers=headers)
        assert response.status_code == 201
        assert response.headers["RateLimit-Remaining"] == str(9 - number)
    refused = await client.post("/v1/reports", json=body, headers=headers)
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/report-quota-exceeded"
    retry_after = int(refused.headers["Retry-After"])
    assert 86000 < retry_after <= 86401
    assert refused.headers["RateLimit-Remaining"] == "0"
    # Reports older than a day no longer count.
    await session.execute(
        update(Report)
        .where(Report.reporter_id == resident.id)
        .values(created_at=func.now() - timedelta(hours=25))
    )
    assert (await client.post("/v1/reports", json=body, headers=headers)).status_code == 201


async def test_idempotency_key_replays_refuses_and_blocks(
    client: AsyncClient, session: AsyncSession, settings: Settings, redis: Any
) -> None:
    resident = await make_user(session, settings)
    headers = {**bearer(settings, resident), "Idempotency-Key": "5b7c9f0e-first"}
    body = await _body(session)
    first = await client.post("/v1/reports", json=body, headers=headers)
    assert first.status_code == 201
    # The same key and body, with keys in another order: the same answer, no second report.
    reordered = dict(reversed(list(body.items())))
    again = await client.post("/v1/reports", json=reordered, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"] == f'"{first.json()["version"]}"'
    # The quota's fields described the first answer's moment: a replay does not repeat them.
    assert "RateLimit-Remaining" in first.headers
    assert "RateLimit-Remaining" not in again.headers
    count = await session.scalar(
        select(func.count()).select_from(Report).where(Report.reporter_id == resident.id)
    )
    assert count == 1

    changed = await client.post(
        "/v1/reports", json={**body, "description": "Something else"}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["type"] == "/problems/idempotency-key-reused"

    # Another person may use the same key for their own request.
    other = await make_user(session, settings)
    theirs = await client.post(
        "/v1/reports",
        json=body,
        headers={**bearer(settings, other), "Idempotency-Key": "5b7c9f0e-first"},
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]

    # A request still running with this key: 409.
    context = idempotency.IdempotencyContext(
        owner=f"user:{resident.id}",
        key="in-flight",
        fingerprint=idempotency.fingerprint("POST", "/v1/reports", body),
    )
    assert await idempotency.begin(session, redis, context, datetime.now(UTC)) is None
    busy = await client.post(
        "/v1/reports", json=body, headers={**headers, "Idempotency-Key": "in-flight"}
    )
    assert busy.status_code == 409
    assert busy.json()["type"] == "/problems/idempotency-key-in-flight"

    # After 24 hours the key is forgotten: the same key files a new report.
    await session.execute(
        update(idempotency.IdempotencyRecord).values(expires_at=func.now() - timedelta(seconds=1))
    )
    await redis.flushdb()
    fresh = await client.post("/v1/reports", json=body, headers=headers)
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in fresh.headers

    too_long = await client.post(
        "/v1/reports", json=body, headers={**headers, "Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 422


async def test_a_failed_request_frees_its_key(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    headers = {**bearer(settings, resident), "Idempotency-Key": "retry-me"}
    bad = await client.post(
        "/v1/reports", json=await _body(session, attributes={}), headers=headers
    )
    assert bad.status_code == 422
    good = await client.post("/v1/reports", json=await _body(session), headers=headers)
    assert good.status_code == 201


# --- public reads ------------------------------------------------------------------------------


async def test_public_view_hides_personal_data(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings, name="Salajane Sass")
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, resident, anonymous_public=True)

    # Submitted reports are not public yet.
    assert (await client.get(f"/v1/reports/{report.id}")).status_code == 404
    own = await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, resident))
    assert own.status_code == 200
    assert own.json()["private"]["reporter"]["email"] is None

    await accept_report(session, moderator, report)
    public = await client.get(f"/v1/reports/{report.id}")
    assert public.status_code == 200
    assert public.json()["reporter_name"] is None
    assert public.json()["private"] is None
    assert "Salajane" not in public.text
    assert resident.email not in public.text
    by_code = await client.get(f"/v1/reports/by-code/{report.tracking_code.lower()}")
    assert by_code.json()["id"] == str(report.id)
    listed = await client.get("/v1/reports", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    assert resident.email not in listed.text
    assert "Salajane" not in listed.text

    staff_view = await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, moderator))
    assert staff_view.json()["private"]["reporter"]["email"] == resident.email

    named = await file_report(session, resident)
    await accept_report(session, moderator, named)
    shown = (await client.get(f"/v1/reports/{named.id}")).json()
    assert shown["reporter_name"] == "Salajane Sass"
    assert resident.email not in str(shown)


async def test_list_filters_and_keyset_pages(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    base = datetime(2030, 1, 1, tzinfo=UTC)  # after anything else in the database
    made = []
    for index in range(5):
        report = await file_report(session, resident, when=base + timedelta(minutes=index))
        await accept_report(session, moderator, report)
        made.append(report)
    hidden = await file_report(session, resident, when=base + timedelta(minutes=10))

    seen: list[str] = []
    cursor = None
    since = (base - timedelta(seconds=1)).isoformat()
    while True:
        params: dict[str, Any] = {"limit": 2, "since": since}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/reports", params=params)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(r.id) for r in reversed(made)]
    assert str(hidden.id) not in seen

    oldest = (
        await client.get("/v1/reports", params={"since": since, "sort": "oldest", "limit": 1})
    ).json()
    assert oldest["items"][0]["id"] == str(made[0].id)
    district = await client.get(
        "/v1/reports", params={"since": since, "district_id": str(made[0].district_id)}
    )
    assert len(district.json()["items"]) == 5
    bbox = f"{ANNELINN[1] - 0.01},{ANNELINN[0] - 0.01},{ANNELINN[1] + 0.01},{ANNELINN[0] + 0.01}"
    assert (await client.get("/v1/reports", params={"since": since, "bbox": bbox})).json()[
        "items"
    ] == []
    overdue = await client.get("/v1/reports", params={"since": since, "overdue": True})
    assert overdue.json()["items"] == []
    await session.execute(
        update(Report).where(Report.id == made[0].id).values(due_at=func.now() - timedelta(hours=1))
    )
    overdue = await client.get("/v1/reports", params={"since": since, "overdue": True})
    assert [i["id"] for i in overdue.json()["items"]] == [str(made[0].id)]
    assert overdue.json()["items"][0]["overdue"] is True

    assert (await client.get("/v1/reports", params={"cursor": "!!"})).status_code == 422
    assert (await client.get("/v1/reports", params={"limit": 1000})).status_code == 422
    assert (await client.get("/v1/reports", params={"bbox": "1,2,3"})).status_code == 422
    assert (await client.get("/v1/reports", params={"state": "lost"})).status_code == 422

    mine = await client.get("/v1/me/reports", headers=bearer(settings, resident))
    assert str(hidden.id) in [i["id"] for i in mine.json()["items"]]
    assert mine.json()["items"][0]["private"] is not None


async def test_timeline_shows_public_events_to_the_public(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, resident)
    await accept_report(session, moderator, report)
    public = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
    assert [e["type"] for e in public] == ["accept"]
    assert public[0]["from_state"] == "submitted"
    assert public[0]["to_state"] == "accepted"
    own = (
        await client.get(f"/v1/reports/{report.id}/timeline", headers=bearer(settings, resident))
    ).json()
    assert [e["type"] for e in own] == ["filed", "accept"]
    assert (await client.get(f"/v1/reports/{uuid.uuid4()}/timeline")).status_code == 404


# --- map and nearby -----------------------------------------------------------------------------


async def test_map_points_and_clusters(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    lat, lon = 58.3610, 26.7890  # Ihaste, where no other test files
    for index in range(6):
        report = await file_report(session, resident, point=(lat + index * 0.0001, lon))
        await accept_report(session, moderator, report)
    await file_report(session, resident, point=(lat, lon))  # submitted: not on the map
    bbox = f"{lon - 0.005},{lat - 0.005},{lon + 0.005},{lat + 0.005}"
    points = await client.get("/v1/map", params={"bbox": bbox, "zoom": 16})
    assert points.headers["content-type"] == "application/geo+json"
    collection = points.json()
    assert collection["clustered"] is False
    assert len(collection["features"]) == 6
    assert collection["features"][0]["properties"]["kind"] == "report"

    monkeypatch.setattr(settings, "map_point_budget", 3)
    # Up to zoom 16 clusters come from the cells the worker recounts every few seconds.
    stale = (await client.get("/v1/map", params={"bbox": bbox, "zoom": 12})).json()
    assert stale["clustered"] is True
    assert sum(f["properties"]["count"] for f in stale["features"]) == 0
    await refresh_cells(session)
    clusters = (await client.get("/v1/map", params={"bbox": bbox, "zoom": 12})).json()
    assert clusters["clustered"] is True
    assert [f["properties"]["count"] for f in clusters["features"]] == [6]
    centre = clusters["features"][0]["geometry"]["coordinates"]
    assert centre == pytest.approx([lon, lat + 0.00025], abs=1e-9)
    # Closer in, clusters are computed from the points themselves.
    live = (await client.get("/v1/map", params={"bbox": bbox, "zoom": 20})).json()
    assert live["clustered"] is True
    assert sum(f["properties"]["count"] for f in live["features"]) == 6
    assert len(live["features"]) > 1
    # A whole-city box at a deep zoom is not clustered live from every point.
    city = "26.60,58.30,26.90,58.45"
    wide = (await client.get("/v1/map", params={"bbox": city, "zoom": 22})).json()
    assert wide["clustered"] is True
    assert sum(f["properties"]["count"] for f in wide["features"]) >= 6
    mine = [f for f in wide["features"] if abs(f["geometry"]["coordinates"][1] - lat) < 0.001]
    assert sum(f["properties"]["count"] for f in mine) == 6
    assert len(mine) < 6  # ~40 m cells, not the points
    for bad in ("1,2", "30,58,20,59", "a,b,c,d"):
        assert (await client.get("/v1/map", params={"bbox": bad})).status_code == 422


async def test_nearby_finds_open_reports_of_the_same_category(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    lat, lon = 58.3925, 26.6905  # Tähtvere
    near = await file_report(session, resident, point=(lat + 0.0001, lon))  # ~11 m
    await accept_report(session, moderator, near)
    far = await file_report(session, resident, point=(lat + 0.001, lon))  # ~110 m, radius 30
    await accept_report(session, moderator, far)
    unmoderated = await file_report(session, resident, point=(lat, lon))
    other_category = await file_report(
        session, resident, reason_code="lamp-out", point=(lat, lon + 0.0001)
    )
    await accept_report(session, moderator, other_category)
    same_category = await reason_by_code(session, "broken-kerb")
    found = await client.get(
        "/v1/reports/nearby", params={"lat": lat, "lon": lon, "reason": str(same_category.id)}
    )
    # broken-kerb shares the road-surface category but has the default 50 m radius.
    ids = [r["id"] for r in found.json()]
    assert ids == [str(near.id)]
    assert 10 < found.json()[0]["distance_m"] < 12
    assert str(unmoderated.id) not in ids
    missing = await client.get(
        "/v1/reports/nearby", params={"lat": lat, "lon": lon, "reason": str(uuid.uuid4())}
    )
    assert missing.status_code == 404


# --- support and subscriptions -----------------------------------------------------------------


async def test_support_and_subscribe(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    reporter = await make_user(session, settings)
    neighbour = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, reporter)
    url = f"/v1/reports/{report.id}/support"
    # Not public yet: nobody can support it.
    assert (await client.put(url, headers=bearer(settings, neighbour))).status_code == 404
    await accept_report(session, moderator, report)

    first = await client.put(url, headers=bearer(settings, neighbour))
    assert first.status_code == 200
    assert first.json() == {
        "supporting": True,
        "subscribed": True,
        "supporters_count": 1,
        "subscribers_count": 2,
    }
    again = await client.put(url, headers=bearer(settings, neighbour))
    assert again.json()["supporters_count"] == 1
    public = (await client.get(f"/v1/reports/{report.id}")).json()
    assert (public["supporters_count"], public["subscribers_count"]) == (1, 2)

    undo = await client.delete(url, headers=bearer(settings, neighbour))
    assert undo.json()["supporting"] is False
    assert undo.json()["supporters_count"] == 0
    unsubscribe = await client.delete(
        f"/v1/reports/{report.id}/subscription", headers=bearer(settings, neighbour)
    )
    assert unsubscribe.json()["subscribers_count"] == 1
    subscribe = await client.put(
        f"/v1/reports/{report.id}/subscription", headers=bearer(settings, neighbour)
    )
    assert subscribe.json() == {
        "supporting": False,
        "subscribed": True,
        "supporters_count": 0,
        "subscribers_count": 2,
    }
    own = await client.put(url, headers=bearer(settings, reporter))
    assert own.status_code == 409
    assert (await client.put(url)).status_code == 401
    assert (
        await client.put(f"/v1/reports/{uuid.uuid4()}/support", headers=bearer(settings, neighbour))
    ).status_code == 404


async def test_a_report_travels_from_filing_to_the_public_views(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """File through the API, see it routed, accept it, find it everywhere."""
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    lat, lon = KESKLINN[0] + 0.0004, KESKLINN[1]
    filed = await client.post(
        "/v1/reports",
        json=await _body(
            session,
            "street-dirty",
            lat=lat,
            lon=lon,
            attributes={},
            description="Litter everywhere",
        ),
        headers=bearer(settings, resident),
    )
    assert filed.status_code == 201
    report_id = filed.json()["id"]
    # Cleanliness in Kesklinn belongs to the downtown service (a district rule).
    assert filed.json()["department"]["code"] == "downtown"

    queue = (await client.get("/v1/moderation/queue", headers=bearer(settings, moderator))).json()
    assert report_id in [item["report"]["id"] for item in queue["items"]]
    accepted = await client.post(
        f"/v1/moderation/reports/{report_id}/accept",
        headers={**bearer(settings, moderator), "If-Match": filed.headers["ETag"]},
    )
    assert accepted.status_code == 200, accepted.text
    reason = await reason_by_code(session, "street-dirty")
    accepted_at = datetime.fromisoformat(accepted.json()["accepted_at"])
    department = await session.get(Report, uuid.UUID(report_id))
    assert department is not None
    calendar = await load_working_calendar(session, department.department_id)
    assert datetime.fromisoformat(accepted.json()["due_at"]) == add_working_time(
        accepted_at, reason.sla_amount, reason.sla_unit, calendar
    )

    listed = await client.get(
        "/v1/reports", params={"department_id": filed.json()["department"]["id"], "limit": 200}
    )
    assert report_id in [i["id"] for i in listed.json()["items"]]
    bbox = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    on_map = (await client.get("/v1/map", params={"bbox": bbox, "zoom": 17})).json()
    assert report_id in [f["id"] for f in on_map["features"]]
    nearby = await client.get(
        "/v1/reports/nearby", params={"lat": lat, "lon": lon, "reason": str(reason.id)}
    )
    assert report_id in [r["id"] for r in nearby.json()]


def test_tracking_codes_avoid_look_alike_letters() -> None:
    from service.reports.filing import new_tracking_code

    codes = {new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert not any(set(code[3:]) & set("ILOU") for code in codes)


async def test_reason_names_follow_the_language(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, resident)
    await accept_report(session, moderator, report)
    english = await client.get(f"/v1/reports/{report.id}", params={"lang": "en"})
    russian = await client.get(f"/v1/reports/{report.id}", headers={"Accept-Language": "ru"})
    assert english.json()["reason"]["name"] == "Pothole"
    assert russian.json()["reason"]["name"] == "Яма на дороге"


def test_map_cells_migration_matches_the_code() -> None:
    """The cell table's and its trigger's cell size and states are the ones the map code
    assumes."""
    import importlib.util
    from pathlib import Path

    from service.reports.mapview import BASE_ZOOM, MAP_STATES, cell_size
    from service.reports.states import OPEN_STATES

    versions = Path(__file__).parent.parent / "migrations/versions"
    for name in ("20261123_0005_report_map_cells.py", "20261124_0017_map_cells_by_change.py"):
        spec = importlib.util.spec_from_file_location("map_cells", versions / name)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert cell_size(BASE_ZOOM) == module.CELL
        assert ",".join(f"'{s}'" for s in MAP_STATES) == module.STATES
    spec = importlib.util.spec_from_file_location(
        "map_cell_levels", versions / "20261125_0023_map_cell_levels.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.BASE_ZOOM == BASE_ZOOM
    # The partial index of open reports' locations: the nearby query's states.
    assert ", ".join(f"'{s}'" for s in sorted(OPEN_STATES)) == module.OPEN


async def test_filing_against_a_building_reaches_its_managing_organisation(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from service.city.models import Building, Department

    resident = await make_user(session, settings)
    building, org_code = (
        await session.execute(
            select(Building, Department.code)
            .join(Department, Department.id == Building.managing_org_id)
            .where(Building.is_pilot_area)
            .limit(1)
        )
    ).one()
    reason = await reason_by_code(session, "entrance-door")
    response = await client.post(
        "/v1/reports",
        json={
            "reason_id": str(reason.id),
            "building_id": str(building.id),
            "description": "The door of the second entrance does not close.",
            "attributes": {"entrance": 2},
        },
        headers=bearer(settings, resident),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["department"]["code"] == org_code == "annelinna-haldus"
    assert body["building"]["id"] == str(building.id)
    assert body["district"]["code"] == "annelinn"
    assert body["attributes"] == {"entrance": 2.0}
    point = await session.scalar(
        select(func.ST_AsText(Building.point)).where(Building.id == building.id)
    )
    assert point == f"POINT({body['location']['lon']} {body['location']['lat']})"


async def test_list_searches_public_text_and_counts_the_matches(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    word = f"zebra{uuid.uuid4().hex[:8]}"
    shown = []
    for index in range(3):
        report = await file_report(
            session, resident, description=f"A {word.upper()} crossing worn away, {index}"
        )
        shown.append(await accept_report(session, moderator, report))
    other = await file_report(session, resident, description="A pothole 100% deep")
    await accept_report(session, moderator, other)
    # Not public yet: the public does not find it by its words.
    waiting = await file_report(session, resident, description=f"The {word} sign fell")

    found = await client.get("/v1/reports", params={"q": word, "limit": 2})
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 3
    assert len(found.json()["items"]) == 2
    rest = await client.get(
        "/v1/reports", params={"q": word, "limit": 2, "cursor": found.json()["next_cursor"]}
    )
    ids = {item["id"] for item in found.json()["items"] + rest.json()["items"]}
    assert ids == {str(r.id) for r in shown}
    assert str(waiting.id) not in ids
    # The tracking code, in any case.
    code = await client.get("/v1/reports", params={"q": shown[0].tracking_code.lower()})
    assert [item["id"] for item in code.json()["items"]] == [str(shown[0].id)]
    # LIKE's wildcards are plain characters.
    percent = await client.get("/v1/reports", params={"q": "0% d"})
    assert str(other.id) in {item["id"] for item in percent.json()["items"]}
    assert all("0% d" in item["description"] for item in percent.json()["items"])
    # Without q the page is not counted (one statement), unless asked.
    plain = await client.get("/v1/reports", params={"limit": 1})
    assert plain.json()["total"] is None
    counted = await client.get("/v1/reports", params={"limit": 1, "with_total": "true"})
    assert counted.json()["total"] >= 4
    assert (await client.get("/v1/reports", params={"q": "x" * 101})).status_code == 422
    assert (await client.get("/v1/reports", params={"q": "a\x00b"})).status_code == 422

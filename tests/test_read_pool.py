"""The report read on a served app, where anonymous and resident reads run on the read pool
(``service.rawsql.reading``) and everyone else in a session: the same answers either way."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from service.audit.models import AuditEvent
from service.auth.models import Role
from tests.browser import Live, api_client, city_ids, person


async def test_reads_on_the_read_pool_answer_as_the_session_would(live: Live) -> None:
    roads, pothole = await city_ids(live)
    uid = uuid.uuid4().hex[:8]
    reporter = await person(live, f"pool-reporter-{uid}@example.com", "en")
    neighbour = await person(live, f"pool-neighbour-{uid}@example.com", "en")
    staff = await person(live, f"pool-staff-{uid}@example.com", "en", (Role.staff, roads))
    async with api_client(live, reporter) as client:
        filed = await client.post(
            "/v1/reports",
            json={
                "reason_id": str(pothole),
                "lat": 58.3776,
                "lon": 26.7290,
                "description": "A deep pothole by the bus stop",
                "attributes": {"size": "small"},
            },
        )
        assert filed.status_code == 201, filed.text
        report_id = filed.json()["id"]
        own = await client.get(f"/v1/reports/{report_id}")
    assert own.status_code == 200
    assert own.json()["private"] is not None  # the reporter's own view, from the pool

    async with httpx.AsyncClient(base_url=live.url) as anonymous:
        # Not public before moderation: the pool's read applies the same rule.
        assert (await anonymous.get(f"/v1/reports/{report_id}")).status_code == 404
        bad = await anonymous.get(
            f"/v1/reports/{report_id}", headers={"Authorization": "Bearer not-a-token"}
        )
        assert bad.status_code == 401
        assert bad.headers["content-type"].startswith("application/problem+json")
    async with api_client(live, neighbour) as client:
        assert (await client.get(f"/v1/reports/{report_id}")).status_code == 404

    async with live.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(AuditEvent))
    async with api_client(live, staff) as client:
        seen = await client.get(f"/v1/reports/{report_id}")
    assert seen.status_code == 200
    assert seen.json()["private"]["reporter"]["email"] == reporter.email
    # A person holding a role is served in a session: the read of the contact is audited.
    async with live.sessionmaker() as session:
        after = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == (before or 0) + 1

"""Ambassadors: confirming reports about their buildings, filing for neighbours, seeing
their buildings' open reports, revocation, and their names on the building's page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth import service as auth
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import ApiKeyCreate
from service.city.models import Building
from service.config import Settings
from service.reports.models import Report
from tests.conftest import Mailbox, RunWorker
from tests.factories import accept_report, bearer, make_user, reason_by_code
from tests.training_factories import awarded_programme, make_ambassador, pilot_buildings


async def _door_report(
    client: AsyncClient,
    session: AsyncSession,
    headers: dict[str, str],
    building: uuid.UUID,
    **changes: Any,
) -> dict[str, Any]:
    reason = await reason_by_code(session, "entrance-door")
    body = {
        "reason_id": str(reason.id),
        "building_id": str(building),
        "description": "The door of the second entrance does not close.",
        "attributes": {"entrance": 2},
        **changes,
    }
    response = await client.post("/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    return filed


async def _accepted(session: AsyncSession, settings: Settings, report_id: str) -> Report:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await session.get(Report, uuid.UUID(report_id))
    assert report is not None
    return await accept_report(session, moderator, report)


async def test_ambassadors_confirm_reports_about_their_buildings(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    ours, theirs = await pilot_buildings(session, 2)
    ambassador = await make_ambassador(session, settings, ours)
    other = await make_ambassador(session, settings, theirs)
    resident = await make_user(session, settings, name="Naaber Nõmm")
    filed = await _door_report(client, session, bearer(settings, resident), ours)
    url = f"/v1/reports/{filed['id']}/confirm"
    # Not public yet: unknown to the ambassador.
    assert (await client.post(url, headers=bearer(settings, ambassador))).status_code == 404
    await _accepted(session, settings, filed["id"])

    assert (await client.post(url)).status_code == 401
    plain = await client.post(url, headers=bearer(settings, resident))
    assert plain.status_code == 403
    elsewhere = await client.post(url, headers=bearer(settings, other))
    assert elsewhere.status_code == 403
    assert elsewhere.json()["reason"] == "not_your_building"
    _, key = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name="app", scopes=["reports:write"], owner_id=ambassador.id),
        datetime.now(UTC),
    )
    assert (await client.post(url, headers={"X-API-Key": key})).status_code == 403

    confirmed = await client.post(url, headers=bearer(settings, ambassador))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["ambassador_confirmations"] == 1
    again = await client.post(url, headers=bearer(settings, ambassador))
    assert again.status_code == 409
    assert again.json()["reason"] == "already_confirmed"
    public = (await client.get(f"/v1/reports/{filed['id']}")).json()
    assert public["ambassador_confirmations"] == 1
    timeline = (await client.get(f"/v1/reports/{filed['id']}/timeline")).json()
    assert "ambassador_confirmed" in [event["type"] for event in timeline]

    # Their buildings' open reports, as the public sees them.
    listed = await client.get(
        "/v1/training/ambassador/reports", headers=bearer(settings, ambassador)
    )
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["items"]] == [filed["id"]]
    assert listed.json()["items"][0]["private"] is None
    assert resident.email not in listed.text
    none = await client.get("/v1/training/ambassador/reports", headers=bearer(settings, other))
    assert none.json()["items"] == []
    refused = await client.get(
        "/v1/training/ambassador/reports", headers=bearer(settings, resident)
    )
    assert refused.status_code == 403


async def test_ambassadors_file_for_neighbours_of_their_buildings(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    ours, theirs = await pilot_buildings(session, 2)
    ambassador = await make_ambassador(session, settings, ours, name="Jaan Tamm")
    headers = bearer(settings, ambassador)
    filed = await _door_report(client, session, headers, ours, on_behalf_of="naaber@example.org")
    # The answer is the public one: the helper sees no more of the neighbour than anyone.
    assert filed["private"] is None
    assert "naaber@example.org" not in str(filed)
    report = await session.get(Report, uuid.UUID(filed["id"]))
    assert report is not None
    neighbour = await session.get(User, report.reporter_id)
    assert neighbour is not None
    assert neighbour.email == "naaber@example.org"
    assert neighbour.contact_only
    assert report.helped_by_id == ambassador.id
    assert report.filed_on_behalf
    assert report.anonymous_public

    # Staff of the building's managing organisation see who helped.
    department_id = await session.scalar(
        select(Building.managing_org_id).where(Building.id == ours)
    )
    assert report.department_id == department_id
    staff = await make_user(session, settings, roles=((Role.staff, department_id),))
    staff_view = (
        await client.get(f"/v1/reports/{filed['id']}", headers=bearer(settings, staff))
    ).json()
    assert staff_view["private"]["helped_by_id"] == str(ambassador.id)
    assert staff_view["private"]["reporter"]["email"] == "naaber@example.org"
    timeline = (
        await client.get(f"/v1/reports/{filed['id']}/timeline", headers=bearer(settings, staff))
    ).json()
    assert timeline[0]["data"]["helped_by"] == str(ambassador.id)

    # The neighbour is told by email, naming the building rather than the helper.
    await run_worker()
    (message,) = mailbox.to("naaber@example.org")
    address = await session.scalar(select(Building.address).where(Building.id == ours))
    assert address is not None
    assert address in message.get_content()
    assert "Jaan Tamm" not in message.get_content()

    # Not about a building they are not ambassador of, and nobody else files for others.
    elsewhere = await client.post(
        "/v1/reports",
        json={
            "reason_id": filed["reason"]["id"],
            "building_id": str(theirs),
            "description": "Broken door.",
            "attributes": {"entrance": 1},
            "on_behalf_of": "naaber@example.org",
        },
        headers=headers,
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["reason"] == "not_your_building"
    resident = await make_user(session, settings)
    refused = await client.post(
        "/v1/reports",
        json={
            "reason_id": filed["reason"]["id"],
            "building_id": str(ours),
            "description": "Broken door.",
            "attributes": {"entrance": 1},
            "on_behalf_of": "naaber@example.org",
        },
        headers=bearer(settings, resident),
    )
    assert refused.status_code == 403
    yourself = await client.post(
        "/v1/reports",
        json={
            "reason_id": filed["reason"]["id"],
            "building_id": str(ours),
            "description": "Broken door.",
            "attributes": {"entrance": 1},
            "on_behalf_of": ambassador.email,
        },
        headers=headers,
    )
    assert yourself.status_code == 422
    # Helping counts against a quota of its own, not the ambassador's own filings.
    own = await _door_report(client, session, headers, ours)
    assert own["id"] != filed["id"]
    mine = await client.get("/v1/me/reports", headers=headers)
    assert [r["id"] for r in mine.json()["items"]] == [own["id"]]


async def test_programme_ambassadors_their_work_and_revocation(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    ours, theirs = await pilot_buildings(session, 2)
    first = await make_user(session, settings, name="Mari Maasikas")
    second = await make_user(session, settings, name="Olga Ivanova")
    programme, coordinator_headers, awards = await awarded_programme(
        app, client, session, settings, [(first, ours), (second, theirs)]
    )
    by_user = {a["user_id"]: a for a in awards}
    # The award made them ambassadors of their buildings: they confirm and help.
    resident = await make_user(session, settings)
    filed = await _door_report(client, session, bearer(settings, resident), ours)
    await _accepted(session, settings, filed["id"])
    confirmed = await client.post(
        f"/v1/reports/{filed['id']}/confirm", headers=bearer(settings, first)
    )
    assert confirmed.status_code == 200, confirmed.text
    await _door_report(
        client, session, bearer(settings, second), theirs, on_behalf_of="naaber@example.org"
    )
    stats = (await client.get(f"/v1/training/programmes/{programme['id']}/stats")).json()
    assert (stats["ambassadors"], stats["reports_helped"], stats["reports_confirmed"]) == (2, 1, 1)
    city = (await client.get("/v1/training/coverage")).json()
    assert city["covered"] == 2
    assert city["pilot_buildings"] > 100
    assert str(ours) not in {b["id"] for b in city["uncovered"]}

    # Revoking: the role, the diploma and the record end, audited; nobody else may.
    ambassador_id = by_user[str(first.id)]["ambassador_id"]
    url = f"/v1/training/ambassadors/{ambassador_id}/revoke"
    body = {"reason": "Moved out of the building."}
    resident_try = await client.post(url, json=body, headers=bearer(settings, resident))
    assert resident_try.status_code == 403
    revoked = await client.post(url, json=body, headers=coordinator_headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert (await client.post(url, json=body, headers=coordinator_headers)).status_code == 409
    code = by_user[str(first.id)]["diploma_code"]
    verified = (await client.get(f"/v1/diplomas/{code}")).json()
    assert (verified["genuine"], verified["revoked"]) == (False, True)
    other = await _door_report(client, session, bearer(settings, resident), ours)
    await _accepted(session, settings, other["id"])
    no_longer = await client.post(
        f"/v1/reports/{other['id']}/confirm", headers=bearer(settings, first)
    )
    assert no_longer.status_code == 403
    audit = (
        await session.execute(
            select(AuditEvent).where(AuditEvent.action == "training.ambassador_revoked")
        )
    ).scalar_one()
    assert audit.subject_id == ambassador_id
    assert audit.details["reason"] == "Moved out of the building."
    # Awarding again does not bring a revoked ambassadorship back.
    again = await client.post(
        f"/v1/training/programmes/{programme['id']}/awards", headers=coordinator_headers
    )
    assert again.json() == {"awarded": [], "already_awarded": 2}
    coverage = (await client.get(f"/v1/training/programmes/{programme['id']}/coverage")).json()
    assert (coverage["covered"], coverage["pilot_buildings"]) == (1, 2)


async def test_ambassadors_named_on_their_building_page_with_consent(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    (ours,) = await pilot_buildings(session, 1)
    person = await make_user(session, settings, name="Jüri Õunapuu")
    await awarded_programme(app, client, session, settings, [(person, ours)])
    page = f"/v1/training/buildings/{ours}/ambassadors"
    assert (await client.get(page)).json() == []
    mine = (await client.get("/v1/me/training", headers=bearer(settings, person))).json()
    ambassadorship = mine["programmes"][0]["ambassador"]["id"]
    stranger = await make_user(session, settings)
    url = f"/v1/me/ambassadorships/{ambassadorship}"
    refused = await client.patch(url, json={"public": True}, headers=bearer(settings, stranger))
    assert refused.status_code == 404
    agreed = await client.patch(url, json={"public": True}, headers=bearer(settings, person))
    assert agreed.status_code == 200
    (shown,) = (await client.get(page)).json()
    assert shown["display_name"] == "Jüri Õunapuu"
    assert set(shown) == {"display_name", "since", "programme_title"}


async def test_coordinators_see_reports_as_the_public(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Coordinators run programmes; a reporter's personal data stays hidden from them."""
    (ours,) = await pilot_buildings(session, 1)
    resident = await make_user(session, settings, name="Salajane Sass")
    filed = await _door_report(
        client, session, bearer(settings, resident), ours, anonymous_public=True
    )
    coordinator = await make_user(session, settings, roles=((Role.coordinator, None),))
    headers = bearer(settings, coordinator)
    assert (await client.get(f"/v1/reports/{filed['id']}", headers=headers)).status_code == 404
    await _accepted(session, settings, filed["id"])
    seen = await client.get(f"/v1/reports/{filed['id']}", headers=headers)
    assert seen.status_code == 200, seen.text
    assert seen.json()["private"] is None
    assert "Salajane" not in seen.text
    assert resident.email not in seen.text


async def test_revoking_keeps_the_role_another_programme_gave_for_the_same_building(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    (building,) = await pilot_buildings(session, 1)
    person = await make_user(session, settings, name="Mari Maasikas")
    _, first_headers, (first,) = await awarded_programme(
        app, client, session, settings, [(person, building)]
    )
    _, second_headers, (second,) = await awarded_programme(
        app, client, session, settings, [(person, building)]
    )

    async def grants() -> int:
        rows = await session.execute(
            select(RoleGrant.id).where(
                RoleGrant.user_id == person.id,
                RoleGrant.role == Role.ambassador,
                RoleGrant.building_id == building,
            )
        )
        return len(rows.all())

    async def revoke(award: dict[str, Any], headers: dict[str, str]) -> None:
        response = await client.post(
            f"/v1/training/ambassadors/{award['ambassador_id']}/revoke",
            json={"reason": "Enrolled with the wrong building."},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["revoked_at"] is not None

    assert await grants() == 1
    await revoke(first, first_headers)
    # The second programme's ambassadorship still stands, and with it the role.
    assert await grants() == 1
    still = (await client.get(f"/v1/diplomas/{second['diploma_code']}")).json()
    assert (still["genuine"], still["revoked"]) == (True, False)
    gone = (await client.get(f"/v1/diplomas/{first['diploma_code']}")).json()
    assert (gone["genuine"], gone["revoked"]) == (False, True)
    await revoke(second, second_headers)
    assert await grants() == 0

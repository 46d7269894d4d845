"""Who sees and does what with reports: API keys, coordinators, the reporter's timeline,
stale moderation, filing on behalf, closed reports, merges, the map's box and photo limits."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth import service as auth
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import ApiKeyCreate
from service.config import Settings
from service.errors import PayloadTooLarge
from service.mail.models import EmailMessage
from service.reports.mapview import refresh_cells
from service.reports.models import Report, ReportEvent
from service.reports.photos import clean_image
from service.reports.states import ReportState
from tests.conftest import Mailbox, RunWorker
from tests.factories import (
    ANNELINN,
    KESKLINN,
    PASSWORD,
    accept_report,
    bearer,
    file_report,
    make_user,
    reason_by_code,
)


async def _key(session: AsyncSession, owner: User, *scopes: str, name: str = "partner app") -> str:
    _, secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name=name, scopes=list(scopes), owner_id=owner.id),
        datetime.now(UTC),
    )
    return secret


async def _body(session: AsyncSession, **changes: Any) -> dict[str, Any]:
    reason = await reason_by_code(session, "pothole")
    return {
        "reason_id": str(reason.id),
        "lat": KESKLINN[0],
        "lon": KESKLINN[1],
        "description": "A deep pothole in front of the town hall.",
        "attributes": {"size": "large"},
        **changes,
    }


# --- API keys act only through their scopes ---------------------------------------------


async def test_an_admins_api_key_neither_moderates_nor_reads_private_reports(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    secret = await _key(session, admin, "reports:write", "reports:read")
    headers = {"X-API-Key": secret}
    queue = await client.get("/v1/moderation/queue", headers=headers)
    assert queue.status_code == 403
    assert queue.json()["reason"] == "api_key_not_allowed"
    bulk = await client.post(
        "/v1/moderation/bulk",
        json={
            "action": "reject",
            "items": [{"id": str(report.id), "version": 1}],
            "code": "abusive",
            "text": "x",
        },
        headers=headers,
    )
    assert bulk.status_code == 403
    assert (await client.get(f"/v1/reports/{report.id}", headers=headers)).status_code == 404
    # The admin in person still may.
    assert (
        await client.get("/v1/moderation/queue", headers=bearer(settings, admin))
    ).status_code == 200
    await session.refresh(report)
    assert report.state == ReportState.submitted


async def test_a_key_never_gains_a_role_its_owner_gets_later(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await make_user(session, settings)
    secret = await _key(session, owner, "reports:read")
    session.add_all(
        [RoleGrant(user_id=owner.id, role=role) for role in (Role.moderator, Role.admin)]
    )
    await session.flush()
    assert (
        await client.get("/v1/moderation/queue", headers={"X-API-Key": secret})
    ).status_code == 403
    assert (
        await client.get("/v1/moderation/queue", headers=bearer(settings, owner))
    ).status_code == 200


async def test_reports_private_is_grantable_and_reads_what_a_moderator_reads(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    created = await client.post(
        "/v1/api-keys",
        json={"name": "city CRM", "scopes": ["reports:private"]},
        headers=bearer(settings, admin),
    )
    assert created.status_code == 201, created.text
    headers = {"X-API-Key": created.json()["key"]}
    seen = await client.get(f"/v1/reports/{report.id}", headers=headers)
    assert seen.status_code == 200
    assert seen.json()["private"]["reporter"]["email"] == resident.email
    # Reading is not moderating.
    accept = await client.post(
        f"/v1/moderation/reports/{report.id}/accept", json={"version": 1}, headers=headers
    )
    assert accept.status_code == 403


async def test_support_and_subscribe_by_key_need_reports_write(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    owner = await make_user(session, settings)
    report = await accept_report(
        session, moderator, await file_report(session, await make_user(session, settings))
    )
    reader = {"X-API-Key": await _key(session, owner, "reports:read")}
    writer = {"X-API-Key": await _key(session, owner, "reports:write")}
    for path in ("support", "subscription"):
        refused = await client.put(f"/v1/reports/{report.id}/{path}", headers=reader)
        assert refused.status_code == 403
        assert refused.json()["reason"] == "missing_scope"
        assert (
            await client.put(f"/v1/reports/{report.id}/{path}", headers=writer)
        ).status_code == 200


# --- coordinators are a training role -----------------------------------------------------


async def test_coordinators_see_reports_as_the_public_does(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_user(session, settings, roles=((Role.coordinator, None),))
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    resident = await make_user(session, settings, name="Anna Anonüümne")
    headers = bearer(settings, coordinator)
    waiting = await file_report(session, resident)
    assert (await client.get(f"/v1/reports/{waiting.id}", headers=headers)).status_code == 404
    hidden = await accept_report(
        session, moderator, await file_report(session, resident, anonymous_public=True)
    )
    view = await client.get(f"/v1/reports/{hidden.id}", headers=headers)
    assert view.status_code == 200
    assert view.json()["private"] is None
    assert view.json()["reporter_name"] is None
    assert resident.email not in view.text
    assert "Anna" not in view.text
    listed = await client.get(
        "/v1/reports", params={"state": "submitted", "limit": 200}, headers=headers
    )
    assert listed.json()["items"] == []
    assert (await client.get("/v1/moderation/queue", headers=headers)).status_code == 403


# --- the reporter's timeline --------------------------------------------------------------


async def test_reporters_see_public_events_and_their_own_never_internal_notes(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, resident)
    accepted = await client.post(
        f"/v1/moderation/reports/{report.id}/accept",
        json={"version": 1, "note": "Caller sounded drunk; check twice"},
        headers=bearer(settings, moderator),
    )
    assert accepted.status_code == 200
    department = accepted.json()["department"]["id"]
    staff = await make_user(session, settings, roles=((Role.staff, uuid.UUID(department)),))

    def kinds(response: Any) -> list[str]:
        return [event["type"] for event in response.json()]

    own = await client.get(f"/v1/reports/{report.id}/timeline", headers=bearer(settings, resident))
    assert own.status_code == 200, own.text
    assert sorted(kinds(own)) == ["accept", "filed"]  # "filed" is theirs, though not public
    assert "drunk" not in own.text
    public = await client.get(f"/v1/reports/{report.id}/timeline")
    assert public.status_code == 200, public.text
    assert kinds(public) == ["accept"]
    assert "drunk" not in public.text
    for insider in (staff, moderator):
        seen = await client.get(
            f"/v1/reports/{report.id}/timeline", headers=bearer(settings, insider)
        )
        assert sorted(kinds(seen)) == ["accept", "filed", "note"]


# --- no edit slips past moderation ------------------------------------------------------


async def test_a_decision_on_a_version_the_reporter_changed_is_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    mod = bearer(settings, moderator)
    report = await file_report(session, resident)
    read = await client.get(f"/v1/reports/{report.id}", headers=mod)
    seen_tag = read.headers["ETag"]
    assert read.json()["version"] == 1
    edited = await client.patch(
        f"/v1/reports/{report.id}",
        json={"description": "Call me at 5550123, I sell cheap asphalt"},
        headers=bearer(settings, resident),
    )
    assert edited.status_code == 200
    assert edited.headers["ETag"] != seen_tag

    for path, body in (
        ("accept", {}),
        ("reject", {"code": "abusive", "text": "Advertising"}),
        ("duplicate", {"of": str((await file_report(session, resident)).id)}),
    ):
        stale = await client.post(
            f"/v1/moderation/reports/{report.id}/{path}",
            json=body,
            headers={**mod, "If-Match": seen_tag},
        )
        assert stale.status_code == 412, (path, stale.text)
        assert stale.json()["current_version"] == 2
        blind = await client.post(
            f"/v1/moderation/reports/{report.id}/{path}", json=body, headers=mod
        )
        assert blind.status_code == 428
    bulk = await client.post(
        "/v1/moderation/bulk",
        json={"action": "accept", "items": [{"id": str(report.id), "version": 1}]},
        headers=mod,
    )
    assert bulk.json()["results"][0]["status"] == 412
    queue = await client.get("/v1/moderation/queue", params={"limit": 200}, headers=mod)
    assert str(report.id) in [item["report"]["id"] for item in queue.json()["items"]]
    await session.refresh(report)
    assert report.state == ReportState.submitted
    fresh = await client.post(
        f"/v1/moderation/reports/{report.id}/accept", headers={**mod, "If-Match": '"2"'}
    )
    assert fresh.status_code == 200
    assert fresh.json()["version"] == 3


# --- filing on behalf --------------------------------------------------------------------


async def test_filing_on_behalf_answers_alike_for_known_and_unknown_addresses(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    partner = await make_user(session, settings)
    resident = await make_user(session, settings, name="Known Resident")
    headers = {"X-API-Key": await _key(session, partner, "reports:write", "reports:on_behalf")}
    known = await client.post(
        "/v1/reports", json=await _body(session, on_behalf_of=resident.email), headers=headers
    )
    stranger = f"new-{uuid.uuid4().hex[:8]}@example.org"
    unknown = await client.post(
        "/v1/reports", json=await _body(session, on_behalf_of=stranger), headers=headers
    )
    assert known.status_code == unknown.status_code == 201
    assert set(known.json()) == set(unknown.json())
    for answer in (known, unknown):
        assert answer.json()["private"] is None
        assert answer.json()["reporter_name"] is None
    assert str(resident.id) not in known.text
    contact = (
        await session.execute(select(User).where(func.lower(User.email) == stranger))
    ).scalar_one()
    assert contact.contact_only and contact.email_verified_at is None
    # A contact reporter cannot sign in, not even with an empty password.
    for password in ("", PASSWORD):
        login = await client.post(
            "/v1/auth/token", data={"username": stranger, "password": password}
        )
        assert login.status_code in (401, 422)

    await run_worker()
    letters = mailbox.to(stranger)
    assert len(letters) == 1
    text = letters[0].get_content()
    assert "partner app" in text
    link = re.search(r"http\S+/v1/reports/disown\?\S+", text)
    assert link is not None
    path = link.group(0).split("127.0.0.1:8000", 1)[-1].split("testserver", 1)[-1]
    page = await client.get(path)
    assert page.status_code == 200
    assert "Withdraw" in page.text
    report_id = uuid.UUID(unknown.json()["id"])
    assert (await session.get(Report, report_id)).state == ReportState.submitted  # type: ignore[union-attr]
    withdrawn = await client.post(path)
    assert withdrawn.status_code == 200
    await session.refresh(await session.get(Report, report_id))
    assert (await session.get(Report, report_id)).state == ReportState.withdrawn  # type: ignore[union-attr]
    assert (await client.post(path)).status_code == 404  # the link works once
    forged = f"/v1/reports/disown?report={report_id}&token={'x' * 43}"
    assert (await client.post(forged)).status_code == 404
    assert "token=" not in str(
        (await session.execute(select(EmailMessage.body_text))).scalars().all()
    )


async def test_on_behalf_filings_count_against_the_key_not_the_resident(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"api_key_report_quota_per_day": 2})
    partner = await make_user(session, settings)
    resident = await make_user(session, settings)
    headers = {"X-API-Key": await _key(session, partner, "reports:write", "reports:on_behalf")}
    body = await _body(session, on_behalf_of=resident.email)
    for remaining in (1, 0):
        filed = await client.post("/v1/reports", json=body, headers=headers)
        assert filed.status_code == 201
        assert filed.headers["RateLimit-Remaining"] == str(remaining)
    refused = await client.post("/v1/reports", json=body, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Limit"] == "2"
    # The resident's own quota is untouched.
    own = await client.post(
        "/v1/reports", json=await _body(session), headers=bearer(settings, resident)
    )
    assert own.status_code == 201
    assert own.headers["RateLimit-Remaining"] == "9"


# --- what the public sees of closed and merged reports ----------------------------------


async def test_closed_reports_show_no_reporter_name(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    resident = await make_user(session, settings, name="Karl Kinnine")
    report = await accept_report(session, moderator, await file_report(session, resident))
    assert (await client.get(f"/v1/reports/{report.id}")).json()["reporter_name"] == "Karl Kinnine"
    await session.execute(
        update(Report).where(Report.id == report.id).values(state=ReportState.closed)
    )
    closed = await client.get(f"/v1/reports/{report.id}")
    assert closed.status_code == 200, closed.text
    assert closed.json()["reporter_name"] is None
    assert "Karl" not in closed.text
    listed = await client.get("/v1/reports", params={"state": "closed", "limit": 200})
    assert listed.status_code == 200, listed.text
    assert "Karl Kinnine" not in listed.text


async def test_a_merge_never_names_an_unreviewed_report_in_public(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    mod = bearer(settings, moderator)
    resident = await make_user(session, settings)
    original = await accept_report(session, moderator, await file_report(session, resident))
    unreviewed = await file_report(session, await make_user(session, settings))
    merged = await client.post(
        f"/v1/moderation/reports/{unreviewed.id}/duplicate",
        json={"of": str(original.id), "version": 1},
        headers=mod,
    )
    assert merged.status_code == 200
    public = await client.get(f"/v1/reports/{original.id}/timeline")
    assert public.status_code == 200, public.text
    assert str(unreviewed.id) not in public.text
    assert unreviewed.tracking_code not in public.text
    assert "merged" in [event["type"] for event in public.json()]
    internal = await client.get(f"/v1/reports/{original.id}/timeline", headers=mod)
    assert str(unreviewed.id) in internal.text


async def test_duplicates_must_be_the_same_problem_unless_overridden(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    mod = bearer(settings, moderator)
    resident = await make_user(session, settings)
    pothole = await accept_report(session, moderator, await file_report(session, resident))
    lamp = await file_report(
        session, resident, reason_code="street-dirty", point=KESKLINN, attributes={}
    )
    unrelated = await client.post(
        f"/v1/moderation/reports/{lamp.id}/duplicate",
        json={"of": str(pothole.id), "version": 1},
        headers=mod,
    )
    assert unrelated.status_code == 409
    assert unrelated.json()["reason"] == "unrelated_reasons"
    far = await file_report(session, resident, point=ANNELINN)
    too_far = await client.post(
        f"/v1/moderation/reports/{far.id}/duplicate",
        json={"of": str(pothole.id), "version": 1},
        headers=mod,
    )
    assert too_far.status_code == 409
    assert too_far.json()["reason"] == "too_far_apart"
    assert too_far.json()["distance_m"] > 1000
    overridden = await client.post(
        f"/v1/moderation/reports/{far.id}/duplicate",
        json={
            "of": str(pothole.id),
            "version": 1,
            "override": "Same caller, pin dropped on the wrong side of town.",
        },
        headers=mod,
    )
    assert overridden.status_code == 200
    logged = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "report.duplicate_override",
                AuditEvent.subject_id == str(far.id),
            )
        )
    ).scalar_one()
    assert logged.actor_user_id == moderator.id
    assert "wrong side" in logged.details["justification"]


# --- the map and photos ---------------------------------------------------------------


async def test_a_world_box_at_street_zoom_is_clustered_coarsely(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"map_point_budget": 1})
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    resident = await make_user(session, settings)
    for point in (KESKLINN, ANNELINN, (KESKLINN[0] + 0.01, KESKLINN[1])):
        await accept_report(session, moderator, await file_report(session, resident, point=point))
    await refresh_cells(session)
    world = await client.get("/v1/map", params={"bbox": "-180,-90,180,90", "zoom": 16})
    assert world.status_code == 200
    body = world.json()
    assert body["clustered"] is True
    assert body["cluster_zoom"] <= 4  # 128 cells across the whole world
    # One cluster of the whole city, not one feature per 40 m cell.
    assert [f["properties"]["count"] for f in body["features"]] == [3]
    street = await client.get("/v1/map", params={"bbox": "26.70,58.37,26.76,58.39", "zoom": 16})
    assert street.json()["cluster_zoom"] == 16
    assert len(street.json()["features"]) == 2


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_small_file_of_many_pixels_is_refused_before_decoding() -> None:
    raw = _png(8000, 5000)
    assert len(raw) < 400_000
    with pytest.raises(PayloadTooLarge, match="114 MiB to decode; at most 64 MiB"):
        clean_image(raw, "image/png", 40_000_000, 64 * 2**20)


def test_large_jpegs_are_decoded_at_a_reduced_scale() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8000, 5000), (10, 120, 40)).save(out, format="JPEG", quality=50)
    # 8000×5000 RGB is 114 MiB; drafted to 1/2 it is 29 MiB, under a 40 MiB budget.
    cleaned = clean_image(out.getvalue(), "image/jpeg", 40_000_000, 40 * 2**20)
    assert max(cleaned.width, cleaned.height) <= 4096


async def test_photo_uploads_are_limited_per_person(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"photo_uploads_per_hour": 2})
    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    headers = bearer(settings, resident)
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(photo, format="JPEG")
    statuses = []
    for _ in range(3):
        response = await client.post(
            f"/v1/reports/{report.id}/photos",
            files={"file": ("p.jpg", photo.getvalue(), "image/jpeg")},
            headers=headers,
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429]
    assert int(response.headers["Retry-After"]) > 0
    events = await session.scalar(
        select(func.count())
        .select_from(ReportEvent)
        .where(ReportEvent.report_id == report.id, ReportEvent.type == "photo_added")
    )
    assert events == 2


async def test_registering_a_contact_reporters_address_claims_it_through_the_mailbox(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    partner = await make_user(session, settings)
    headers = {"X-API-Key": await _key(session, partner, "reports:write", "reports:on_behalf")}
    address = f"walk-in-{uuid.uuid4().hex[:8]}@example.org"
    filed = await client.post(
        "/v1/reports", json=await _body(session, on_behalf_of=address), headers=headers
    )
    assert filed.status_code == 201
    await run_worker()
    mailbox.messages.clear()
    # Whoever registers the address first does not get the reports: the password they
    # typed is dropped, and the mailbox's owner sets one through the emailed link.
    registered = await client.post(
        "/v1/auth/register",
        json={"email": address, "password": "an impostor's password", "display_name": "X"},
    )
    assert registered.status_code == 202
    login = {"username": address, "password": "an impostor's password"}
    assert (await client.post("/v1/auth/token", data=login)).status_code == 401
    dummy = {"username": address, "password": "not-a-real-password-only-for-equal-timing"}
    assert (await client.post("/v1/auth/token", data=dummy)).status_code == 401
    await run_worker()
    (letter,) = mailbox.to(address)
    code = re.search(r"(?:Code|Kood|Код): (\S+)", letter.get_content())
    assert code is not None
    done = await client.post(
        "/v1/auth/password-reset/confirm",
        json={"token": code.group(1), "new_password": "the owner's own secret"},
    )
    assert done.status_code == 204
    token = await client.post(
        "/v1/auth/token", data={"username": address, "password": "the owner's own secret"}
    )
    assert token.status_code == 200
    mine = await client.get(
        "/v1/me/reports", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert [item["id"] for item in mine.json()["items"]] == [filed.json()["id"]]
    owner = (
        await session.execute(select(User).where(func.lower(User.email) == address))
    ).scalar_one()
    await session.refresh(owner)
    assert owner.contact_only is False
    assert owner.email_verified_at is not None

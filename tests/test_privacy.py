"""Privacy (PRODUCT.md §9): export and erasure of a person's data, the retention of
reporters' contact data, and staff reads of personal data in the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

import service.wiring  # the registrations every entry point makes
from service.audit.models import AuditEvent
from service.audit.service import PERSONAL_DATA_READ
from service.auth import service as auth
from service.auth.contacts import contact_reporter
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import ApiKeyCreate
from service.auth.scopes import Scope
from service.config import Settings
from service.feedback.models import ReportRating
from service.ideas.models import (
    Idea,
    IdeaArea,
    IdeaAttachment,
    IdeaExpert,
    IdeaReview,
    IdeaState,
)
from service.mail.models import EmailMessage
from service.privacy import registry
from service.reports.lifecycle import record_event
from service.reports.models import Report, ReportEvent, ReportPhoto, ReportSupport
from service.reports.photos import MediaStore
from service.reports.states import ReportState
from service.training.models import Ambassador, Diploma
from tests.conftest import RunWorker
from tests.factories import PASSWORD, actor_of, bearer, file_report, make_user
from tests.feedback_setup import Cast, answered, cast, fresh
from tests.idea_factories import idea_body
from tests.training_factories import awarded_programme, pilot_buildings

NAME = "Mari Reporter"


async def _erase(client: AsyncClient, headers: dict[str, str], password: str = PASSWORD) -> Any:
    return await client.request("DELETE", "/v1/me", json={"password": password}, headers=headers)


async def _seen(
    client: AsyncClient, calls: list[tuple[str, dict[str, Any], dict[str, str]]]
) -> str:
    """Everything the endpoints answer, as one text."""
    texts = []
    for path, params, headers in calls:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
        texts.append(response.text)
    return "\n".join(texts)


async def _figures(client: AsyncClient) -> Any:
    """The public league table, without the instant it was computed at."""
    figures = (await client.get("/v1/stats/departments")).json()
    figures["period"].pop("generated_at")
    return figures


async def _ideas(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    people: Cast,
    admin: dict[str, str],
) -> tuple[str, str, str]:
    """The reporter's idea (naming her) and another author's idea she reviewed (her comment
    naming her), both waiting for the committee of an area of the roads service whose expert
    pool she is in; a stranger supports hers. Returns the area's and the two ideas' ids."""
    reporter = people.reporter
    area = await client.post(
        "/v1/idea-areas",
        json={"code": "privacy", "name": "Streets", "department_id": str(people.roads)},
        headers=admin,
    )
    assert area.status_code == 201, area.text
    area_id = area.json()["id"]
    pooled = await client.post(
        f"/v1/idea-areas/{area_id}/experts",
        json={"user_id": str(reporter.id), "organisation": "Tartu Rattaklubi"},
        headers=admin,
    )
    assert pooled.status_code == 200, pooled.text
    body = idea_body(
        area_id,
        f"Benches on the street of {NAME}",
        summary=f"Benches by the door of {NAME}; write to {reporter.email} for the plan.",
        tags=["benches", "mari"],
    )
    mine = await client.post("/v1/ideas", json=body, headers=bearer(settings, reporter))
    assert mine.status_code == 201, mine.text
    author = await make_user(session, settings, name="Another Author")
    theirs = await client.post(
        "/v1/ideas",
        json=idea_body(area_id, "Rain gardens along Riia street gutters"),
        headers=bearer(settings, author),
    )
    assert theirs.status_code == 201, theirs.text
    now = datetime.now(UTC)
    for idea_id in (mine.json()["id"], theirs.json()["id"]):
        await session.execute(
            update(Idea)
            .where(col(Idea.id) == idea_id)
            .values(
                state=IdeaState.committee,
                attempt=1,
                round=now.year,
                submitted_at=now,
                published_at=now,
                score_mean=4.0,
                design_comment=f"Approved; {NAME} answered every question."
                if idea_id == mine.json()["id"]
                else None,
            )
        )
    session.add(
        IdeaReview(
            idea_id=theirs.json()["id"],
            attempt=1,
            expert_id=reporter.id,
            assigned_at=now,
            due_at=now + timedelta(days=7),
            submitted_at=now,
            scores={"relevance": 4, "feasibility": 4, "impact": 4},
            score=4.0,
            comment=f"Good. {NAME} ({reporter.email}) walks there daily.",
        )
    )
    await session.flush()
    supported = await client.put(
        f"/v1/ideas/{mine.json()['id']}/support", headers=bearer(settings, people.stranger)
    )
    assert supported.status_code == 200, supported.text
    return area_id, mine.json()["id"], theirs.json()["id"]


async def test_erasure_removes_the_person_from_every_view_and_keeps_the_figures(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    reporter = people.reporter
    email = reporter.email
    report = await answered(session, people, settings, datetime.now(UTC) - timedelta(days=1))
    report.description = f"Hole by the door of {NAME}, write to {email}"
    session.add(ReportSupport(report_id=report.id, user_id=people.stranger.id))
    await session.flush()
    me = bearer(settings, reporter)
    rated = await client.post(
        f"/v1/reports/{report.id}/rating",
        json={"score": 4, "resolved": True, "comment": f"Thanks, {NAME} is happy"},
        headers=me,
    )
    assert rated.status_code in (200, 201), rated.text
    staff = bearer(settings, people.staff)
    moderator = bearer(settings, people.moderator)
    admin = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    calls: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (f"/v1/reports/{report.id}", {}, {}),
        (f"/v1/reports/{report.id}", {}, staff),
        (f"/v1/reports/{report.id}", {}, moderator),
        (f"/v1/reports/by-code/{report.tracking_code}", {}, staff),
        (f"/v1/reports/{report.id}/timeline", {}, staff),
        ("/v1/reports", {"department_id": str(people.roads)}, staff),
        (f"/v1/departments/{people.roads}/queue", {}, bearer(settings, people.supervisor)),
        ("/open311/v2/requests.json", {"service_request_id": str(report.id)}, {}),
        ("/v1/admin/users", {"q": "Mari"}, admin),
        ("/v1/open-data/reports.csv", {}, {}),
    ]
    assert (await client.get(f"/v1/admin/users/{reporter.id}", headers=admin)).status_code == 200
    area_id, idea_id, reviewed_id = await _ideas(client, session, settings, people, admin)
    office = bearer(settings, await make_user(session, settings, roles=((Role.idea_office, None),)))
    idea_calls: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (f"/v1/ideas/{idea_id}", {}, {}),
        (f"/v1/ideas/{idea_id}/timeline", {}, {}),
        ("/v1/ideas", {"area_id": area_id}, {}),
        ("/v1/ideas/map", {"area_id": area_id}, {}),
        ("/v1/idea-office/ideas", {"area_id": area_id}, office),
        (f"/v1/idea-office/ideas/{idea_id}", {}, office),
        (f"/v1/idea-office/ideas/{reviewed_id}", {}, office),
        (f"/v1/idea-areas/{area_id}/committee", {}, bearer(settings, people.supervisor)),
        (f"/v1/idea-areas/{area_id}/experts", {}, admin),
    ]
    calls += idea_calls
    before = await _seen(client, calls)
    assert email in before and NAME in before  # the walk does look where they were shown
    ideas_before = await _seen(client, idea_calls)
    assert email in ideas_before and NAME in ideas_before
    stats_before = await _figures(client)
    idea_stats_before = (await client.get("/v1/ideas/stats")).json()

    assert (await _erase(client, me, "wrong password")).status_code == 403
    response = await _erase(client, me)
    assert response.status_code == 204, response.text

    after = await _seen(client, calls)
    assert email not in after.lower() and email.lower() not in after.lower()
    assert str(reporter.id) not in after
    # The account's old id leads nowhere, not even for an admin.
    assert (await client.get(f"/v1/admin/users/{reporter.id}", headers=admin)).status_code == 404
    assert NAME not in after and "Mari" not in after
    assert await _figures(client) == stats_before
    assert (await client.get("/v1/ideas/stats")).json() == idea_stats_before
    # The ideas stay, anonymised, with their supports; her review keeps its scores.
    idea = (await client.get(f"/v1/ideas/{idea_id}")).json()
    assert idea["support_count"] == 1 and "[removed]" in idea["summary"]
    assert "mari" not in idea["tags"]
    review = await session.scalar(
        select(IdeaReview)
        .where(col(IdeaReview.idea_id) == reviewed_id)
        .execution_options(populate_existing=True)
    )
    assert review is not None and review.score == 4.0 and review.scores["impact"] == 4
    assert review.comment is not None and "[removed]" in review.comment
    # Held by the tombstone, under a new id: the idea's mean stays true.
    assert review.expert_id != reporter.id
    holder = await session.get(User, review.expert_id, populate_existing=True)
    assert holder is not None and holder.erased_at is not None
    pooled = await session.scalar(
        select(func.count()).where(col(IdeaExpert.user_id) == review.expert_id)
    )
    assert pooled == 0
    # The report stays, anonymised; the score stays, the comment goes.
    kept = await fresh(session, report)
    assert kept.state is not ReportState.withdrawn and "[removed]" in kept.description
    rating = await session.scalar(
        select(ReportRating).where(col(ReportRating.report_id) == report.id)
    )
    assert rating is not None and rating.score == 4 and rating.comment is None
    supporters = await session.scalar(
        select(func.count()).where(col(ReportSupport.report_id) == report.id)
    )
    assert supporters == 1
    # The account is gone: the old token, the password and the address.
    assert (await client.get("/v1/me", headers=me)).status_code == 401
    signin = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert signin.status_code in (400, 401)
    # The old id leads nowhere: the tombstone has a new one.
    assert await session.get(User, reporter.id, populate_existing=True) is None
    tombstone = await session.get(User, review.expert_id, populate_existing=True)
    assert tombstone is not None and tombstone.erased_at is not None
    assert tombstone.display_name == "" and tombstone.password_hash == ""
    mail = await session.scalar(
        select(func.count()).where(func.lower(col(EmailMessage.recipient)) == email.lower())
    )
    assert mail == 0
    # The address is free to register again.
    again = await client.post(
        "/v1/auth/register",
        json={"email": email, "password": "another long password 1", "display_name": "New"},
    )
    assert again.status_code == 202
    erased = await session.scalar(
        select(AuditEvent).where(
            col(AuditEvent.action) == "user.erased",
            col(AuditEvent.subject_id) == str(reporter.id),
        )
    )
    assert erased is not None and email not in json.dumps(erased.details)


async def test_erasure_is_refused_to_api_keys_and_to_the_citys_roles(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    staff = await make_user(session, settings, roles=((Role.staff, None),))
    refused = await _erase(client, bearer(settings, staff))
    assert refused.status_code == 409
    assert refused.json()["reason"] == "holds_roles"
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    _, secret = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="partner", scopes=list(Scope)),
        datetime.now(UTC),
    )
    assert (await _erase(client, {"X-API-Key": secret})).status_code == 403
    assert (await client.get("/v1/me/export", headers={"X-API-Key": secret})).status_code == 403
    assert (await _erase(client, {})).status_code == 401
    invalid = await client.request(
        "DELETE", "/v1/me", json={"password": ""}, headers=bearer(settings, admin)
    )
    assert invalid.status_code == 422
    still = await session.get(User, staff.id, populate_existing=True)
    assert still is not None and still.erased_at is None


async def test_an_ambassador_erasing_ends_the_ambassadorship_and_the_diploma_names_nobody(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    (building,) = await pilot_buildings(session, 1)
    holder = await make_user(session, settings, name="Liisa Saarepuu")
    _, coordinator_headers, (award,) = await awarded_programme(
        app, client, session, settings, [(holder, building)]
    )
    await run_worker()  # the diploma's PDF
    code = award["diploma_code"]
    pdf_path = await session.scalar(select(Diploma.pdf_path).where(Diploma.code == code))
    assert pdf_path is not None
    stored = MediaStore(settings.media_dir).path(pdf_path)
    assert stored.exists()
    assert (await client.get(f"/v1/diplomas/{code}")).json()["holder_name"] == "Liisa Saarepuu"
    ambassador_id = await session.scalar(
        select(Ambassador.id).where(col(Ambassador.user_id) == holder.id)
    )
    named = await client.patch(
        f"/v1/me/ambassadorships/{ambassador_id}",
        json={"public": True},
        headers=bearer(settings, holder),
    )
    assert named.status_code == 200, named.text
    before = await client.get(f"/v1/training/buildings/{building}/ambassadors")
    assert before.status_code == 200 and "Saarepuu" in before.text

    assert (await _erase(client, bearer(settings, holder))).status_code == 204

    verified = await client.get(f"/v1/diplomas/{code}")
    assert verified.status_code == 200
    assert verified.json()["revoked"] is True
    assert "Liisa" not in verified.text and "Saarepuu" not in verified.text
    assert not stored.exists()  # the erasure committed, so the file went with it
    pdf = await client.get(f"/v1/diplomas/{code}/pdf", headers=coordinator_headers)
    assert pdf.status_code in (404, 409, 410), pdf.text
    ambassadors = await client.get(f"/v1/training/buildings/{building}/ambassadors")
    assert ambassadors.status_code == 200
    assert "Saarepuu" not in ambassadors.text
    grants = await session.scalar(
        select(func.count()).select_from(RoleGrant).where(col(RoleGrant.user_id) == holder.id)
    )
    assert grants == 0


async def test_export_holds_everything_of_the_person_and_nobody_elses(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, datetime.now(UTC) - timedelta(days=1))
    other = await file_report(session, people.stranger, description="Someone else's words")
    me = bearer(settings, people.reporter)
    admin = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    area_id, _, reviewed_id = await _ideas(client, session, settings, people, admin)
    await client.post(
        f"/v1/reports/{report.id}/rating",
        json={"score": 2, "resolved": True, "comment": "Slow but done"},
        headers=me,
    )
    async with client.stream("GET", "/v1/me/export", headers=me) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    export = json.loads(body)
    assert set(export) >= {"account", "reports", "ratings", "training", "ideas", "notifications"}
    assert [i["title"] for i in export["ideas"]["proposed"]] == [f"Benches on the street of {NAME}"]
    assert [r["idea_id"] for r in export["ideas"]["reviews"]] == [reviewed_id]
    assert export["ideas"]["reviews"][0]["scores"] == {
        "relevance": 4,
        "feasibility": 4,
        "impact": 4,
    }
    assert [p["area_id"] for p in export["ideas"]["expert_pools"]] == [area_id]
    assert "Rain gardens" not in body.decode()  # the reviewed idea is someone else's
    assert export["account"]["profile"]["email"] == people.reporter.email
    assert [r["tracking_code"] for r in export["reports"]["filed"]] == [report.tracking_code]
    assert export["ratings"][0]["comment"] == "Slow but done"
    assert other.tracking_code not in body.decode()
    logged = await session.scalar(
        select(func.count()).where(
            col(AuditEvent.action) == "user.exported",
            col(AuditEvent.subject_id) == str(people.reporter.id),
        )
    )
    assert logged == 1
    assert (await client.get("/v1/me/export")).status_code == 401


async def _closed_contact_report(
    session: AsyncSession, settings: Settings, closed_at: datetime
) -> tuple[Report, User]:
    contact = await contact_reporter(session, "neighbour-contact@example.org", "et")
    report = await file_report(session, contact, description="Broken bench")
    record_event(
        session,
        report,
        actor_of(contact),
        "contact_details",
        closed_at,
        public=False,
        first_name="Ants",
        last_name="Naaber",
        phone="+372 5555 1234",
    )
    report.state = ReportState.closed
    report.closed_at = report.updated_at = closed_at
    await session.flush()
    return report, contact


async def test_retention_removes_contact_data_of_closed_reports_after_the_period(
    session: AsyncSession, settings: Settings, redis: Any, run_worker: RunWorker
) -> None:
    closed_at = datetime(2026, 1, 5, 12, tzinfo=UTC)
    report, contact = await _closed_contact_report(session, settings, closed_at)
    resident = await make_user(session, settings, name="Kai Account")
    own = await file_report(session, resident, description="Dark street lamp")
    own.state = ReportState.closed
    own.closed_at = own.updated_at = closed_at
    await session.flush()
    period = timedelta(days=settings.contact_retention_days)

    async def sweep_at(moment: datetime) -> None:
        await redis.enqueue_job("retention_sweep")
        await run_worker(clock=lambda: moment)

    await sweep_at(closed_at + period - timedelta(hours=1))
    details = await session.scalar(
        select(ReportEvent)
        .where(col(ReportEvent.report_id) == report.id, col(ReportEvent.type) == "contact_details")
        .execution_options(populate_existing=True)
    )
    assert details is not None and details.data["phone"] == "+372 5555 1234"

    await sweep_at(closed_at + period + timedelta(hours=1))
    await session.refresh(details)
    assert details.data == {"removed": True}
    # The contact's account is a tombstone under a new id; the old id leads nowhere.
    assert await session.get(User, contact.id, populate_existing=True) is None
    filed_by = await session.scalar(
        select(col(Report.reporter_id))
        .where(col(Report.id) == report.id)
        .execution_options(populate_existing=True)
    )
    assert filed_by is not None and filed_by != contact.id
    erased = await session.get(User, filed_by, populate_existing=True)
    assert erased is not None and erased.erased_at is not None
    assert "neighbour-contact" not in erased.email
    # A resident with an account keeps their account and their report.
    account = await session.get(User, resident.id, populate_existing=True)
    assert account is not None and account.erased_at is None
    kept = await session.get(Report, own.id, populate_existing=True)
    assert kept is not None and kept.reporter_id == resident.id
    assert kept.contact_removed_at is not None


async def test_staff_reads_of_personal_data_are_audited(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, datetime.now(UTC) - timedelta(days=1))

    async def reads() -> list[AuditEvent]:
        rows = await session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.action) == PERSONAL_DATA_READ)
            .order_by(col(AuditEvent.id))
        )
        return list(rows.scalars())

    await client.get(f"/v1/reports/{report.id}")  # the public: nothing personal shown
    await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, people.reporter))
    assert await reads() == []
    await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, people.staff))
    events = await reads()
    assert len(events) == 1
    assert events[0].actor_user_id == people.staff.id
    assert events[0].subject_type == "report" and events[0].subject_id == str(report.id)
    assert "reporter.email" in events[0].details["fields"]
    await client.get(
        "/v1/reports",
        params={"department_id": str(people.roads)},
        headers=bearer(settings, people.moderator),
    )
    listed = (await reads())[-1]
    assert listed.actor_user_id == people.moderator.id
    assert str(report.id) in listed.details["subjects"]
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    await client.get(f"/v1/admin/users/{people.reporter.id}", headers=bearer(settings, admin))
    user_read = (await reads())[-1]
    assert user_read.subject_type == "user"
    assert user_read.subject_id == str(people.reporter.id)


async def test_coordinators_reading_rosters_and_participants_are_audited(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    (building,) = await pilot_buildings(session, 1)
    learner = await make_user(session, settings, name="Tiit Õppija")
    programme, coordinator_headers, _ = await awarded_programme(
        app, client, session, settings, [(learner, building)]
    )

    async def read_subjects() -> list[list[str]]:
        rows = await session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.action) == PERSONAL_DATA_READ)
            .order_by(col(AuditEvent.id))
        )
        return [event.details["subjects"] for event in rows.scalars()]

    # Setting the roster answered with it: that was a read too.
    assert await read_subjects() == [[str(learner.id)]]
    listed = await client.get(
        f"/v1/training/programmes/{programme['id']}/participants", headers=coordinator_headers
    )
    assert listed.status_code == 200 and "Tiit Õppija" in listed.text
    assert await read_subjects() == [[str(learner.id)]] * 2
    shown = await client.get(
        f"/v1/training/programmes/{programme['id']}", headers=coordinator_headers
    )
    session_id = shown.json()["sessions"][0]["id"]
    roster = await client.get(
        f"/v1/training/sessions/{session_id}/attendance", headers=coordinator_headers
    )
    assert roster.status_code == 200 and "Tiit Õppija" in roster.text
    assert await read_subjects() == [[str(learner.id)]] * 3


def test_every_package_with_personal_data_is_registered_and_the_account_is_erased_last() -> None:
    """``service.wiring``, which the app, the worker and the command line import, registers
    every ``service/<package>/personal_data.py``: a package left out would be neither
    exported nor erased."""
    root = Path(service.wiring.__file__).parent
    declared = {
        path.parent.name: import_module(f"service.{path.parent.name}.personal_data").PERSONAL_DATA
        for path in root.glob("*/personal_data.py")
    }
    assert set(declared) >= {"auth", "reports", "feedback", "training", "ideas", "notifications"}
    steps = registry.steps()
    unregistered = [name for name, part in declared.items() if all(s is not part for s in steps)]
    assert unregistered == []
    assert len(steps) == len(declared)
    # The account's step blanks the name and address the others redact with.
    assert [step.section for step in steps if step.erased_last] == ["account"]
    assert steps[-1] is declared["auth"]


async def _tables_naming(session: AsyncSession, value: str) -> list[str]:
    """Every table and column (uuid or text) that holds ``value``, the audit log apart."""
    columns = (
        await session.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN ('uuid', 'text', "
                "'character varying', 'jsonb') AND table_name NOT IN ('audit_event', "
                "'alembic_version')"
            )
        )
    ).all()
    found = []
    for table, column, data_type in columns:
        condition = (
            f'"{column}" = CAST(:value AS uuid)'
            if data_type == "uuid"
            else f'CAST("{column}" AS text) LIKE :pattern'
        )
        hits = await session.scalar(
            text(f'SELECT count(*) FROM "{table}" WHERE {condition}'),  # noqa: S608
            {"value": value, "pattern": f"%{value}%"},
        )
        if hits:
            found.append(f"{table}.{column}")
    return found


async def test_erasure_withdraws_consent_deletes_photos_and_attachments_and_breaks_the_id(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    """A resident files with a photo, lets the open data show the text, proposes an idea
    with an attachment, then erases the account: the text leaves the open data, the photo
    and the attachment are gone (rows at once, files by the media sweep), and the old id is
    found in no table but the append-only audit log."""
    from tests.test_photos import jpeg_with_gps

    people = await cast(session, settings)
    reporter = people.reporter
    me = bearer(settings, reporter)
    old_id = str(reporter.id)
    report = await file_report(
        session, reporter, description="Broken step, call 5551 2345, flat 12."
    )
    uploaded = await client.post(
        f"/v1/reports/{report.id}/photos",
        files={"file": ("step.jpg", jpeg_with_gps(), "image/jpeg")},
        headers=me,
    )
    assert uploaded.status_code == 201, uploaded.text
    consent = await client.patch(
        f"/v1/reports/{report.id}", json={"text_in_open_data": True}, headers=me
    )
    assert consent.status_code == 200, consent.text
    moderator = actor_of(people.moderator, (Role.moderator, None))
    from service.reports import moderation
    from service.reports.schemas import AcceptRequest

    await moderation.accept(
        session, moderator, report.id, AcceptRequest(), datetime.now(UTC), version=None
    )
    area = IdeaArea(
        code="erasure-benches",
        name="Benches",
        department_id=people.roads,
        min_reviews=1,
        criteria=["relevance", "feasibility", "impact"],
    )
    session.add(area)
    await session.flush()
    idea = Idea(
        area_id=area.id,
        author_id=reporter.id,
        title="Benches by the river",
        state=IdeaState.draft,
        attempt=1,
        round=2027,
    )
    session.add(idea)
    await session.flush()
    media = MediaStore(settings.media_dir)
    attachment_path = f"ideas/{idea.id}/plan.jpg"
    media.write(attachment_path, jpeg_with_gps())
    session.add(
        IdeaAttachment(
            idea_id=idea.id,
            kind="photo",
            content_type="image/jpeg",
            size_bytes=10,
            sha256="0" * 64,
            path=attachment_path,
        )
    )
    await session.flush()
    photo = await session.scalar(select(ReportPhoto).where(col(ReportPhoto.report_id) == report.id))
    assert photo is not None and media.path(photo.path).exists()
    opened = await client.get("/v1/open-data/reports.csv")
    assert opened.status_code == 200 and "5551 2345" in opened.text

    erased = await _erase(client, me)
    assert erased.status_code == 204, erased.text

    opened = await client.get("/v1/open-data/reports.csv")
    assert opened.status_code == 200 and "5551 2345" not in opened.text
    kept = await fresh(session, report)
    assert kept.text_in_open_data is False and kept.photo_count == 0
    photos_left = select(func.count()).where(col(ReportPhoto.report_id) == report.id)
    assert await session.scalar(photos_left) == 0
    assert (
        await session.scalar(select(func.count()).where(col(IdeaAttachment.idea_id) == idea.id))
        == 0
    )
    shown = await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, people.staff))
    assert shown.status_code == 200 and shown.json()["photos"] == []
    assert await _tables_naming(session, old_id) == []
    # The media sweep deletes the files no row refers to any more.
    from service.reports.photos import sweep_orphans
    from workers.reports import MEDIA_STORES

    removed = await sweep_orphans(
        session, settings, datetime.now(UTC) + timedelta(hours=2), timedelta(hours=1), MEDIA_STORES
    )
    assert removed >= 2
    assert not media.path(photo.path).exists() and not media.path(attachment_path).exists()

"""The staff console's department queue and report workspace: the queue of the person's
departments with its filters in the address, keyset pages and a bulk action with a result per
report; the workspace's forms doing what the department work API does, refusing a stale form
with the API's 412, and the reporter's contact shown only on demand, audited as the API's
staff read."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import AuditEvent
from service.auth.models import Role, User
from service.config import Settings
from service.feedback import templates
from service.feedback.schemas import TemplateCreate, TemplateTexts
from service.languages import Language
from service.queues import repository as queue_repository
from service.reports.models import Report, ReportEvent
from service.reports.states import ReportState
from tests.factories import bearer, make_user
from tests.queue_factories import accepted_report, department_id, person
from tests.web_pages import csrf_of, sign_in


async def _cast(session: AsyncSession, settings: Settings) -> dict[str, User]:
    return {
        "resident": await make_user(session, settings),
        "moderator": await person(session, settings, Role.moderator),
        "staff": await person(session, settings, Role.staff, "roads"),
        "colleague": await person(session, settings, Role.staff, "roads"),
        "stranger": await person(session, settings, Role.staff, "greenery"),
    }


async def _fresh(session: AsyncSession, report: Report) -> Report:
    await session.refresh(report)
    return report


async def _post(
    client: AsyncClient, page: str, action: str, fields: dict[str, str]
) -> tuple[str, object]:
    opened = await client.get(page)
    assert opened.status_code == 200, opened.text
    answer = await client.post(action, data={"csrf_token": csrf_of(opened), **fields})
    return opened.text, answer


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found
    return found.group(1)


async def _act(
    client: AsyncClient, report: Report, action: str, fields: dict[str, str] | None = None
) -> object:
    page = f"/staff/reports/{report.id}"
    opened = await client.get(page)
    assert opened.status_code == 200, opened.text
    data = {"csrf_token": csrf_of(opened), "version": _version(opened.text), **(fields or {})}
    return await client.post(f"{page}/{action}", data=data)


async def test_staff_see_their_departments_queue_and_not_another_departments_reports(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    roads = await department_id(session, "roads")

    await sign_in(client, people["staff"].email)
    queue = await client.get("/staff/queue")
    assert queue.status_code == 200, queue.text
    assert report.tracking_code in queue.text
    assert '<th scope="col">' in queue.text and '<th scope="row">' in queue.text
    assert f'href="/staff/reports/{report.id}"' in queue.text
    # The reporter's contact never appears in a list.
    assert people["resident"].email not in queue.text
    workspace = await client.get(f"/staff/reports/{report.id}")
    assert workspace.status_code == 200
    assert "<h1>" in workspace.text and workspace.text.count("<h1>") == 1
    assert people["resident"].email not in workspace.text
    await client.post("/sign-out", data={"csrf_token": csrf_of(workspace)})

    # Staff of another department: the API answers 403 for the queue, 404 for the report;
    # the pages answer the same.
    api_queue = await client.get(
        f"/v1/departments/{roads}/queue", headers=bearer(settings, people["stranger"])
    )
    api_claim = await client.post(
        f"/v1/reports/{report.id}/claim", headers=bearer(settings, people["stranger"])
    )
    assert (api_queue.status_code, api_claim.status_code) == (403, 404)
    await sign_in(client, people["stranger"].email)
    own = await client.get("/staff/queue")
    assert own.status_code == 200 and report.tracking_code not in own.text
    other_queue = await client.get(f"/staff/queue?department={roads}")
    assert other_queue.status_code == 403
    assert other_queue.headers["content-type"].startswith("text/html")
    other_report = await client.get(f"/staff/reports/{report.id}")
    assert other_report.status_code == 404
    assert report.tracking_code not in other_report.text
    form = await client.post(
        f"/staff/reports/{report.id}/claim",
        data={"csrf_token": csrf_of(own), "version": str(report.version)},
    )
    assert form.status_code == 404
    assert (await _fresh(session, report)).assignee_id is None
    missing = await client.get(f"/staff/reports/{uuid.uuid4()}")
    assert missing.status_code == 404


async def test_residents_get_the_403_page_and_the_signed_out_go_to_sign_in(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    for path in ("/staff/queue", f"/staff/reports/{report.id}"):
        answer = await client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in?next=%2Fstaff%2F")
    await sign_in(client, people["resident"].email)
    for path in ("/staff/queue", f"/staff/reports/{report.id}"):
        answer = await client.get(path)
        assert answer.status_code == 403
        assert "Teil ei ole õigust seda lehte avada." in answer.text
    # Their own report is no workspace of theirs either: the form is refused.
    opened = await client.get("/sign-in?next=/")
    refused = await client.post(
        f"/staff/reports/{report.id}/claim",
        data={"csrf_token": csrf_of(await client.get("/")), "version": "1"},
    )
    assert opened.status_code in (200, 303) and refused.status_code == 403


async def test_filters_in_the_address_narrow_the_queue_and_pages_follow_the_cursor(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    now = datetime.now(UTC)
    lamp = await accepted_report(
        session,
        people["resident"],
        people["moderator"],
        description="A wobbly kerbstone by the library.",
        due_at=now - timedelta(hours=2),
    )
    hole = await accepted_report(
        session,
        people["resident"],
        people["moderator"],
        description="A deep pothole by the bakery.",
        due_at=now + timedelta(days=3),
    )
    await sign_in(client, people["staff"].email)

    by_text = await client.get("/staff/queue", params={"text": "bakery"})
    assert hole.tracking_code in by_text.text and lamp.tracking_code not in by_text.text
    overdue = await client.get("/staff/queue", params={"overdue": "true"})
    assert lamp.tracking_code in overdue.text and hole.tracking_code not in overdue.text
    # The filter is kept in the form (a view can be bookmarked and changed).
    assert '<option value="true" selected>' in overdue.text

    claimed = await client.post(
        f"/v1/reports/{hole.id}/claim", headers=bearer(settings, people["staff"])
    )
    assert claimed.status_code == 200
    mine = await client.get("/staff/queue", params={"assignee": "me"})
    assert hole.tracking_code in mine.text and lamp.tracking_code not in mine.text
    started = await client.get("/staff/queue", params={"state": "in_progress"})
    assert hole.tracking_code in started.text and lamp.tracking_code not in started.text
    accepted = await client.get("/staff/queue?state=accepted&state=reopened")
    assert lamp.tracking_code in accepted.text and hole.tracking_code not in accepted.text

    # Sorted by due time, one per page: the next page's link carries the filters.
    first = await client.get("/staff/queue", params={"limit": "1"})
    assert lamp.tracking_code in first.text and hole.tracking_code not in first.text
    link = re.search(r'href="(/staff/queue\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert link, first.text
    second = await client.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert hole.tracking_code in second.text and lamp.tracking_code not in second.text

    # Bad filters come back by their field, in Estonian, as the API refuses them.
    short = await client.get("/staff/queue", params={"text": "ab"})
    assert short.status_code == 422
    assert "See on liiga lühike." in short.text and 'id="error-text"' in short.text
    closed = await client.get("/staff/queue", params={"state": "closed"})
    assert closed.status_code == 422
    api = await client.get(
        f"/v1/departments/{await department_id(session, 'roads')}/queue",
        params={"text": "ab"},
        headers=bearer(settings, people["staff"]),
    )
    assert api.status_code == 422


async def test_a_bulk_assignment_gives_each_report_its_own_result(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    reports = [
        await accepted_report(session, people["resident"], people["moderator"]) for _ in range(3)
    ]
    roads = await department_id(session, "roads")
    await sign_in(client, people["staff"].email)
    queue = await client.get("/staff/queue")
    assert people["colleague"].display_name in queue.text
    stray = uuid.uuid4()
    picked = [str(r.id) for r in reports] + [str(stray)]

    # No colleague chosen: the form comes back with the error by the field.
    missing = await client.post(
        "/staff/queue/bulk",
        data={
            "csrf_token": csrf_of(queue),
            "department": str(roads),
            "action": "assign",
            "report_ids": picked[:2],
        },
    )
    assert missing.status_code == 422
    assert 'id="error-user_id"' in missing.text and "Valige kolleeg." in missing.text
    nothing = await client.post(
        "/staff/queue/bulk",
        data={
            "csrf_token": csrf_of(queue),
            "department": str(roads),
            "action": "assign",
            "user_id": str(people["colleague"].id),
        },
    )
    assert nothing.status_code == 422 and "Valige vähemalt üks teade." in nothing.text

    done = await client.post(
        "/staff/queue/bulk",
        data={
            "csrf_token": csrf_of(queue),
            "department": str(roads),
            "back": "overdue=false",
            "action": "assign",
            "user_id": str(people["colleague"].id),
            "report_ids": picked,
        },
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"/staff/queue?department={roads}&overdue=false")
    for report in reports:
        assert (await _fresh(session, report)).assignee_id == people["colleague"].id
    shown = await client.get(done.headers["location"])
    assert shown.status_code == 200
    results = shown.text.split('id="bulk-results-title"')[1].split("</section>")[0]
    assert results.count('class="result-ok"') == 3 and results.count('class="result-failed"') == 1
    for report in reports:
        assert report.tracking_code in results
    assert "Pole selles järjekorras" in results

    # Another department's queue: refused as the API refuses it.
    await client.post("/sign-out", data={"csrf_token": csrf_of(shown)})
    await sign_in(client, people["stranger"].email)
    opened = await client.get("/staff/queue")
    refused = await client.post(
        "/staff/queue/bulk",
        data={
            "csrf_token": csrf_of(opened),
            "department": str(roads),
            "action": "assign",
            "user_id": str(people["stranger"].id),
            "report_ids": picked[:1],
        },
    )
    assert refused.status_code == 403


async def test_claim_ask_and_answer_through_the_forms_change_the_report_like_the_api(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    people["resident"].language = Language.ru
    report = await accepted_report(session, people["resident"], people["moderator"])
    await templates.create_template(
        session,
        TemplateCreate(
            code="fixed-roads",
            department_id=await department_id(session, "roads"),
            outcome="fixed",
            texts=TemplateTexts(
                et="Parandatud: {tracking_code}.", ru="Исправлено: {tracking_code}."
            ),
        ),
    )
    await session.flush()
    await sign_in(client, people["staff"].email)

    claimed = await _act(client, report, "claim")
    assert claimed.status_code == 303  # type: ignore[attr-defined]
    assert claimed.headers["location"] == f"/staff/reports/{report.id}?done=claim"  # type: ignore[attr-defined]
    report = await _fresh(session, report)
    assert report.state == ReportState.in_progress
    assert report.assignee_id == people["staff"].id
    after = await client.get(claimed.headers["location"])  # type: ignore[attr-defined]
    assert "Te võtsite teate enda kätte." in after.text

    # A bad form comes back with the error by the field.
    empty = await _act(client, report, "ask", {"question": "  "})
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-ask-question"' in empty.text and "Täitke see väli." in empty.text  # type: ignore[attr-defined]

    asked = await _act(client, report, "ask", {"question": "Which side of the street?"})
    assert asked.status_code == 303  # type: ignore[attr-defined]
    report = await _fresh(session, report)
    assert report.state == ReportState.awaiting_info and report.paused_at is not None
    workspace = await client.get(f"/staff/reports/{report.id}")
    assert "Which side of the street?" in workspace.text

    internal = await _act(client, report, "note", {"text": "Crew B knows it.", "public": "false"})
    assert internal.status_code == 303  # type: ignore[attr-defined]
    notes = await session.scalars(
        select(ReportEvent).where(
            col(ReportEvent.report_id) == report.id, col(ReportEvent.type) == "note"
        )
    )
    assert [n.public for n in notes] == [False]

    replied = await client.post(
        f"/v1/reports/{report.id}/clarifications",
        json={"answer": "The north side."},
        headers=bearer(settings, people["resident"]),
    )
    assert replied.status_code == 200, replied.text

    # The template is previewed in the reporter's language and picked for the answer.
    workspace = await client.get(f"/staff/reports/{report.id}")
    assert f"Исправлено: {report.tracking_code}." in workspace.text
    assert "Crew B knows it." in workspace.text and "The north side." in workspace.text
    template_id = re.search(r'name="template_id" value="([0-9a-f-]{36})"', workspace.text)
    assert template_id
    answered = await _act(client, report, "answer", {"template_id": template_id.group(1)})
    assert answered.status_code == 303, answered.text  # type: ignore[attr-defined]
    report = await _fresh(session, report)
    assert report.state == ReportState.answered


async def test_a_stale_form_gets_the_conflict_message_and_loses_no_change(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    await sign_in(client, people["staff"].email)
    page = f"/staff/reports/{report.id}"
    opened = await client.get(page)
    seen = _version(opened.text)

    # A colleague takes the report meanwhile, through the API.
    taken = await client.post(
        f"/v1/reports/{report.id}/claim", headers=bearer(settings, people["colleague"])
    )
    assert taken.status_code == 200
    stale = await client.post(
        f"{page}/claim", data={"csrf_token": csrf_of(opened), "version": seen}
    )
    assert stale.status_code == 412
    assert "Keegi muutis seda teadet" in stale.text
    assert people["colleague"].display_name in stale.text
    assert (await _fresh(session, report)).assignee_id == people["colleague"].id

    # With the current version the API's own 409 answers: someone else works on it.
    conflict = await _act(client, report, "claim")
    assert conflict.status_code == 409  # type: ignore[attr-defined]
    assert "Seda teadet ei saa praegu nii muuta" in conflict.text  # type: ignore[attr-defined]
    assert "Selle teatega tegeleb keegi teine" in conflict.text  # type: ignore[attr-defined]
    assert (await _fresh(session, report)).assignee_id == people["colleague"].id

    # A form without its version is refused.
    unnamed = await client.post(f"{page}/start", data={"csrf_token": csrf_of(opened)})
    assert unnamed.status_code == 428


async def test_the_contact_is_shown_on_demand_and_its_read_audited_as_the_api_does(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])

    async def reads() -> list[AuditEvent]:
        rows = await session.scalars(
            select(AuditEvent).where(
                col(AuditEvent.action) == "personal_data.read",
                col(AuditEvent.subject_id) == str(report.id),
            )
        )
        return list(rows)

    await sign_in(client, people["staff"].email)
    for path in ("/staff/queue", f"/staff/reports/{report.id}"):
        answer = await client.get(path)
        assert answer.status_code == 200
        assert people["resident"].email not in answer.text
    assert await reads() == []
    shown = await client.get(f"/staff/reports/{report.id}", params={"contact": "show"})
    assert shown.status_code == 200
    assert people["resident"].email in shown.text
    events = await reads()
    assert len(events) == 1
    event = events[0]
    assert event.actor_user_id == people["staff"].id
    assert event.subject_type == "report"
    assert event.details["fields"] == ["reporter.display_name", "reporter.email"]

    # The API's staff read writes the same event.
    api = await client.get(f"/v1/reports/{report.id}", headers=bearer(settings, people["staff"]))
    assert api.json()["private"]["reporter"]["email"] == people["resident"].email
    events = await reads()
    assert len(events) == 2
    assert events[1].details["fields"] == event.details["fields"]
    total = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(col(AuditEvent.action) == "personal_data.read")
    )
    assert total == 2


async def test_colleagues_are_the_people_who_may_be_given_the_departments_reports(
    session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    head = await person(session, settings, Role.supervisor, "urban-economy")
    roads = await department_id(session, "roads")
    found = {p.id for p in await queue_repository.colleagues(session, roads)}
    assert {people["staff"].id, people["colleague"].id} <= found
    assert people["stranger"].id not in found and people["resident"].id not in found
    for user_id in found:
        assert await queue_repository.works_in(session, user_id, roads)
    # A supervisor above the department is a colleague too (as ``works_in`` says).
    assert head.id in found or not await queue_repository.works_in(session, head.id, roads)


async def test_assign_transfer_request_and_extension_forms_do_what_the_api_does(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await _cast(session, settings)
    report = await accepted_report(session, people["resident"], people["moderator"])
    greenery = await department_id(session, "greenery")
    await sign_in(client, people["staff"].email)

    # Only a colleague of the department: the service's refusal by the field.
    wrong = await _act(client, report, "assign", {"user_id": str(people["stranger"].id)})
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-assign-user_id"' in wrong.text  # type: ignore[attr-defined]
    assert "Täitja peab olema teate osakonna töötaja või juht." in wrong.text  # type: ignore[attr-defined]
    given = await _act(client, report, "assign", {"user_id": str(people["colleague"].id)})
    assert given.status_code == 303  # type: ignore[attr-defined]
    assert (await _fresh(session, report)).assignee_id == people["colleague"].id

    later = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    short = await _act(client, report, "extension", {"due_at": later, "justification": "no"})
    assert short.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-extension-justification"' in short.text  # type: ignore[attr-defined]
    extended = await _act(
        client,
        report,
        "extension",
        {"due_at": later, "justification": "The asphalt plant is closed until spring."},
    )
    assert extended.status_code == 303, extended.text  # type: ignore[attr-defined]

    asked = await _act(
        client,
        report,
        "transfer-request",
        {"to_department_id": str(greenery), "reason": "The hole is in the park's path."},
    )
    assert asked.status_code == 303, asked.text  # type: ignore[attr-defined]
    requests = await client.get(
        f"/v1/reports/{report.id}/timeline", headers=bearer(settings, people["staff"])
    )
    kinds = [event["type"] for event in requests.json()]
    assert "extension_requested" in kinds and "transfer_requested" in kinds

    # A staff member may not transfer directly: the form is not offered, the post refused.
    workspace = await client.get(f"/staff/reports/{report.id}")
    assert f'/staff/reports/{report.id}/transfer"' not in workspace.text
    direct = await _act(
        client,
        report,
        "transfer",
        {"to_department_id": str(greenery), "reason": "The hole is in the park's path."},
    )
    assert direct.status_code == 403  # type: ignore[attr-defined]
    assert (await _fresh(session, report)).department_id != greenery


async def test_the_workspace_shows_photos_through_the_pages_session(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    import io

    from PIL import Image

    from tests.factories import file_report

    cast = await _cast(session, settings)
    report = await file_report(session, cast["resident"])
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(picture, "JPEG")
    uploaded = await client.post(
        f"/v1/reports/{report.id}/photos",
        files={"file": ("photo.jpg", picture.getvalue(), "image/jpeg")},
        headers=bearer(settings, cast["resident"]),
    )
    assert uploaded.status_code == 201, uploaded.text
    shown = await client.get(
        f"/v1/reports/{report.id}", headers=bearer(settings, cast["moderator"])
    )
    accepted = await client.post(
        f"/v1/moderation/reports/{report.id}/accept",
        headers={**bearer(settings, cast["moderator"]), "If-Match": f'"{shown.json()["version"]}"'},
    )
    assert accepted.status_code == 200, accepted.text
    photo = f"/staff/reports/{report.id}/photos/{uploaded.json()['id']}"

    await sign_in(client, cast["staff"].email)
    workspace = await client.get(f"/staff/reports/{report.id}")
    assert workspace.status_code == 200
    assert f'src="{photo}?variant=thumbnail"' in workspace.text
    opened = await client.get(photo)
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "image/jpeg"

    # Another department's staff see it as the API shows them a public report's photo.
    api = await client.get(
        f"/v1/reports/{report.id}/photos/{uploaded.json()['id']}",
        headers=bearer(settings, cast["stranger"]),
    )
    client.cookies.clear()
    await sign_in(client, cast["stranger"].email)
    assert (await client.get(photo)).status_code == api.status_code
    client.cookies.clear()
    await sign_in(client, cast["resident"].email)
    assert (await client.get(photo)).status_code == 403


async def test_the_workspace_lists_open_reports_of_the_same_kind_close_by(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    cast = await _cast(session, settings)
    report = await accepted_report(session, cast["resident"], cast["moderator"])
    near = await accepted_report(
        session, cast["resident"], cast["moderator"], description="The same pothole again."
    )
    await sign_in(client, cast["staff"].email)
    page = await client.get(f"/staff/reports/{report.id}")
    assert page.status_code == 200
    assert f'href="/reports/{near.tracking_code}"' in page.text
    # The report itself is not its own neighbour.
    assert f'href="/reports/{report.tracking_code}"' not in page.text

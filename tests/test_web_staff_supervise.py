"""The supervisors' console pages: requests to decide (extensions, transfers, referrals) and
the department's figures by week, with their CSV — the same services, answers and access
rules as the API."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.errors import Forbidden
from service.feedback import ratings, responses
from service.feedback.schemas import RatingCreate, ResponseCreate
from service.queues import extensions, transfers
from service.queues.models import ExtensionRequest, RequestState, TransferRequest
from service.readable import readable_number
from service.reports.models import Report
from tests.factories import actor_of, bearer, make_department, make_user
from tests.feedback_setup import Cast, accepted, answered, cast, department_id, events_of, fresh
from tests.web_pages import csrf_of, post_form, sign_in


async def _extension(session: AsyncSession, people: Cast, report: Report) -> ExtensionRequest:
    staff = actor_of(people.staff, (Role.staff, people.roads))
    assert report.due_at is not None
    return await extensions.request_extension(
        session,
        staff,
        report.id,
        report.due_at + timedelta(days=10),
        "The asphalt plant reopens next month.",
        datetime.now(UTC),
    )


async def _transfer(
    session: AsyncSession, people: Cast, report: Report, to: uuid.UUID
) -> TransferRequest:
    staff = actor_of(people.staff, (Role.staff, people.roads))
    return await transfers.request_transfer(
        session, staff, report.id, to, "Tree roots lifted the asphalt.", datetime.now(UTC)
    )


async def test_a_supervisor_approves_an_extension_through_the_form_as_the_api_would(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - timedelta(hours=3))
    asked = await _extension(session, people, report)
    await sign_in(client, people.supervisor.email)
    page = await client.get(f"/staff/requests?department={people.roads}")
    assert page.status_code == 200
    assert '<html lang="et">' in page.text and "Tähtaja pikendamise taotlused" in page.text
    assert report.tracking_code in page.text and asked.justification in page.text
    assert f'href="/staff/queue?department={people.roads}"' in page.text
    assert f'href="/staff/reports/{report.id}"' in page.text

    # A note longer than the API takes comes back by its field, in Estonian; nothing changes.
    too_long = await client.post(
        f"/staff/requests/extensions/{asked.id}/approve",
        data={"csrf_token": csrf_of(page), "note": "x" * 2001, "department": str(people.roads)},
    )
    assert too_long.status_code == 422
    assert f'id="f-{asked.id}-note-error"' in too_long.text and "liiga pikk" in too_long.text
    await session.refresh(asked)
    assert asked.state == RequestState.pending

    approved = await post_form(
        client,
        f"/staff/requests?department={people.roads}",
        f"/staff/requests/extensions/{asked.id}/approve",
        {"note": "Agreed.", "department": str(people.roads)},
    )
    assert approved.status_code == 303, approved.text
    assert (
        approved.headers["location"]
        == f"/staff/requests?department={people.roads}&done=extension-approved"
    )
    # The API's view of it: accepted by the supervisor, the deadline moved, public.
    listed = await client.get(
        f"/v1/departments/{people.roads}/extension-requests?state=accepted",
        headers=bearer(settings, people.supervisor),
    )
    [view] = listed.json()["items"]
    assert view["id"] == str(asked.id)
    assert view["decided_by_id"] == str(people.supervisor.id)
    assert view["decision_note"] == "Agreed."
    assert (await fresh(session, report)).due_at == asked.requested_due_at
    extended = [e for e in await events_of(session, report.id) if e.type == "extension"]
    assert len(extended) == 1 and extended[0].public
    after = await client.get(approved.headers["location"])
    assert "Pikendus kinnitati" in after.text and asked.justification not in after.text

    # Deciding it again: the API's 409, said by the form, nothing else changes.
    again = await post_form(
        client,
        f"/staff/requests?department={people.roads}",
        f"/staff/requests/extensions/{asked.id}/decline",
        {"note": "", "department": str(people.roads)},
    )
    assert again.status_code == 409
    assert "Keegi otsustas selle juba" in again.text
    await session.refresh(asked)
    assert str(asked.state) == RequestState.accepted


async def test_a_supervisor_declines_a_transfer_request_to_their_department(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    greenery = await department_id(session, "greenery")
    greenery_head = await make_user(
        session, settings, roles=((Role.supervisor, greenery),), name="Greta Head"
    )
    report = await accepted(session, people, datetime.now(UTC) - timedelta(hours=3))
    asked = await _transfer(session, people, report, greenery)
    await sign_in(client, greenery_head.email)
    page = await client.get(f"/staff/requests?department={greenery}")
    assert page.status_code == 200
    assert report.tracking_code in page.text and "Tree roots lifted the asphalt." in page.text
    declined = await post_form(
        client,
        f"/staff/requests?department={greenery}",
        f"/staff/requests/transfers/{asked.id}/decline",
        {"note": "Roots are the road's own matter.", "department": str(greenery)},
    )
    assert declined.status_code == 303, declined.text
    # As the API's decline: declined by them with the note, the report stays in roads.
    view = await client.get(
        f"/v1/departments/{greenery}/transfer-requests?state=declined",
        headers=bearer(settings, greenery_head),
    )
    [item] = view.json()["items"]
    assert (item["id"], item["state"], item["decision_note"]) == (
        str(asked.id),
        "declined",
        "Roots are the road's own matter.",
    )
    assert item["decided_by_id"] == str(greenery_head.id)
    assert (await fresh(session, report)).department_id == people.roads
    assert "transfer_declined" in [e.type for e in await events_of(session, report.id)]
    # Resetting the clock belongs to accepting only: the API's 403 is the form's error.
    again = await _transfer(session, people, report, greenery)
    refused = await post_form(
        client,
        f"/staff/requests?department={greenery}",
        f"/staff/requests/transfers/{again.id}/decline",
        {"note": "", "reset_clock": "true", "department": str(greenery)},
    )
    assert refused.status_code == 403
    assert "Kella saab uuesti käivitada ainult üleandmist vastu võttev juht." in refused.text
    await session.refresh(again)
    assert again.state == RequestState.pending


async def test_another_departments_supervisor_gets_404_for_the_requests(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - timedelta(hours=3))
    extension = await _extension(session, people, report)
    greenery = await department_id(session, "greenery")
    transfer = await _transfer(session, people, report, greenery)
    elsewhere = await make_department(session)
    stranger_head = await make_user(session, settings, roles=((Role.supervisor, elsewhere.id),))
    await sign_in(client, stranger_head.email)
    own = await client.get("/staff/requests")
    assert own.status_code == 200
    assert report.tracking_code not in own.text
    for action in (
        f"/staff/requests/extensions/{extension.id}/approve",
        f"/staff/requests/extensions/{extension.id}/decline",
        f"/staff/requests/transfers/{transfer.id}/accept",
        f"/staff/requests/transfers/{transfer.id}/decline",
        f"/staff/requests/referrals/{report.id}/close",
        f"/staff/requests/extensions/{uuid.uuid4()}/approve",
    ):
        answer = await client.post(
            action, data={"csrf_token": csrf_of(own), "note": "Closing.", "department": ""}
        )
        assert answer.status_code == 404, action
        assert answer.headers["content-type"].startswith("text/html")
        assert "Siin ei ole midagi." in answer.text
    # Another department's list is the API's 403.
    other = await client.get(f"/staff/requests?department={people.roads}")
    assert other.status_code == 403
    await session.refresh(extension)
    await session.refresh(transfer)
    assert (extension.state, transfer.state) == (RequestState.pending, RequestState.pending)


async def test_staff_and_residents_get_the_403_page_and_strangers_sign_in(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    for path in ("/staff/requests", "/staff/kpis", "/staff/kpis.csv"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/sign-in?next=")
    for person in (people.staff, people.stranger):
        client.cookies.clear()
        await sign_in(client, person.email)
        for path in ("/staff/requests", "/staff/kpis", "/staff/kpis.csv"):
            answer = await client.get(path)
            assert answer.status_code == 403, (person.email, path)
            assert answer.headers["content-type"].startswith("text/html")
            assert "Teil ei ole õigust seda lehte avada." in answer.text


async def test_a_referred_report_is_closed_with_a_closing_word(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    now = datetime.now(UTC)
    report = await answered(session, people, settings, now - timedelta(hours=10))
    reporter = actor_of(people.reporter)
    staff = actor_of(people.staff, (Role.staff, people.roads))
    # Not resolved, twice reopened and answered again; the third "no" refers it.
    for hours in (8, 6):
        await ratings.rate(
            session,
            reporter,
            report.id,
            RatingCreate(score=1, resolved=False),
            now - timedelta(hours=hours),
            settings,
        )
        await responses.answer(
            session,
            staff,
            report.id,
            ResponseCreate.model_validate({"outcome": "fixed", "text": "Patched again."}),
            now - timedelta(hours=hours - 1),
            settings,
        )
    view, _ = await ratings.rate(
        session, reporter, report.id, RatingCreate(score=1, resolved=False), now, settings
    )
    assert view.consequence == "referred_to_supervisor"

    await sign_in(client, people.supervisor.email)
    page = await client.get(f"/staff/requests?department={people.roads}")
    assert report.tracking_code in page.text
    assert people.reporter.email not in page.text
    empty = await client.post(
        f"/staff/requests/referrals/{report.id}/close",
        data={"csrf_token": csrf_of(page), "note": " ", "department": str(people.roads)},
    )
    assert empty.status_code == 422
    assert "See on liiga lühike." in empty.text
    closed = await post_form(
        client,
        f"/staff/requests?department={people.roads}",
        f"/staff/requests/referrals/{report.id}/close",
        {"note": "We resurface the street in May.", "department": str(people.roads)},
    )
    assert closed.status_code == 303, closed.text
    assert (await fresh(session, report)).state == "closed"
    close_event = next(e for e in await events_of(session, report.id) if e.type == "close")
    assert close_event.data["note"] == "We resurface the street in May."
    after = await client.get(f"/staff/requests?department={people.roads}")
    assert report.tracking_code not in after.text


# --- KPIs -----------------------------------------------------------------------------------

CSV_FIELDS = (
    "received",
    "answered",
    "on_time",
    "on_time_percent",
    "median_answer_hours",
    "p90_answer_hours",
    "overdue_now",
    "ratings",
    "average_rating",
    "supporter_ratings",
    "supporters_average_rating",
    "reopened",
    "reopen_percent",
)


async def test_the_kpi_page_and_csv_show_the_apis_numbers(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    now = datetime.now(UTC)
    first = await answered(session, people, settings, now - timedelta(days=2, hours=3))
    await answered(session, people, settings, now - timedelta(days=9, hours=3))
    await accepted(session, people, now - timedelta(hours=5))
    await ratings.rate(
        session,
        actor_of(people.reporter),
        first.id,
        RatingCreate(score=4, resolved=True),
        now - timedelta(days=1),
        settings,
    )
    await sign_in(client, people.supervisor.email)
    page = await client.get(f"/staff/kpis?department={people.roads}&weeks=4")
    assert page.status_code == 200
    svgs = re.findall(r"<svg [^>]*>.*?</svg>", page.text, re.S)
    assert len(svgs) == 5
    for svg in svgs:
        assert 'role="img"' in svg
        labelled = re.search(r'aria-labelledby="([^" ]+) ', svg)
        assert labelled, svg[:200]
        title = re.search(rf'<title id="{labelled.group(1)}">([^<]+)</title>', svg)
        assert title and title.group(1).strip()
    assert "Vastatud õigel ajal" in page.text

    download = await client.get(f"/staff/kpis.csv?department={people.roads}&weeks=4")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 4
    api = bearer(settings, people.supervisor)
    totals = []
    for row in rows:
        answer = await client.get(
            f"/v1/departments/{people.roads}/stats",
            params={"from": row["from"], "to": row["to"]},
            headers=api,
        )
        assert answer.status_code == 200, answer.text
        total = answer.json()["total"]
        totals.append(total)
        for name in CSV_FIELDS:
            expected = "" if total[name] is None else str(total[name])
            assert row[name] == expected, (row["from"], name)
    # The figures are not all zero: the arranged reports count.
    assert sum(t["received"] for t in totals) == 3
    assert sum(t["answered"] for t in totals) == 2
    assert totals[-1]["ratings"] == 1 and totals[-1]["average_rating"] == 4.0
    # The table on the page holds the same numbers, written as the page writes numbers.
    table = page.text.split("<tbody>")[1].split("</tbody>")[0]
    last_row = table.split("<tr>")[-1]
    cells = re.findall(r"<td>([^<]*)</td>", last_row)
    expected_cells = [
        readable_number(totals[-1][name], "et") if totals[-1][name] is not None else "–"
        for name in (
            "received",
            "answered",
            "on_time",
            "on_time_percent",
            "median_answer_hours",
            "p90_answer_hours",
            "ratings",
            "average_rating",
            "reopened",
            "reopen_percent",
        )
    ]
    assert cells == expected_cells


async def test_the_kpis_of_another_department_are_the_apis_403(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    greenery = await department_id(session, "greenery")
    await sign_in(client, people.supervisor.email)
    for path in (f"/staff/kpis?department={greenery}", f"/staff/kpis.csv?department={greenery}"):
        assert (await client.get(path)).status_code == 403
    bad = await client.get(f"/staff/kpis?department={people.roads}&weeks=99")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("text/html")


async def test_the_referred_reports_are_read_by_supervisors_of_the_department_only(
    session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    greenery = await department_id(session, "greenery")
    now = datetime.now(UTC)
    staff = actor_of(people.staff, (Role.staff, people.roads))
    other_head = actor_of(
        await make_user(session, settings, roles=((Role.supervisor, greenery),)),
        (Role.supervisor, greenery),
    )
    for actor in (staff, other_head):
        with pytest.raises(Forbidden):
            await ratings.referred_reports(session, actor, people.roads, language="et", now=now)
    head = actor_of(people.supervisor, (Role.supervisor, people.roads))
    assert await ratings.referred_reports(session, head, people.roads, language="et", now=now) == []


async def test_the_kpis_of_a_week_at_the_calendars_ends_are_a_page_not_a_failure(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    await sign_in(client, people.supervisor.email)
    for path in ("/staff/kpis", "/staff/kpis.csv"):
        for last in ("0001-01-01", "0001-01-20", "9999-12-31"):
            answer = await client.get(f"{path}?department={people.roads}&weeks=4&to={last}")
            assert answer.status_code == 422, (path, last)
            assert answer.headers["content-type"].startswith("text/html")

"""A report's page: what the API shows this caller, and the reporter's and other people's
forms (answer a question, rate, withdraw, support, follow) through the API's services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role
from service.config import Settings
from service.queues import clarification
from service.reports.models import Report, ReportSubscription, ReportSupport
from service.reports.states import ReportState
from tests.factories import accept_report, actor_of, file_report, make_user
from tests.feedback_setup import accepted, answered, cast
from tests.web_pages import csrf_of, post_form, sign_in

EARLIER = timedelta(hours=3)


async def _state(session: AsyncSession, report: Report) -> str:
    await session.refresh(report)
    return str(report.state)


async def _post(
    client: AsyncClient, report: Report, action: str, fields: dict[str, str]
) -> Response:
    page = f"/reports/{report.tracking_code}"
    return await post_form(client, page, f"{page}/{action}", fields)


async def test_the_public_sees_the_public_view_and_never_the_reporters_email(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - EARLIER)
    page = await client.get(f"/reports/{report.tracking_code}")
    assert page.status_code == 200
    assert "A deep pothole by the crossing." in page.text
    assert "Mari Reporter" in page.text  # named: the reporter did not ask to be anonymous
    assert people.reporter.email not in page.text
    assert "Tähtaeg" in page.text  # the deadline, through the readable date filter
    assert page.text.count("<h1>") == 1
    assert "Logi sisse, et" in page.text  # support and follow need a sign-in
    # Another resident sees the same, and may support and follow; no reporter's forms.
    await sign_in(client, people.stranger.email)
    other = await client.get(f"/reports/{report.tracking_code}")
    assert people.reporter.email not in other.text
    assert "/support" in other.text and "/withdraw" not in other.text
    # Staff see the reporter's contact, as the API shows them.
    client.cookies.clear()
    await sign_in(client, people.staff.email)
    staff = await client.get(f"/reports/{report.tracking_code}")
    assert people.reporter.email in staff.text


async def test_an_anonymous_reporters_name_is_shown_to_nobody_else(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    filed = await file_report(session, people.reporter, anonymous_public=True)
    await accept_report(session, people.moderator, filed)
    page = await client.get(f"/reports/{filed.tracking_code}")
    assert page.status_code == 200
    assert "Mari Reporter" not in page.text and people.reporter.email not in page.text


async def test_an_unmoderated_report_is_the_reporters_alone(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await file_report(session, people.reporter)
    assert (await client.get(f"/reports/{report.tracking_code}")).status_code == 404
    await sign_in(client, people.stranger.email)
    other = await client.get(f"/reports/{report.tracking_code}")
    assert other.status_code == 404 and "Siin ei ole midagi." in other.text
    # Another person's action on it is a 404 too, as in the API.
    withdrawn = await post_form(client, "/", f"/reports/{report.tracking_code}/withdraw", {})
    assert withdrawn.status_code == 404
    client.cookies.clear()
    await sign_in(client, people.reporter.email)
    mine = await client.get(f"/reports/{report.tracking_code}")
    assert mine.status_code == 200
    assert "Ootab modereerimist" in mine.text
    # A draft says what it waits for.
    draft = await file_report(session, people.reporter, reason_code="dangerous-tree")
    assert draft.state == ReportState.draft
    waiting = await client.get(f"/reports/{draft.tracking_code}")
    assert "See mustand ootab fotot" in waiting.text


async def test_the_reporter_answers_the_departments_question(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - EARLIER)
    await clarification.ask(
        session,
        actor_of(people.staff, (Role.staff, people.roads)),
        report.id,
        "Which side of the street is it on?",
        datetime.now(UTC) - timedelta(hours=1),
    )
    # Signed out, the form's post leads to the sign-in page and back.
    signed_out = await post_form(
        client,
        "/sign-in",
        f"/reports/{report.tracking_code}/clarification",
        {"answer": "North side."},
    )
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in?next=")
    await sign_in(client, people.reporter.email)
    page = await client.get(f"/reports/{report.tracking_code}")
    assert "Which side of the street is it on?" in page.text
    assert 'action="/reports/' in page.text and "/clarification" in page.text
    empty = await _post(client, report, "clarification", {"answer": "  "})
    assert empty.status_code == 422
    assert 'id="error-answer"' in empty.text and "Täitke see väli." in empty.text
    assert await _state(session, report) == ReportState.awaiting_info
    sent = await _post(client, report, "clarification", {"answer": "North side."})
    assert sent.status_code == 303, sent.text
    assert await _state(session, report) == ReportState.in_progress
    after = await client.get(sent.headers["location"])
    assert "Teie vastus saadeti osakonnale." in after.text


async def test_not_resolved_reopens_and_a_rating_needs_its_verdict(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, datetime.now(UTC) - EARLIER)
    await sign_in(client, people.reporter.email)
    page = await client.get(f"/reports/{report.tracking_code}")
    assert "Patched." in page.text  # the published answer
    assert "avatakse osakonnale uuesti" in page.text  # what "not resolved" does, said beside it
    missing = await _post(client, report, "rating", {"score": "2"})
    assert missing.status_code == 422
    assert 'id="error-resolved"' in missing.text
    assert await _state(session, report) == ReportState.answered
    rated = await _post(client, report, "rating", {"resolved": "false", "score": "2"})
    assert rated.status_code == 303, rated.text
    assert await _state(session, report) == ReportState.reopened


async def test_resolved_closes_the_report(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await answered(session, people, settings, datetime.now(UTC) - EARLIER)
    await sign_in(client, people.stranger.email)
    # Not the reporter nor a supporter: no rating form, and the service refuses the post.
    page = await client.get(f"/reports/{report.tracking_code}")
    assert "/rating" not in page.text
    refused = await _post(client, report, "rating", {"resolved": "true", "score": "5"})
    assert refused.status_code == 403
    assert await _state(session, report) == ReportState.answered
    client.cookies.clear()
    await sign_in(client, people.reporter.email)
    rated = await _post(client, report, "rating", {"resolved": "true", "score": "5"})
    assert rated.status_code == 303, rated.text
    assert await _state(session, report) == ReportState.closed


async def test_the_reporter_withdraws_and_others_support_and_follow(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - EARLIER)
    neighbour = await make_user(session, settings, name="Naaber")
    await sign_in(client, neighbour.email)
    supported = await _post(client, report, "support", {"on": "1"})
    assert supported.status_code == 303, supported.text
    supports = await session.scalars(
        select(ReportSupport).where(col(ReportSupport.report_id) == report.id)
    )
    assert [s.user_id for s in supports] == [neighbour.id]
    page = await client.get(supported.headers["location"])
    assert "Võtan toetuse tagasi" in page.text
    unfollowed = await _post(client, report, "subscription", {"on": "0"})
    assert unfollowed.status_code == 303
    follows = await session.scalars(
        select(ReportSubscription.user_id).where(col(ReportSubscription.report_id) == report.id)
    )
    assert neighbour.id not in list(follows)
    client.cookies.clear()
    await sign_in(client, people.reporter.email)
    mine = await client.get(f"/reports/{report.tracking_code}")
    assert "/support" not in mine.text  # one does not support one's own report
    withdrawn = await _post(client, report, "withdraw", {})
    assert withdrawn.status_code == 303, withdrawn.text
    assert await _state(session, report) == ReportState.withdrawn
    again = await client.get(f"/reports/{report.tracking_code}")
    assert "/withdraw" not in again.text


async def test_a_form_without_its_token_changes_nothing(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await accepted(session, people, datetime.now(UTC) - EARLIER)
    await sign_in(client, people.reporter.email)
    page = await client.get(f"/reports/{report.tracking_code}")
    assert csrf_of(page)
    forged = await client.post(f"/reports/{report.tracking_code}/withdraw", data={})
    assert forged.status_code == 403
    assert await _state(session, report) == ReportState.accepted

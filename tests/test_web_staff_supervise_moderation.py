"""The moderators' console pages: the report queue (accept, reject with a reason, mark a
duplicate of a report nearby) and the answer queue (approve, return with a comment), on
the API's services, with its version checks — and never the reporter's contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.feedback import responses
from service.feedback.models import ResponseState
from service.feedback.schemas import ResponseCreate
from service.reports import moderation
from service.reports.models import Report
from service.reports.schemas import AcceptRequest
from tests.factories import actor_of, file_report, make_user
from tests.feedback_setup import accepted, cast, events_of, fresh
from tests.web_pages import csrf_of, post_form, sign_in


def _item(page_text: str, report: Report) -> str:
    """The queue's entry of ``report``."""
    start = page_text.index(f'id="item-{report.id}"')
    end = page_text.find('<li class="decision"', start + 1)
    return page_text[start : end if end != -1 else len(page_text)]


async def test_a_moderator_accepts_and_rejects_with_a_reason(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    now = datetime.now(UTC)
    first = await file_report(session, people.reporter, when=now - timedelta(hours=3))
    second = await file_report(
        session,
        people.reporter,
        when=now - timedelta(hours=2),
        description="Rubbish in a private yard.",
    )
    await sign_in(client, people.moderator.email)
    page = await client.get("/staff/moderation")
    assert page.status_code == 200
    assert "Modereerimist ootavad teated" in page.text
    # Oldest first, with the moderation deadline and the version each decision names.
    assert page.text.index(first.tracking_code) < page.text.index(second.tracking_code)
    entry = _item(page.text, first)
    assert "Modereerimise tähtaeg" in entry and 'name="version" value="1"' in entry
    # Never the reporter's contact: not their email, not their name.
    assert people.reporter.email not in page.text
    assert "Mari Reporter" not in page.text

    accepted_answer = await client.post(
        f"/staff/moderation/reports/{first.id}/accept",
        data={"csrf_token": csrf_of(page), "version": "1", "note": ""},
    )
    assert accepted_answer.status_code == 303, accepted_answer.text
    assert accepted_answer.headers["location"] == "/staff/moderation?done=accepted"
    report = await fresh(session, first)
    assert report.state == "accepted" and report.due_at is not None
    assert [e.type for e in await events_of(session, first.id)][-1] == "accept"

    # A rejection without its explanation comes back by the field, in Estonian.
    missing = await post_form(
        client,
        "/staff/moderation",
        f"/staff/moderation/reports/{second.id}/reject",
        {"version": "1", "code": "private_property", "text": ""},
    )
    assert missing.status_code == 422
    assert f'id="f-{second.id}-text-error"' in missing.text
    assert "Täitke see väli." in missing.text
    assert (await fresh(session, second)).state == "submitted"
    rejected = await post_form(
        client,
        "/staff/moderation",
        f"/staff/moderation/reports/{second.id}/reject",
        {"version": "1", "code": "private_property", "text": "The yard is private."},
    )
    assert rejected.status_code == 303, rejected.text
    report = await fresh(session, second)
    assert (report.state, report.reject_code, report.reject_text) == (
        "rejected",
        "private_property",
        "The yard is private.",
    )
    after = await client.get(rejected.headers["location"])
    assert "Teade lükati tagasi" in after.text
    assert first.tracking_code not in after.text and second.tracking_code not in after.text


async def test_a_moderator_marks_a_duplicate_of_a_report_nearby(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    now = datetime.now(UTC)
    original = await accepted(session, people, now - timedelta(hours=5))
    repeat = await file_report(
        session, people.reporter, when=now - timedelta(hours=1), description="Pothole again."
    )
    await sign_in(client, people.moderator.email)
    page = await client.get("/staff/moderation")
    entry = _item(page.text, repeat)
    # The candidates as a list of radio buttons (the map's alternative) and on the map.
    assert f'name="of" value="{original.id}"' in entry
    assert original.tracking_code in entry
    assert 'class="dup-map"' in entry and "data-tiles=" in entry
    assert "staff-supervise.js" in page.text and "leaflet.js" in page.text
    chosen = await post_form(
        client,
        "/staff/moderation",
        f"/staff/moderation/reports/{repeat.id}/duplicate",
        {"version": "1", "of": str(original.id), "override": ""},
    )
    assert chosen.status_code == 303, chosen.text
    merged = await fresh(session, repeat)
    assert (merged.state, merged.duplicate_of_id) == ("duplicate", original.id)
    assert "merged" in [e.type for e in await events_of(session, original.id)]


async def test_a_stale_decision_shows_the_conflict_and_changes_nothing(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await file_report(session, people.reporter, when=datetime.now(UTC))
    await sign_in(client, people.moderator.email)
    page = await client.get("/staff/moderation")
    assert 'name="version" value="1"' in _item(page.text, report)
    # The reporter edits it meanwhile (the version rises, as an edit raises it).
    report.description = "A deep pothole, and a second one behind it."
    report.version = 2
    await session.flush()
    events_before = [e.id for e in await events_of(session, report.id)]
    stale = await client.post(
        f"/staff/moderation/reports/{report.id}/accept",
        data={"csrf_token": csrf_of(page), "version": "1"},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("text/html")
    assert "nägite versiooni 1, nüüd on see versioon 2" in stale.text
    assert 'role="alert"' in stale.text
    # The queue as it is now: the new text and version, to decide on again.
    entry = _item(stale.text, report)
    assert "a second one behind it" in entry and 'name="version" value="2"' in entry
    assert (await fresh(session, report)).state == "submitted"
    assert [e.id for e in await events_of(session, report.id)] == events_before

    # Decided by someone else meanwhile: the API's 409, with the state it is in now.
    other = await make_user(session, settings, roles=((Role.moderator, None),))
    await moderation.accept(
        session,
        actor_of(other, (Role.moderator, None)),
        report.id,
        AcceptRequest(),
        datetime.now(UTC),
        version=2,
    )
    taken = await client.post(
        f"/staff/moderation/reports/{report.id}/reject",
        data={"csrf_token": csrf_of(page), "version": "2", "code": "other", "text": "No."},
    )
    assert taken.status_code == 409
    assert "teate olek on nüüd „vastu võetud“" in taken.text
    assert (await fresh(session, report)).state == "accepted"


async def test_answers_are_approved_and_returned_with_a_comment(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    now = datetime.now(UTC)
    waiting = []
    for text in ("The shed was removed.", "The builder has a permit."):
        report = await accepted(
            session, people, now - timedelta(hours=4), reason_code="illegal-construction"
        )
        staff = await make_user(session, settings, roles=((Role.staff, report.department_id),))
        answer, _ = await responses.answer(
            session,
            actor_of(staff, (Role.staff, report.department_id)),
            report.id,
            ResponseCreate.model_validate({"outcome": "fixed", "text": text}),
            now - timedelta(hours=3),
            settings,
        )
        assert answer.state == ResponseState.pending_moderation
        waiting.append((report, answer))
    await sign_in(client, people.moderator.email)
    page = await client.get("/staff/moderation/answers")
    assert page.status_code == 200
    assert "The shed was removed." in page.text and "The builder has a permit." in page.text
    assert people.reporter.email not in page.text

    (first_report, first), (second_report, second) = waiting
    approved = await post_form(
        client, "/staff/moderation/answers", f"/staff/moderation/answers/{first.id}/approve", {}
    )
    assert approved.status_code == 303, approved.text
    await session.refresh(first)
    assert first.state == ResponseState.published
    assert (await fresh(session, first_report)).state == "answered"

    empty = await post_form(
        client,
        "/staff/moderation/answers",
        f"/staff/moderation/answers/{second.id}/return",
        {"comment": ""},
    )
    assert empty.status_code == 422
    assert f'id="f-{second.id}-comment-error"' in empty.text
    returned = await post_form(
        client,
        "/staff/moderation/answers",
        f"/staff/moderation/answers/{second.id}/return",
        {"comment": "Name the permit's number."},
    )
    assert returned.status_code == 303, returned.text
    await session.refresh(second)
    assert (second.state, second.moderation_comment) == (
        ResponseState.returned,
        "Name the permit's number.",
    )
    # Approving what is no longer waiting: the API's 409 as a message, nothing changes.
    again = await post_form(
        client, "/staff/moderation/answers", f"/staff/moderation/answers/{second.id}/approve", {}
    )
    assert again.status_code == 409
    assert "osakonnale tagasi saadetud" in again.text
    await session.refresh(second)
    assert second.state == ResponseState.returned
    assert (await fresh(session, second_report)).state == "accepted"


async def test_only_moderators_open_the_moderation_pages(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    report = await file_report(session, people.reporter, when=datetime.now(UTC))
    for path in ("/staff/moderation", "/staff/moderation/answers"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/sign-in?next=")
    for person in (people.supervisor, people.reporter):
        client.cookies.clear()
        await sign_in(client, person.email)
        for path in ("/staff/moderation", "/staff/moderation/answers"):
            answer = await client.get(path)
            assert answer.status_code == 403, (person.email, path)
            assert "Teil ei ole õigust seda lehte avada." in answer.text
        home = await client.get("/")
        refused = await client.post(
            f"/staff/moderation/reports/{report.id}/accept",
            data={"csrf_token": csrf_of(home), "version": "1"},
        )
        assert refused.status_code == 403
    assert (await fresh(session, report)).state == "submitted"

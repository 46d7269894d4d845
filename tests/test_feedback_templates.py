"""Response templates: administration, placeholder checks at writing, rendering for a report
in the reporter's language, answering from a template, and the status notes posted when a
report enters a state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.errors import InvalidInput
from service.feedback.templates import PLACEHOLDERS, placeholders_in, render
from service.languages import Language
from service.readable import readable_day
from tests.factories import bearer, make_user, reason_by_code
from tests.feedback_setup import accepted, cast, events_of

AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 09:00 in Tartu
TARTU = ZoneInfo("Europe/Tallinn")


async def _admin(session: AsyncSession, settings: Settings) -> dict[str, str]:
    return bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))


async def _create(client: AsyncClient, headers: dict[str, str], **body: Any) -> Any:
    return await client.post("/v1/admin/response-templates", json=body, headers=headers)


async def test_admins_manage_templates(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(session, settings)
    pothole = await reason_by_code(session, "pothole")
    created = await _create(
        client,
        admin,
        code="pothole-patched",
        reason_id=str(pothole.id),
        outcome="fixed",
        texts={"et": "Auk {tracking_code} aadressil {address} on lapitud.", "en": "Patched."},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["placeholders"] == ["address", "tracking_code"]
    template_id = body["id"]
    listed = await client.get(
        "/v1/admin/response-templates", params={"reason_id": str(pothole.id)}, headers=admin
    )
    assert [t["code"] for t in listed.json()] == ["pothole-patched"]
    changed = await client.patch(
        f"/v1/admin/response-templates/{template_id}",
        json={"texts": {"et": "Lapitud {due_date} eel."}, "active": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["placeholders"] == ["due_date"]
    assert changed.json()["active"] is False
    assert changed.json()["outcome"] == "fixed"
    unknown = await client.patch(
        f"/v1/admin/response-templates/{template_id}",
        json={"texts": {"et": "Tere {resident}!"}},
        headers=admin,
    )
    assert (unknown.status_code, unknown.json()["placeholder"]) == (422, "resident")
    fetched = await client.get(f"/v1/admin/response-templates/{template_id}", headers=admin)
    assert fetched.json()["texts"] == {"et": "Lapitud {due_date} eel."}
    taken = await _create(
        client, admin, code="pothole-patched", reason_id=str(pothole.id), texts={"et": "x"}
    )
    assert taken.status_code == 409
    deleted = await client.delete(f"/v1/admin/response-templates/{template_id}", headers=admin)
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/admin/response-templates/{template_id}", headers=admin)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    missing = await client.patch(
        f"/v1/admin/response-templates/{uuid.uuid4()}", json={"active": True}, headers=admin
    )
    assert missing.status_code == 404

    # Only admins, signed in.
    assert (await client.get("/v1/admin/response-templates")).status_code == 401
    people = await cast(session, settings)
    forbidden = await client.get(
        "/v1/admin/response-templates", headers=bearer(settings, people.supervisor)
    )
    assert forbidden.status_code == 403


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Dear {name}, patched.", "Unknown placeholder {name}"),
        ("Due {due_date:%d}.", "without a format"),
        ("Code {tracking_code!r}.", "without a format"),
        ("Code {tracking_code.upper}.", "Unknown placeholder"),
        ("A brace { alone.", "not closed"),
        ("A brace } alone.", "not closed"),
        ("On {scheduled_date}.", "{scheduled_date} fits only"),
    ],
)
async def test_a_template_with_a_placeholder_it_cannot_fill_is_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings, text: str, problem: str
) -> None:
    admin = await _admin(session, settings)
    pothole = await reason_by_code(session, "pothole")
    refused = await _create(
        client,
        admin,
        code=f"bad-{uuid.uuid4().hex[:8]}",
        reason_id=str(pothole.id),
        outcome="fixed",
        texts={"et": "Korras.", "ru": text},
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem in refused.json()["detail"]
    assert refused.json()["field"] == "texts.ru"


async def test_template_shape_is_validated(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(session, settings)
    pothole = await reason_by_code(session, "pothole")
    people = await cast(session, settings)
    both = await _create(
        client,
        admin,
        code="both",
        reason_id=str(pothole.id),
        department_id=str(people.roads),
        texts={"et": "x"},
    )
    assert both.status_code == 422
    neither = await _create(client, admin, code="neither", texts={"et": "x"})
    assert neither.status_code == 422
    no_estonian = await _create(
        client, admin, code="no-et", reason_id=str(pothole.id), texts={"en": "x"}
    )
    assert no_estonian.status_code == 422
    bad_state = await _create(
        client,
        admin,
        code="on-draft",
        reason_id=str(pothole.id),
        texts={"et": "x"},
        apply_on_state="submitted",
    )
    assert bad_state.status_code == 422
    unknown_reason = await _create(
        client, admin, code="ghost", reason_id=str(uuid.uuid4()), texts={"et": "x"}
    )
    assert unknown_reason.status_code == 422
    # With a scheduled outcome the date placeholder is fine.
    scheduled = await _create(
        client,
        admin,
        code="pothole-later",
        reason_id=str(pothole.id),
        outcome="scheduled",
        texts={"et": "Parandame {scheduled_date}."},
    )
    assert scheduled.status_code == 201, scheduled.text


def test_rendering_fills_exactly_the_allowed_names() -> None:
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    text = "{{literal}} {tracking_code} at {address}, due {due_date}"
    assert placeholders_in(text) == {"tracking_code", "address", "due_date"}
    assert render(text, values) == "{literal} <tracking_code> at <address>, due <due_date>"
    with pytest.raises(InvalidInput):
        render("{__class__}", values)


async def test_staff_see_the_templates_of_a_report_rendered_in_the_reporters_language(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(session, settings)
    people = await cast(session, settings)
    people.reporter.language = Language.ru
    await session.flush()
    report = await accepted(session, people, AT)
    pothole = await reason_by_code(session, "pothole")
    texts = {
        "et": "Teade {tracking_code}: {reason}, {department}, tähtaeg {due_date}, {address}.",
        "ru": "Сообщение {tracking_code}: {reason}, {department}, срок {due_date}, {address}.",
    }
    for body in (
        {"code": "pothole-ack", "reason_id": str(pothole.id), "texts": texts},
        {"code": "roads-any", "department_id": str(people.roads), "texts": {"et": "Teed."}},
        {"code": "roads-off", "department_id": str(people.roads), "texts": {"et": "Ei."}},
    ):
        assert (await _create(client, admin, **body)).status_code == 201
    off = await client.get(
        "/v1/admin/response-templates", params={"department_id": str(people.roads)}, headers=admin
    )
    off_id = next(t["id"] for t in off.json() if t["code"] == "roads-off")
    await client.patch(
        f"/v1/admin/response-templates/{off_id}", json={"active": False}, headers=admin
    )

    path = f"/v1/reports/{report.id}/response-templates"
    listed = await client.get(path, headers=bearer(settings, people.staff))
    assert listed.status_code == 200, listed.text
    found = listed.json()
    assert [(t["code"], t["scope"]) for t in found] == [
        ("pothole-ack", "reason"),
        ("roads-any", "department"),
    ]
    assert report.due_at is not None
    due = report.due_at.astimezone(TARTU).date()
    assert found[0]["language"] == "ru"
    assert found[0]["text"] == (
        f"Сообщение {report.tracking_code}: Яма на дороге, Teede ja tänavate teenistus, "
        f"срок {readable_day(due, 'ru', TARTU)}, 58.37950, 26.72300."
    )
    assert found[1]["text"] == "Teed."  # no Russian text: the Estonian one

    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=bearer(settings, people.stranger))).status_code == 403
    other = await client.get(path, headers=bearer(settings, people.other_staff))
    assert other.status_code == 404
    missing = await client.get(
        f"/v1/reports/{uuid.uuid4()}/response-templates", headers=bearer(settings, people.staff)
    )
    assert missing.status_code == 404


async def test_answering_from_a_template(
    client: AsyncClient, session: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    admin = await _admin(session, settings)
    people = await cast(session, settings)
    people.reporter.language = Language.en
    await session.flush()
    report = await accepted(session, people, AT)
    app.state.clock = lambda: AT + timedelta(hours=1)
    pothole = await reason_by_code(session, "pothole")
    template = await _create(
        client,
        admin,
        code="pothole-scheduled",
        reason_id=str(pothole.id),
        outcome="scheduled",
        texts={"et": "Parandame {scheduled_date}.", "en": "{tracking_code}: on {scheduled_date}."},
    )
    template_id = template.json()["id"]
    answered = await client.post(
        f"/v1/reports/{report.id}/responses",
        json={"template_id": template_id, "scheduled_for": "2026-12-01"},
        headers=bearer(settings, people.staff),
    )
    assert answered.status_code == 201, answered.text
    body = answered.json()
    assert body["outcome"] == "scheduled"  # the template's
    assert body["text"] == f"{report.tracking_code}: on December 1, 2026."
    assert body["internal"]["template_id"] == template_id

    # A template of another reason does not answer this report.
    other_reason = await reason_by_code(session, "street-dirty")
    foreign = await _create(
        client, admin, code="dirty", reason_id=str(other_reason.id), texts={"et": "Koristatud."}
    )
    second = await accepted(session, people, AT)
    refused = await client.post(
        f"/v1/reports/{second.id}/responses",
        json={"template_id": foreign.json()["id"], "outcome": "fixed"},
        headers=bearer(settings, people.staff),
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "template_id"
    # A template without an outcome needs one from the staff.
    plain = await _create(
        client, admin, code="plain", reason_id=str(pothole.id), texts={"et": "Vaadatud."}
    )
    no_outcome = await client.post(
        f"/v1/reports/{second.id}/responses",
        json={"template_id": plain.json()["id"]},
        headers=bearer(settings, people.staff),
    )
    assert no_outcome.status_code == 422
    assert no_outcome.json()["field"] == "outcome"


async def test_a_state_template_posts_a_public_status_note(
    client: AsyncClient, session: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    admin = await _admin(session, settings)
    people = await cast(session, settings)
    pothole = await reason_by_code(session, "pothole")
    for body in (
        # The reason's template wins over the department's for the same state.
        {
            "code": "pothole-answered",
            "reason_id": str(pothole.id),
            "apply_on_state": "answered",
            "texts": {"et": "Vastus teatele {tracking_code} on avaldatud."},
        },
        {
            "code": "roads-answered",
            "department_id": str(people.roads),
            "apply_on_state": "answered",
            "texts": {"et": "Teede teenistus vastas."},
        },
        {
            "code": "roads-reopened",
            "department_id": str(people.roads),
            "apply_on_state": "reopened",
            "texts": {"et": "Vaatame uuesti, uus tähtaeg {due_date}."},
        },
    ):
        assert (await _create(client, admin, **body)).status_code == 201
    twice = await _create(
        client,
        admin,
        code="pothole-answered-2",
        reason_id=str(pothole.id),
        apply_on_state="answered",
        texts={"et": "x"},
    )
    assert twice.status_code == 409

    report = await accepted(session, people, AT)
    app.state.clock = lambda: AT + timedelta(hours=1)
    answered = await client.post(
        f"/v1/reports/{report.id}/responses",
        json={"outcome": "fixed", "text": "Lapitud."},
        headers=bearer(settings, people.staff),
    )
    assert answered.status_code == 201
    app.state.clock = lambda: AT + timedelta(hours=2)
    reopened = await client.post(
        f"/v1/reports/{report.id}/rating",
        json={"score": 1, "resolved": False},
        headers=bearer(settings, people.reporter),
    )
    assert reopened.json()["consequence"] == "reopened"

    timeline = (await client.get(f"/v1/reports/{report.id}/timeline")).json()
    notes = [e["data"] for e in timeline if e["type"] == "status_note"]
    assert [n["template"] for n in notes] == ["pothole-answered", "roads-reopened"]
    assert notes[0]["text"] == f"Vastus teatele {report.tracking_code} on avaldatud."
    await session.refresh(report)
    assert report.due_at is not None
    assert notes[1]["text"] == (
        f"Vaatame uuesti, uus tähtaeg {readable_day(report.due_at, 'et', TARTU)}."
    )
    assert all(n["automatic"] for n in notes)
    stored = [e for e in await events_of(session, report.id) if e.type == "status_note"]
    assert all(e.public and e.actor_id is None for e in stored)

"""The living lab's pages: a resident joins the panel with the consent box ticked (refused
without it), answers an invitation and a survey through the forms; a lab manager sees the
pilot's recruitment and suppressed results in the console and downloads them, never a
tester's name; other people get the console's 403 page."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.config import Settings
from service.lab.models import Answer, PanelMember, TaskResponse
from tests.factories import make_user
from tests.lab_factories import district_ids, lab_manager, running_pilot
from tests.web_pages import post_form, sign_in


def _browser(app: FastAPI) -> AsyncClient:
    return AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )


async def test_a_resident_joins_the_panel_on_the_page(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    person = await make_user(session, settings)
    annelinn = (await district_ids(session))["annelinn"]
    async with _browser(app) as browser:
        anonymous = await browser.get("/lab")
        assert anonymous.status_code == 200 and "/sign-in?next=" in anonymous.text
        await sign_in(browser, person.email)
        page = await browser.get("/lab")
        assert page.status_code == 200
        refused = await post_form(
            browser, "/lab", "/lab/panel", {"consent_version": "1", "age_band": "30-44"}
        )
        assert refused.status_code == 422
        assert await session.get(PanelMember, person.id) is None
        joined = await post_form(
            browser,
            "/lab",
            "/lab/panel",
            {
                "consent_version": "1",
                "consent": "1",
                "age_band": "30-44",
                "devices": "tablet",
                "district_id": str(annelinn),
            },
        )
        assert joined.status_code == 303, joined.text
        member = await session.get(PanelMember, person.id)
        assert member is not None and member.age_band == "30-44" and member.devices == ["tablet"]
        assert member.district_id == annelinn
        left = await post_form(browser, "/lab", "/lab/panel/leave", {})
        assert left.status_code == 303
        session.expunge_all()
        assert await session.get(PanelMember, person.id) is None


async def test_a_tester_answers_the_survey_form_and_the_manager_sees_only_figures(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    tester = await make_user(session, settings, name="Tiina Testija")
    running = await running_pilot(app, client, session, settings, [tester], now)
    participation, _ = running.testers[tester.id]
    likert, single, number, text = running.questions
    async with _browser(app) as browser:
        await sign_in(browser, tester.email)
        page = f"/lab/participations/{participation}"
        opened = await browser.get(page)
        assert opened.status_code == 200 and "First impressions" in opened.text
        incomplete = await post_form(
            browser, page, f"{page}/tasks/{running.task_id}", {f"q-{likert}": "4"}
        )
        assert incomplete.status_code == 422
        sent = await post_form(
            browser,
            page,
            f"{page}/tasks/{running.task_id}",
            {
                f"q-{likert}": "4",
                f"q-{single}": "yes",
                f"q-{number}": "25",
                f"q-{text}": "Clear enough",
                "share_text": "1",
            },
        )
        assert sent.status_code == 303, sent.text
        thanked = await browser.get(sent.headers["location"])
        assert "Aitäh, teie vastused on salvestatud." in thanked.text
        other = await browser.get(f"/lab/participations/{uuid.uuid4()}")
        assert other.status_code == 404
        console = await browser.get(f"/staff/lab/pilots/{running.pilot_id}")
        assert console.status_code == 403
    response = await session.scalar(
        select(TaskResponse).where(col(TaskResponse.task_id) == uuid.UUID(running.task_id))
    )
    assert response is not None and response.share_text
    values = set(
        (
            await session.execute(
                select(col(Answer.value)).where(col(Answer.response_id) == response.id)
            )
        ).scalars()
    )
    assert values == {4, "yes", 25, "Clear enough"}
    manager, _ = await lab_manager(session, settings)
    async with _browser(app) as browser:
        await sign_in(browser, manager.email)
        index = await browser.get("/staff/lab")
        assert index.status_code == 200 and "Smart meter app" in index.text
        pilot = await browser.get(f"/staff/lab/pilots/{running.pilot_id}")
        assert pilot.status_code == 200
        exported = await browser.get(f"/staff/lab/pilots/{running.pilot_id}/results.csv")
        assert exported.status_code == 200
        for view in (pilot.text, exported.text):
            assert "Testija" not in view and tester.email not in view
            assert "Clear enough" not in view  # one person: nothing shown
        created = await post_form(
            browser,
            "/staff/lab",
            "/staff/lab/pilots",
            {
                "code": "bus-app",
                "title": "Bus ticket app",
                "organisation": "Tartu Linnavalitsus",
                "organisation_kind": "department",
                "starts_on": now.date().isoformat(),
                "ends_on": now.date().isoformat(),
                "target_size": "10",
                "dimensions": "district",
            },
        )
        assert created.status_code == 303, created.text
        bad = await post_form(
            browser, "/staff/lab", "/staff/lab/pilots", {"code": "Bad Code", "title": ""}
        )
        assert bad.status_code == 422

"""The living lab in a real browser: a tester joins the panel, accepts an invitation and
answers a survey with the keyboard and mouse; axe-core finds no serious or critical
violation on any of the pages, at a phone's and a desktop's size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from service.auth.models import Role
from service.demo.lab import SURVEY
from tests.browser import DESKTOP, PHONE, Live, OpenPage, accessible, api_client, person, shoot
from tests.lab_factories import pilot_body

VIEWS = [pytest.param(PHONE, "et", id="phone-et"), pytest.param(DESKTOP, "en", id="desktop-en")]
SENT = {"et": "Aitäh, teie vastused on salvestatud.", "en": "Thank you: your answers are saved."}


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_a_tester_answers_a_survey(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    email = f"tester-{language}-{viewport['width']}@example.org"
    await person(live, email, language)
    manager = await person(
        live, f"lab-{language}-{viewport['width']}@example.org", language, (Role.lab_manager, None)
    )
    page = await open_page(viewport, language)
    await page.goto(f"{live.url}/sign-in?next=/lab")
    await page.locator("#field-email").fill(email)
    await page.locator("#field-password").fill("correct horse battery staple")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}/lab")
    await accessible(page)
    # Joining: the profile is optional, the consent is not.
    await page.locator("#field-age_band").select_option("30-44")
    await page.locator("input[name=devices][value=smartphone]").check()
    await page.locator("#field-consent").check()
    async with page.expect_navigation():
        await page.locator("form[action='/lab/panel'] button[type=submit]").click()
    await accessible(page)
    now = datetime.now(UTC)
    async with api_client(live, manager) as api:
        body = pilot_body(
            target_size=1,
            title={"et": "Nutiarvesti rakendus", "en": "Smart-meter app"}[language],
            description={
                "et": "Rakendus näitab teie korteri soojuse- ja veekulu.",
                "en": "The app shows your apartment's heat and water use.",
            }[language],
        )
        created = await api.post("/v1/lab/pilots", json=body)
        assert created.status_code == 201, created.text
        pilot = created.json()["id"]
        drawn = await api.post(f"/v1/lab/pilots/{pilot}/draws", json={})
        assert drawn.status_code == 201 and drawn.json()["invited"] == 1, drawn.text
        task = await api.post(
            f"/v1/lab/pilots/{pilot}/tasks",
            json={
                **SURVEY,
                "opens_at": (now - timedelta(minutes=5)).isoformat(),
                "due_at": (now + timedelta(days=7)).isoformat(),
            },
        )
        assert task.status_code == 201, task.text
    await page.goto(f"{live.url}/lab")
    async with page.expect_navigation():
        await page.locator("form[action$='/accept'] button").first.click()
    async with api_client(live, manager) as api:
        started = await api.post(f"/v1/lab/pilots/{pilot}/transitions", json={"action": "start"})
        assert started.status_code == 200, started.text
    await page.reload()
    await accessible(page)
    form = page.locator("form[action*='/tasks/']")
    await form.locator("input[type=radio][value='4']").check()
    await form.locator("input[type=radio][value=yes]").check()
    await form.locator("input[type=checkbox][value=heat]").check()
    await form.locator("input[type=number]").fill("30")
    await form.locator("textarea").fill(
        {"et": "Selge ja kiire.", "en": "Clear and quick."}[language]
    )
    await form.locator("input[name=share_text]").check()
    await shoot(page, f"lab-survey-{language}-{viewport['width']}")
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    await expect(page.get_by_role("status")).to_have_text(SENT[language])
    await accessible(page)
    # The page says it is answered, and shows no form for it any more.
    assert await page.locator("form[action*='/tasks/']").count() == 0
    # The lab manager's side of the same pilot.
    console = await open_page(viewport, language)
    await console.goto(f"{live.url}/sign-in?next=/staff/lab")
    await console.locator("#field-email").fill(f"lab-{language}-{viewport['width']}@example.org")
    await console.locator("#field-password").fill("correct horse battery staple")
    await console.keyboard.press("Enter")
    await console.wait_for_url(f"{live.url}/staff/lab")
    await accessible(console)
    await console.goto(f"{live.url}/staff/lab/pilots/{pilot}")
    await expect(console.get_by_role("heading", level=1)).to_have_text(body["title"])
    await accessible(console)
    await shoot(console, f"console-lab-pilot-{language}-{viewport['width']}")

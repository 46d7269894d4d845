"""The supervisors' and moderators' console pages in a real browser: axe-core finds no
serious or critical violation at a phone's and a desktop's size, the charts are images with
names, and the duplicate map draws the candidates, whose markers pick the radio button."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser import DESKTOP, PHONE, Live, OpenPage, accessible, shoot
from tests.factories import PASSWORD, file_report
from tests.feedback_setup import Cast, accepted, answered, cast
from tests.test_web_staff_supervise import _extension

VIEWS = [pytest.param(PHONE, "et", id="phone-et"), pytest.param(DESKTOP, "en", id="desktop-en")]


async def _arranged(live: Live) -> Cast:
    async with live.sessionmaker() as session:
        people = await cast(session, live.settings)
        now = datetime.now(UTC)
        await answered(session, people, live.settings, now - timedelta(days=3))
        report = await accepted(session, people, now - timedelta(hours=4))
        await _extension(session, people, report)
        await file_report(session, people.reporter, when=now - timedelta(hours=1))
        await session.commit()
    return people


async def _sign_in(page: Page, live: Live, email: str, next_page: str, language: str) -> None:
    # The reader's choice of language wins over the account's.
    await page.goto(f"{live.url}/language/{language}?next=/sign-in%3Fnext%3D{next_page}")
    await page.locator("#field-email").fill(email)
    await page.locator("#field-password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}{next_page}*")


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_the_supervisors_pages_are_accessible(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    people = await _arranged(live)
    page = await open_page(viewport, language)
    await _sign_in(page, live, people.supervisor.email, "/staff/requests", language)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await accessible(page)
    await shoot(page, f"staff-requests-{language}-{viewport['width']}")
    await page.goto(f"{live.url}/staff/kpis?weeks=8")
    name = {"et": "Saabunud ja vastatud teated", "en": "Reports received and answered"}[language]
    await expect(page.get_by_role("img", name=name)).to_be_visible()
    await accessible(page)
    await shoot(page, f"staff-kpis-{language}-{viewport['width']}")


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_the_moderation_pages_are_accessible_and_the_map_picks_a_candidate(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    people = await _arranged(live)
    page = await open_page(viewport, language)
    await _sign_in(page, live, people.moderator.email, "/staff/moderation", language)
    await accessible(page)
    duplicate = {"et": "Märgi korduvaks", "en": "Mark as a duplicate"}[language]
    summary = page.locator("summary", has_text=duplicate).last
    await summary.click()
    section = summary.locator("xpath=..")
    markers = section.locator(".dup-map path.leaflet-interactive")
    await expect(markers.first).to_be_visible()
    assert await markers.count() >= 2
    radios = section.locator("input[type=radio]")
    await expect(radios.first).not_to_be_checked()
    await markers.nth(1).click(force=True)
    assert sum([await radios.nth(i).is_checked() for i in range(await radios.count())]) == 1
    await accessible(page)
    await shoot(page, f"staff-moderation-{language}-{viewport['width']}")
    await page.goto(f"{live.url}/staff/moderation/answers")
    await accessible(page)

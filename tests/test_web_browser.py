"""The web app in a real browser (Debian's Chromium through Playwright), checked with
axe-core on every page it opens, at a phone's and a desktop's size, in Estonian and English."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from service.auth import service as auth
from service.auth.schemas import RegisterRequest
from service.clock import system_clock
from tests.browser import DESKTOP, PHONE, Live, OpenPage, accessible, shoot
from tests.factories import PASSWORD

VIEWS = [pytest.param(PHONE, "et", id="phone-et"), pytest.param(DESKTOP, "en", id="desktop-en")]


async def _account(live: Live, email: str, language: str = "et") -> None:
    async with live.sessionmaker() as session:
        await auth.create_account(
            session,
            live.settings,
            RegisterRequest(
                email=email, password=PASSWORD, display_name="Mari Maasikas", language=language
            ),
            verified_at=system_clock(),
        )
        await session.commit()


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_signing_in_with_the_keyboard(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    email = f"keyboard-{language}-{viewport['width']}@example.org"
    await _account(live, email, language)
    page = await open_page(viewport, language)
    await page.goto(f"{live.url}/sign-in")
    await accessible(page)
    heading = {"et": "Logi sisse", "en": "Sign in"}[language]
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    # A wrong password: the form comes back with the error, announced and accessible.
    await page.get_by_label({"et": "E-posti aadress", "en": "Email address"}[language]).fill(email)
    await page.get_by_label({"et": "Parool", "en": "Password"}[language]).fill("not the password")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_be_visible()
    await accessible(page)
    await shoot(page, f"sign-in-error-{language}-{viewport['width']}")
    await page.get_by_label({"et": "Parool", "en": "Password"}[language]).fill(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}/my/**")
    await page.goto(f"{live.url}/")
    await expect(
        page.get_by_role("button", name={"et": "Logi välja", "en": "Sign out"}[language])
    ).to_be_visible()
    await accessible(page)
    await shoot(page, f"home-{language}-{viewport['width']}")


async def test_a_missing_page_is_a_page_in_the_readers_language(
    live: Live, open_page: OpenPage
) -> None:
    page = await open_page(DESKTOP, "ru")
    answer = await page.goto(f"{live.url}/nothing-here")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Здесь ничего нет.")
    await accessible(page)


async def test_an_ideas_title_on_the_map_is_text_not_markup(
    live: Live, open_page: OpenPage
) -> None:
    """Titles are the authors' words: the map's tooltip and popup show them as they are."""
    title = '<b id="injected">Bold</b> benches'
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "00000000-0000-0000-0000-000000000001",
                "geometry": {"type": "Point", "coordinates": [26.7230, 58.3795]},
                "properties": {"title": title, "support_count": 3},
            }
        ],
    }
    page = await open_page(DESKTOP, "en")
    await page.route(
        "**/v1/ideas/map*",
        lambda route: route.fulfill(
            status=200, content_type="application/geo+json", body=json.dumps(collection)
        ),
    )
    await page.goto(f"{live.url}/ideas")
    marker = page.locator("#ideas-map path.leaflet-interactive")
    await expect(marker).to_have_count(1)
    await marker.hover()
    await expect(page.locator(".leaflet-tooltip")).to_have_text(title)
    assert await page.locator("#injected").count() == 0

"""The administration's pages in a real browser: axe-core finds no serious or critical
violation on any of them at a phone's and a desktop's size, and a new API key is shown once
and then only by its prefix."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from service.auth.models import Role
from tests.browser import DESKTOP, PHONE, Live, OpenPage, accessible, city_ids, person, shoot

VIEWS = [pytest.param(PHONE, "et", id="phone-et"), pytest.param(DESKTOP, "en", id="desktop-en")]
PAGES = (
    "/staff/admin",
    "/staff/admin/users",
    "/staff/admin/departments",
    "/staff/admin/catalogue",
    "/staff/admin/templates",
    "/staff/admin/templates/new",
    "/staff/admin/webhooks",
)


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_the_administration_is_accessible_and_shows_a_key_once(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    email = f"admin-{language}-{viewport['width']}@example.org"
    admin = await person(live, email, language, (Role.admin, None))
    _, pothole = await city_ids(live)
    page = await open_page(viewport, language)
    await page.goto(f"{live.url}/language/{language}?next=/sign-in%3Fnext%3D/staff/admin")
    await page.locator("#field-email").fill(email)
    await page.locator("#field-password").fill("correct horse battery staple")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}/staff/admin")
    for path in (
        *PAGES,
        f"/staff/admin/users/{admin.id}",
        f"/staff/admin/catalogue/reasons/{pothole}",
    ):
        await page.goto(f"{live.url}{path}")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await accessible(page)
    # The city's calendar, from the department tree.
    await page.goto(f"{live.url}/staff/admin/departments")
    async with page.expect_navigation():
        await page.locator("a[href^='/staff/admin/calendars/']").first.click()
    await expect(page.locator("#field-day")).to_be_visible()
    await accessible(page)
    await page.goto(f"{live.url}/staff/admin/routing?reason={pothole}&lat=58.3795&lon=26.723")
    await expect(page.locator("#preview")).to_be_visible()
    await accessible(page)
    await shoot(page, f"staff-admin-routing-{language}-{viewport['width']}")

    # A key made through the form: its whole value once, afterwards only the prefix.
    await page.goto(f"{live.url}/staff/admin/api-keys")
    await page.locator("#field-name").fill("Case system")
    await page.locator("input[name=scopes][value='reports:private']").check()
    async with page.expect_navigation():
        await page.locator("form[action='/staff/admin/api-keys'] button[type=submit]").click()
    key = await page.locator("#secret").input_value()
    assert key.startswith("mk_")
    await accessible(page)
    await shoot(page, f"staff-admin-key-{language}-{viewport['width']}")
    await page.goto(f"{live.url}/staff/admin/api-keys")
    await expect(page.get_by_text(key[3:11] + "…")).to_be_visible()
    assert key not in await page.content()
    await accessible(page)

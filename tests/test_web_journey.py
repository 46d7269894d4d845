"""Whole journeys in a real browser, as residents make them: at a phone's size in Estonian
and at a desktop's in English, with axe-core on every page on the way and screenshots for
the README. The department's side acts through the API (its console has tests of its own).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from service.auth.models import Role, User
from service.clock import system_clock
from tests.browser import (
    DESKTOP,
    PHONE,
    Live,
    OpenPage,
    accessible,
    api_client,
    city_ids,
    jpeg,
    person,
    shoot,
    sign_in_page,
)
from tests.factories import PASSWORD

VIEWS = [pytest.param(PHONE, "et", id="phone-et"), pytest.param(DESKTOP, "en", id="desktop-en")]
WORDS = {
    "et": {
        "sign_in": "Logi sisse",
        "email": "E-posti aadress",
        "password": "Parool",
        "filed": "Teie teade on esitatud",
        "answer": "Saada vastus",
        "save_rating": "Salvesta hinnang",
    },
    "en": {
        "sign_in": "Sign in",
        "email": "Email address",
        "password": "Password",
        "filed": "Your report is filed",
        "answer": "Send the answer",
        "save_rating": "Save the rating",
    },
}


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_a_resident_files_a_report_and_sees_it_through_to_the_end(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    words = WORDS[language]
    size = f"{language}-{viewport['width']}"
    roads, pothole = await city_ids(live)
    tag = uuid.uuid4().hex[:6]
    resident = await person(live, f"resident-{tag}@example.org", language)
    moderator = await person(live, f"moderator-{tag}@example.org", language, (Role.moderator, None))
    staff = await person(live, f"staff-{tag}@example.org", language, (Role.staff, roads))
    page = await open_page(viewport, language)
    await sign_in_page(page, live, resident.email)

    # Filing: the reason, the place by a click on the map, the size, a photo.
    await page.goto(f"{live.url}/reports/new")
    await accessible(page)
    await page.locator("select[name=reason]").select_option(str(pothole))
    await page.locator("form[action='/reports/new'][method=get] button[type=submit]").first.click()
    await expect(page.locator("#filing-map")).to_be_visible()
    await page.locator("#filing-map").click()
    await expect(page.locator("#field-lat")).not_to_have_value("")
    await page.locator("select[name=attr_size]").select_option("medium")
    await page.locator("#field-description").fill("A deep pothole by the bus stop.")
    await page.locator("#field-photos").set_input_files(
        [{"name": "pothole.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    await accessible(page)
    await shoot(page, f"file-a-report-{size}")
    await page.locator("form.filing-form button.primary[type=submit]").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(words["filed"])
    code = (await page.locator(".big-code").inner_text()).strip()
    await accessible(page)

    async with api_client(live, moderator) as as_moderator, api_client(live, staff) as as_staff:
        found = (await as_moderator.get(f"/v1/reports/by-code/{code}")).json()
        report_id = found["id"]
        accepted = await as_moderator.post(
            f"/v1/moderation/reports/{report_id}/accept",
            headers={"If-Match": f'"{found["version"]}"'},
        )
        assert accepted.status_code == 200, accepted.text
        asked = await as_staff.post(
            f"/v1/reports/{report_id}/clarification-requests",
            json={"question": "Which side of the street is it on?"},
        )
        assert asked.status_code in (200, 201), asked.text

        # The resident sees the question on the report's page and answers it there.
        await page.goto(f"{live.url}/reports/{code}")
        await expect(page.locator("p.question")).to_have_text("Which side of the street is it on?")
        await accessible(page)
        await page.locator("#field-answer").fill("The north side, by the bakery.")
        await page.get_by_role("button", name=words["answer"]).click()
        await page.wait_for_url("**/reports/*done=answered*")
        answered_state = (await as_staff.get(f"/v1/reports/{report_id}")).json()["state"]
        assert answered_state == "in_progress"

        answered = await as_staff.post(
            f"/v1/reports/{report_id}/responses",
            json={"outcome": "fixed", "text": "The pothole was patched on Monday."},
        )
        assert answered.status_code in (200, 201), answered.text
        # Not resolved: the report is reopened.
        await page.goto(f"{live.url}/reports/{code}")
        await page.locator("input[name=resolved][value=false]").check()
        await page.locator("#field-score").select_option("2")
        await page.get_by_role("button", name=words["save_rating"]).click()
        state = (await as_staff.get(f"/v1/reports/{report_id}")).json()["state"]
        assert state == "reopened"

        again = await as_staff.post(
            f"/v1/reports/{report_id}/responses",
            json={"outcome": "fixed", "text": "Patched again, deeper this time."},
        )
        assert again.status_code in (200, 201), again.text
        await page.goto(f"{live.url}/reports/{code}")
        await page.locator("input[name=resolved][value=true]").check()
        await page.locator("#field-score").select_option("5")
        await page.get_by_role("button", name=words["save_rating"]).click()
        state = (await as_staff.get(f"/v1/reports/{report_id}")).json()["state"]
        assert state == "closed"
        await accessible(page)
        await shoot(page, f"report-{size}")

    await page.goto(f"{live.url}/")
    await accessible(page)
    await shoot(page, f"home-{size}")


TRAINING_WORDS = {
    "et": {
        "register": "Looge konto",
        "name": "Teie nimi",
        "confirm": "Kinnitan aadressi",
        "find_building": "Leia hoone",
        "enrol": "Registreeru",
        "check_in": "Registreeru kohale",
        "valid": "kehtiv",
    },
    "en": {
        "register": "Create an account",
        "name": "Your name",
        "confirm": "Confirm my address",
        "find_building": "Find the building",
        "enrol": "Enrol",
        "check_in": "Check in",
        "valid": "valid",
    },
}


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_a_resident_registers_trains_and_shows_the_diploma(
    live: Live,
    open_page: OpenPage,
    mailbox: Any,
    viewport: dict[str, int],
    language: str,
) -> None:
    from datetime import timedelta

    from service.city.models import Building
    from tests.training_factories import checkin_code, open_programme

    size = f"{language}-{viewport['width']}"
    tag = uuid.uuid4().hex[:6]
    email = f"newcomer-{tag}@example.org"
    page = await open_page(viewport, language)

    # Registering, and confirming the address through the emailed link.
    await page.goto(f"{live.url}/register")
    await accessible(page)
    await page.locator("#field-display_name").fill("Mari Maasikas")
    await page.locator("#field-email").fill(email)
    await page.locator("#field-password").fill(PASSWORD)
    await page.locator("#field-language").select_option(language)
    await page.locator("form[action='/register'] button[type=submit]").click()
    await page.wait_for_url(f"{live.url}/register/sent*")
    await accessible(page)
    await live.work()
    (message,) = mailbox.to(email)
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in body.split() if "/verify-email?" in word)
    assert link.startswith(live.url)
    await page.goto(link)
    await accessible(page)
    async with page.expect_navigation():
        await page.locator("form[action='/verify-email'] button[type=submit]").click()
    await accessible(page)
    async with live.sessionmaker() as session:
        verified = await session.scalar(select(User.email_verified_at).where(User.email == email))
    assert verified is not None
    await sign_in_page(page, live, email)

    # A programme for the pilot buildings, with a session whose check-in is open now.
    async with live.sessionmaker() as session:
        building_id, address = (
            await session.execute(
                select(Building.id, Building.address)
                .where(Building.is_pilot_area)
                .order_by(Building.address)
                .limit(1)
            )
        ).one()
    coordinator = await person(
        live, f"coordinator-{tag}@example.org", language, (Role.coordinator, None)
    )
    async with api_client(live, coordinator) as as_coordinator:
        programme, (training,) = await open_programme(
            as_coordinator,
            {},
            [building_id],
            system_clock() + timedelta(minutes=10),
            title="Smart House",
        )
        await page.goto(f"{live.url}/training/programmes/{programme['id']}")
        await accessible(page)
        await page.locator("#field-address").fill(address)
        await page.locator("#field-address").press("Enter")
        await page.locator(f"input[name=building_id][value='{building_id}']").check()
        await page.locator("form[action$='/enrol'] button[type=submit]").click()
        await expect(page.locator("form[action$='/leave']")).to_be_visible()

        code = await checkin_code(as_coordinator, {}, training["id"])
        await page.goto(f"{live.url}/training/check-in")
        await accessible(page)
        await page.locator("#field-code").fill(code)
        await shoot(page, f"check-in-{size}")
        await page.locator("form.check-in button[type=submit]").click()
        await expect(page.locator(".notice[role=status]")).to_be_visible()
        await accessible(page)

        awarded = await as_coordinator.post(f"/v1/training/programmes/{programme['id']}/awards")
        assert awarded.status_code == 200, awarded.text
        assert len(awarded.json()["awarded"]) == 1

    # My progress links the diploma; its QR code's target is the public verification page.
    await live.work()
    await page.goto(f"{live.url}/my/training")
    await accessible(page)
    await shoot(page, f"my-training-{size}")
    async with live.sessionmaker() as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None
    async with api_client(live, User(id=user_id, email=email)) as as_resident:  # type: ignore[call-arg]
        mine = (await as_resident.get("/v1/me/training")).json()
    verify_url = next(
        item["ambassador"]["verify_url"] for item in mine["programmes"] if item["ambassador"]
    )
    assert verify_url.startswith(f"{live.url}/diplomas/")
    visitor = await open_page(DESKTOP, language)
    await visitor.goto(verify_url)
    await expect(visitor.locator("h1")).to_be_visible()
    assert "Mari Maasikas" in await visitor.content()
    await accessible(visitor)
    await shoot(visitor, f"diploma-{size}")


def _pdf() -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="A plan of the benches")
    return bytes(document.output())


@pytest.mark.parametrize(("viewport", "language"), VIEWS)
async def test_a_resident_proposes_an_idea_with_a_plan(
    live: Live, open_page: OpenPage, viewport: dict[str, int], language: str
) -> None:
    size = f"{language}-{viewport['width']}"
    tag = uuid.uuid4().hex[:6]
    roads, _ = await city_ids(live)
    admin = await person(live, f"admin-{tag}@example.org", language, (Role.admin, None))
    resident = await person(live, f"author-{tag}@example.org", language)
    async with api_client(live, admin) as as_admin:
        area = await as_admin.post(
            "/v1/idea-areas",
            json={"code": f"streets-{tag}", "name": "Streets", "department_id": str(roads)},
        )
        assert area.status_code == 201, area.text
    page = await open_page(viewport, language)
    await sign_in_page(page, live, resident.email)
    await page.goto(f"{live.url}/ideas/new")
    await accessible(page)
    await page.locator("#field-area_id").select_option(area.json()["id"])
    await page.locator("#field-title").fill("Benches along the Emajõgi promenade")
    await page.locator("#field-summary").fill(
        "Put a bench every hundred metres along the promenade, so older people can rest."
    )
    await page.locator("#field-problem").fill("There is nowhere to sit for two kilometres.")
    await page.locator("#field-solution").fill("Twenty wooden benches with backrests.")
    await page.locator("#field-benefit").fill("Older people and parents with children.")
    await page.locator("#field-documents").set_input_files(
        [{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": _pdf()}]
    )
    await shoot(page, f"propose-an-idea-{size}")
    await page.locator("button[name=action][value=submit]").click()
    await page.wait_for_url(f"{live.url}/my/ideas**")
    await accessible(page)
    await expect(page.get_by_text("Benches along the Emajõgi promenade").first).to_be_visible()
    await shoot(page, f"my-ideas-{size}")
    async with api_client(live, resident) as as_resident:
        mine = (await as_resident.get("/v1/me/ideas")).json()
    items = mine["items"] if isinstance(mine, dict) else mine
    (idea,) = [i for i in items if i["title"] == "Benches along the Emajõgi promenade"]
    assert idea["state"] != "draft"
    await page.goto(f"{live.url}/ideas")
    await accessible(page)
    await shoot(page, f"ideas-{size}")
    await page.goto(f"{live.url}/figures")
    await accessible(page)
    await shoot(page, f"figures-{size}")

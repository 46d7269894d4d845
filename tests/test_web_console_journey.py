"""The staff console in a real browser, across several people's browsers at once: the
department loop from a resident's report to the supervisor's figures, a bulk assignment,
an extension the supervisor approves, a session's check-ins from two phones on the venue's
screen, and an expert's scores. axe-core checks every console page on the way."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import select

from service.auth.models import Role, User
from service.city.models import Building
from service.clock import system_clock
from service.ideas.models import IdeaReview
from tests.browser import (
    DESKTOP,
    PHONE,
    Live,
    OpenPage,
    accessible,
    api_client,
    city_ids,
    file_pothole,
    person,
    shoot,
    sign_in_page,
)
from tests.idea_factories import idea_body
from tests.training_factories import open_programme


async def _signed_in(open_page: OpenPage, live: Live, user: User, viewport: Any, lang: str) -> Page:
    page = await open_page(viewport, lang)
    await sign_in_page(page, live, user.email)
    return page


async def _accepted(
    live: Live, resident: User, moderator: User, pothole: uuid.UUID, n: int
) -> list[str]:
    """``n`` potholes filed and accepted through the API; their ids."""
    ids = []
    async with api_client(live, resident) as as_resident, api_client(live, moderator) as as_mod:
        for number in range(n):
            filed = await as_resident.post(
                "/v1/reports",
                json={
                    "reason_id": str(pothole),
                    "lat": 58.3790 + number * 0.0004,
                    "lon": 26.7240,
                    "description": f"Pothole number {number} on the same street.",
                    "attributes": {"size": "small"},
                },
            )
            assert filed.status_code == 201, filed.text
            accepted = await as_mod.post(
                f"/v1/moderation/reports/{filed.json()['id']}/accept",
                headers={"If-Match": f'"{filed.json()["version"]}"'},
            )
            assert accepted.status_code == 200, accepted.text
            ids.append(filed.json()["id"])
    return ids


async def test_the_department_loop_from_a_report_to_the_supervisors_figures(
    live: Live, open_page: OpenPage
) -> None:
    roads, pothole = await city_ids(live)
    tag = uuid.uuid4().hex[:6]
    resident = await person(live, f"loop-resident-{tag}@example.org", "et")
    moderator = await person(live, f"loop-mod-{tag}@example.org", "en", (Role.moderator, None))
    staff = await person(live, f"loop-staff-{tag}@example.org", "en", (Role.staff, roads))
    supervisor = await person(live, f"loop-head-{tag}@example.org", "en", (Role.supervisor, roads))
    admin = await person(live, f"loop-admin-{tag}@example.org", "en", (Role.admin, None))
    async with api_client(live, admin) as as_admin:
        template = await as_admin.post(
            "/v1/admin/response-templates",
            json={
                "code": f"patched-{tag}",
                "reason_id": str(pothole),
                "outcome": "fixed",
                "texts": {"et": "Auk on lapitud. Aitäh!", "en": "The pothole is patched."},
            },
        )
        assert template.status_code == 201, template.text

    phone = await _signed_in(open_page, live, resident, PHONE, "et")
    code = await file_pothole(phone, live, pothole, "A pothole that shakes the bus.")
    async with api_client(live, staff) as as_staff:
        report_id = (await as_staff.get(f"/v1/reports/by-code/{code}")).json()["id"]

    # The moderator accepts it from the console's moderation queue.
    desk = await _signed_in(open_page, live, moderator, DESKTOP, "en")
    await desk.goto(f"{live.url}/staff/moderation")
    await accessible(desk)
    await shoot(desk, "console-moderation-en-1366")
    async with desk.expect_navigation():
        await desk.locator(
            f"form[action='/staff/moderation/reports/{report_id}/accept'] button[type=submit]"
        ).click()

    # Staff find it in the queue, claim it and ask the reporter.
    work = await _signed_in(open_page, live, staff, DESKTOP, "en")
    await work.goto(f"{live.url}/staff/queue")
    await accessible(work)
    await shoot(work, "console-queue-en-1366")
    await work.get_by_role("link", name=code).first.click()
    await expect(work.locator("h1")).to_contain_text(code)
    await accessible(work)
    async with work.expect_navigation():
        await work.locator(f"form[action='/staff/reports/{report_id}/claim'] button").click()
    await work.locator("#f-ask-question").fill("Is it in the bus lane or beside it?")
    async with work.expect_navigation():
        await work.locator(f"form[action='/staff/reports/{report_id}/ask'] button").click()

    # The resident answers on the report's page.
    await phone.goto(f"{live.url}/reports/{code}")
    await phone.locator("#field-answer").fill("In the bus lane.")
    async with phone.expect_navigation():
        await phone.locator(f"form[action='/reports/{code}/clarification'] button").click()

    # Staff answer with the template, previewed in the reporter's language (Estonian).
    await work.goto(f"{live.url}/staff/reports/{report_id}")
    await expect(work.get_by_text("Auk on lapitud. Aitäh!")).to_be_visible()
    await work.locator(f"input[name=template_id][value='{template.json()['id']}']").check()
    await accessible(work)
    await shoot(work, "console-workspace-en-1366")
    async with work.expect_navigation():
        await work.locator(f"form[action='/staff/reports/{report_id}/answer'] button").click()

    # Not resolved: reopened; staff answer again; resolved: closed.
    await phone.goto(f"{live.url}/reports/{code}")
    await phone.locator("input[name=resolved][value=false]").check()
    await phone.locator("#field-score").select_option("2")
    async with phone.expect_navigation():
        await phone.locator(f"form[action='/reports/{code}/rating'] button").click()
    await work.goto(f"{live.url}/staff/reports/{report_id}")
    await work.locator("#f-answer-outcome").select_option("fixed")
    await work.locator("#f-answer-text").fill("Patched again, deeper this time.")
    async with work.expect_navigation():
        await work.locator(f"form[action='/staff/reports/{report_id}/answer'] button").click()
    await phone.goto(f"{live.url}/reports/{code}")
    await phone.locator("input[name=resolved][value=true]").check()
    await phone.locator("#field-score").select_option("5")
    async with phone.expect_navigation():
        await phone.locator(f"form[action='/reports/{code}/rating'] button").click()
    async with api_client(live, staff) as as_staff:
        assert (await as_staff.get(f"/v1/reports/{report_id}")).json()["state"] == "closed"

    # The supervisor sees the two answers in the department's figures.
    head = await _signed_in(open_page, live, supervisor, DESKTOP, "en")
    await head.goto(f"{live.url}/staff/kpis?department={roads}")
    await accessible(head)
    await shoot(head, "console-kpis-en-1366")
    download = await head.request.get(f"{live.url}/staff/kpis.csv?department={roads}")
    assert download.ok
    rows = list(csv.DictReader(io.StringIO(await download.text())))
    assert sum(int(row["answered"] or 0) for row in rows) >= 1
    assert sum(int(row["reopened"] or 0) for row in rows) >= 1


async def test_a_bulk_assignment_and_an_extension_the_supervisor_approves(
    live: Live, open_page: OpenPage
) -> None:
    roads, pothole = await city_ids(live)
    tag = uuid.uuid4().hex[:6]
    resident = await person(live, f"bulk-resident-{tag}@example.org", "et")
    moderator = await person(live, f"bulk-mod-{tag}@example.org", "en", (Role.moderator, None))
    staff = await person(live, f"bulk-staff-{tag}@example.org", "en", (Role.staff, roads))
    colleague = await person(live, f"bulk-mate-{tag}@example.org", "en", (Role.staff, roads))
    supervisor = await person(live, f"bulk-head-{tag}@example.org", "en", (Role.supervisor, roads))
    ids = await _accepted(live, resident, moderator, pothole, 5)

    work = await _signed_in(open_page, live, staff, DESKTOP, "en")
    await work.goto(f"{live.url}/staff/queue?limit=100")
    for report_id in ids:
        await work.locator(f"#pick-{report_id}").check()
    await work.locator("#bulk-form input[name=action][value=assign]").check()
    await work.locator("#bulk-form select[name=user_id]").select_option(str(colleague.id))
    async with work.expect_navigation():
        await work.locator("#bulk-form button[type=submit]").click()
    results = work.locator(".bulk-results tbody tr")
    await expect(results).to_have_count(5)
    await expect(work.locator(".bulk-results .badge.ok")).to_have_count(5)
    await accessible(work)
    async with api_client(live, staff) as as_staff:
        listed = await as_staff.get(
            f"/v1/departments/{roads}/queue",
            params={"assignee": str(colleague.id), "limit": 100},
        )
        assert listed.status_code == 200, listed.text
        assigned = {item["report"]["id"] for item in listed.json()["items"]}
        assert set(ids) <= assigned

    # More time for the first one: asked in the workspace, approved by the supervisor.
    first = ids[0]
    await work.goto(f"{live.url}/staff/reports/{first}")
    later = (system_clock() + timedelta(days=30)).strftime("%Y-%m-%dT10:00")
    await work.locator("#f-extension-due_at").fill(later)
    await work.locator("#f-extension-justification").fill("The asphalt plant opens in spring.")
    async with work.expect_navigation():
        await work.locator(f"form[action='/staff/reports/{first}/extension'] button").click()
    head = await _signed_in(open_page, live, supervisor, DESKTOP, "en")
    await head.goto(f"{live.url}/staff/requests?department={roads}")
    await accessible(head)
    await shoot(head, "console-requests-en-1366")
    async with head.expect_navigation():
        await head.locator(
            "form[action^='/staff/requests/extensions/'] button.primary"
        ).first.click()
    async with api_client(live, staff) as as_staff:
        shown = (await as_staff.get(f"/v1/reports/{first}")).json()
    assert shown["due_at"].startswith(later[:10])


async def test_a_session_screen_counts_check_ins_from_two_phones(
    live: Live, open_page: OpenPage
) -> None:
    tag = uuid.uuid4().hex[:6]
    async with live.sessionmaker() as session:
        buildings = list(
            (
                await session.execute(
                    select(Building.id)
                    .where(Building.is_pilot_area)
                    .order_by(Building.address)
                    .limit(2)
                )
            ).scalars()
        )
    coordinator = await person(live, f"coord-{tag}@example.org", "en", (Role.coordinator, None))
    residents = [await person(live, f"phone{n}-{tag}@example.org", "et") for n in range(2)]
    async with api_client(live, coordinator) as as_coordinator:
        programme, (training,) = await open_programme(
            as_coordinator,
            {},
            buildings,
            system_clock() + timedelta(minutes=10),
            title="Smart House",
        )
    for resident, building in zip(residents, buildings, strict=True):
        async with api_client(live, resident) as as_resident:
            enrolled = await as_resident.post(
                f"/v1/training/programmes/{programme['id']}/enrolments",
                json={"building_id": str(building)},
            )
            assert enrolled.status_code == 201, enrolled.text

    screen = await _signed_in(open_page, live, coordinator, DESKTOP, "en")
    await screen.goto(f"{live.url}/staff/training/sessions/{training['id']}/screen")
    await accessible(screen)
    code = (await screen.locator(".screen-code [aria-hidden=true]").inner_text()).strip()
    assert len(code) == 6
    await expect(screen.locator(".screen-number")).to_have_text("0")
    for resident in residents:
        phone = await _signed_in(open_page, live, resident, PHONE, "et")
        await phone.goto(f"{live.url}/training/check-in")
        await phone.locator("#field-code").fill(code)
        async with phone.expect_navigation():
            await phone.locator("form.check-in button[type=submit]").click()
        await expect(phone.locator(".notice[role=status]")).to_be_visible()
    # The screen's script fetches the count every few seconds.
    await expect(screen.locator(".screen-number")).to_have_text("2", timeout=15_000)
    await shoot(screen, "console-session-screen-en-1366")
    await screen.goto(f"{live.url}/staff/training/programmes/{programme['id']}")
    await accessible(screen)


async def test_an_expert_scores_an_idea_without_seeing_its_author(
    live: Live, open_page: OpenPage
) -> None:
    roads, _ = await city_ids(live)
    tag = uuid.uuid4().hex[:6]
    admin = await person(live, f"idea-admin-{tag}@example.org", "en", (Role.admin, None))
    expert = await person(live, f"expert-{tag}@example.org", "en")
    author = await person(live, f"idea-author-{tag}@example.org", "et")
    async with api_client(live, admin) as as_admin:
        area = await as_admin.post(
            "/v1/idea-areas",
            json={
                "code": f"parks-{tag}",
                "name": "Parks",
                "department_id": str(roads),
                "min_reviews": 1,
            },
        )
        assert area.status_code == 201, area.text
        joined = await as_admin.post(
            f"/v1/idea-areas/{area.json()['id']}/experts", json={"user_id": str(expert.id)}
        )
        assert joined.status_code == 200, joined.text
    async with api_client(live, author) as as_author:
        created = await as_author.post(
            "/v1/ideas", json=idea_body(area.json()["id"], "A drinking fountain in the Toome park")
        )
        assert created.status_code == 201, created.text
        submitted = await as_author.post(f"/v1/ideas/{created.json()['id']}/submit")
        assert submitted.status_code == 200, submitted.text
    await live.work("idea_review_sweep")
    async with live.sessionmaker() as session:
        review_id = await session.scalar(
            select(IdeaReview.id).where(IdeaReview.expert_id == expert.id)
        )
    assert review_id is not None

    page = await _signed_in(open_page, live, expert, DESKTOP, "en")
    await page.goto(f"{live.url}/my/reviews/{review_id}")
    await accessible(page)
    content = await page.content()
    assert author.email not in content and "Mari" not in content
    for fieldset in await page.locator("form.scores fieldset").all():
        await fieldset.locator("input[value='4']").check()
    await page.locator("#field-comment").fill("Cheap, welcome, and the water main is close.")
    await shoot(page, "console-review-en-1366")
    async with page.expect_navigation():
        await page.locator("form.scores button[type=submit]").click()
    async with api_client(live, expert) as as_expert:
        review = (await as_expert.get(f"/v1/me/idea-reviews/{review_id}")).json()
    assert review["status"] == "submitted"

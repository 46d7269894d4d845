"""Fixtures of the browser tests: the app served over real HTTP on its own database, a real
arq worker, and Debian's Chromium driven by Playwright, with axe-core's accessibility check.

* ``live`` (per test module): a fresh copy of the migrated, seeded template database
  (``<name>_browser_<worker>``), the app served by uvicorn on a free port in the test's event
  loop, with its own engine and pool, as ``make run`` serves it (no shared test transaction:
  the browser's requests commit).
* ``live.work()``: a burst-mode arq worker over the live app's queue (mail, notices).
* ``browser``: one Chromium per test process (``MEIELINN_CHROMIUM`` or /usr/bin/chromium,
  headless, no sandbox as root, no background networking: the machine has no internet).
* ``open_page(viewport, language)``: a new browser context (cookies of its own) and page.
* ``accessible(page)``: axe-core on the page; fails on any serious or critical violation.
* ``shoot(page, name)``: a full-page screenshot into ``MEIELINN_SCREENSHOTS`` (default
  ``.local/screenshots``); the README's pictures come from ``docs/screenshots``.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from service.auth import service as auth
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import RegisterRequest
from service.auth.tokens import issue_access_token
from service.catalog.models import Reason
from service.city.models import Department
from service.clock import system_clock
from service.config import Settings
from service.db import create_sessionmaker
from service.main import create_app, create_redis
from tests.burst import BurstResult, burst
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BLOCKING = {"serious", "critical"}


@dataclass
class Live:
    """The app served for a browser, and what a test needs beside it."""

    url: str
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[Any]

    async def work(self, *jobs: str) -> BurstResult:
        """Run the workers until their queues are empty (the outbox relayed first, then
        ``jobs``, e.g. a sweep the cron would start)."""
        result = await burst(self.settings, self.sessionmaker, *jobs, worker_name="browser-test")
        assert result.jobs_failed == 0, f"{result.jobs_failed} job(s) failed"
        return result


@pytest.fixture(scope="module")
async def live(settings: Settings) -> AsyncIterator[Live]:
    from tests.conftest import XDIST_WORKER, create_test_database, free_port

    database_url = await create_test_database(settings.database_url, purpose="browser")
    live_settings = settings.model_copy(
        update={
            "database_url": database_url,
            "arq_queue_name": f"meielinn:browser:{XDIST_WORKER}",
            "media_dir": tempfile.mkdtemp(prefix="meielinn-browser-media-"),
            "database_pool_size": 5,
            "map_tile_url": "",
            "public_base_url": "",
        }
    )
    port = free_port()
    live_settings = live_settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    redis = create_redis(live_settings)
    await redis.flushdb()
    await redis.aclose()
    app = create_app(live_settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "the live server did not start"
    engine = create_async_engine(live_settings.database_url, pool_size=2)
    try:
        yield Live(f"http://127.0.0.1:{port}", live_settings, engine, create_sessionmaker(engine))
    finally:
        server.should_exit = True
        await task
        await engine.dispose()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = os.environ.get("MEIELINN_CHROMIUM", "/usr/bin/chromium")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    contexts = []

    async def open_page(viewport: dict[str, int] = DESKTOP, language: str = "et") -> Page:
        context = await browser.new_context(
            viewport=viewport,
            locale=language,
            extra_http_headers={"Accept-Language": language},
            is_mobile=viewport["width"] < 600,
            has_touch=viewport["width"] < 600,
        )
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        await context.close()


# --- people and their clients on the live app ---------------------------------------------


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 110, 100)).save(out, "JPEG")
    return out.getvalue()


async def person(live: Live, email: str, language: str, *grants: tuple[Role, Any]) -> User:
    async with live.sessionmaker() as session:
        user = await auth.create_account(
            session,
            live.settings,
            RegisterRequest(email=email, password=PASSWORD, display_name="Mari", language=language),
            verified_at=system_clock(),
        )
        for role, department in grants:
            session.add(RoleGrant(user_id=user.id, role=role, department_id=department))
        await session.commit()
        return user


async def city_ids(live: Live) -> tuple[uuid.UUID, uuid.UUID]:
    async with live.sessionmaker() as session:
        roads = await session.scalar(select(Department.id).where(Department.code == "roads"))
        pothole = await session.scalar(select(Reason.id).where(Reason.code == "pothole"))
    assert roads and pothole
    return roads, pothole


def api_client(live: Live, user: User) -> httpx.AsyncClient:
    token = issue_access_token(live.settings, user.id, system_clock())
    return httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {token}"})


async def sign_in_page(page: Page, live: Live, email: str, next_path: str = "") -> None:
    """Sign in through the sign-in form, as a person does."""
    await page.goto(f"{live.url}/sign-in" + (f"?next={next_path}" if next_path else ""))
    await page.locator("#field-email").fill(email)
    await page.locator("#field-password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.locator("form[action='/sign-in'] button[type=submit]").click()


async def file_pothole(page: Page, live: Live, pothole: uuid.UUID, description: str) -> str:
    """File a pothole through the filing form (the place by a click on the map, a photo);
    returns its tracking code."""
    await page.goto(f"{live.url}/reports/new?reason={pothole}")
    await page.locator("#filing-map").click()
    await page.locator("select[name=attr_size]").select_option("medium")
    await page.locator("#field-description").fill(description)
    await page.locator("#field-photos").set_input_files(
        [{"name": "pothole.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    async with page.expect_navigation():
        await page.locator("form.filing-form button.primary[type=submit]").click()
    return (await page.locator(".big-code").inner_text()).strip()


async def accessible(page: Page) -> None:
    """Fail on axe-core's serious and critical violations on the page as it is now."""
    results = await Axe().run(page)
    blocking = [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation.get("impact") in BLOCKING
    ]
    assert blocking == [], f"{page.url}: {blocking}"


async def shoot(page: Page, name: str) -> Path:
    folder = Path(os.environ.get("MEIELINN_SCREENSHOTS", ROOT / ".local" / "screenshots"))
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path

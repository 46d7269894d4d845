"""The home page: the map fed by the API's /v1/map, the recent public reports as its list
alternative, and search by tracking code or text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from tests.factories import file_report
from tests.feedback_setup import accepted, cast


async def test_home_lists_public_reports_and_never_unmoderated_ones(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    shown = await accepted(session, people, datetime.now(UTC) - timedelta(hours=1))
    waiting = await file_report(
        session, people.reporter, description="Kuri naaber viskas prügi aknast."
    )
    page = await client.get("/")
    assert page.status_code == 200
    assert shown.tracking_code in page.text
    assert f'href="/reports/{shown.tracking_code}"' in page.text
    assert waiting.tracking_code not in page.text
    assert "Kuri naaber" not in page.text
    # The map reads the API's own clusters; its script is a file, never inline.
    assert 'data-map-url="/v1/map"' in page.text
    assert f'data-tiles="{settings.map_tile_url}"' in page.text
    assert re.search(r'<script src="/static/map\.js\?v=\w+" defer></script>', page.text)
    assert "<script>" not in page.text and 'style="' not in page.text
    assert page.text.count("<h1>") == 1
    # What the map's script asks for answers.
    feed = await client.get("/v1/map", params={"bbox": "26.6,58.3,26.9,58.45", "zoom": 14})
    assert feed.status_code == 200
    assert shown.tracking_code in feed.text and waiting.tracking_code not in feed.text


async def test_search_by_tracking_code_opens_the_report(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    shown = await accepted(session, people, datetime.now(UTC) - timedelta(hours=1))
    waiting = await file_report(session, people.reporter)
    found = await client.get("/", params={"q": shown.tracking_code.lower()})
    assert found.status_code == 303
    assert found.headers["location"] == f"/reports/{shown.tracking_code}"
    # A report the reader may not see is not found: no redirect that would betray it.
    hidden = await client.get("/", params={"q": waiting.tracking_code})
    assert hidden.status_code == 200
    assert f"/reports/{waiting.tracking_code}" not in hidden.text
    assert "Leitud teateid: 0" in hidden.text


async def test_search_by_text_lists_matches_with_their_count(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    at = datetime.now(UTC) - timedelta(hours=1)
    first = await accepted(session, people, at)
    first.description = "Sügav auk Rüütli tänava ristmikul."
    await session.flush()
    other = await accepted(session, people, at)
    found = await client.get("/", params={"q": "rüütli"})
    assert found.status_code == 200
    results = found.text.split('id="results"')[1].split("</section>")[0]
    assert "Leitud teateid: 1" in results
    assert first.tracking_code in results and other.tracking_code not in results
    too_long = await client.get("/", params={"q": "x" * 150})
    assert too_long.status_code == 422
    assert 'id="error-q"' in too_long.text and "See on liiga pikk." in too_long.text

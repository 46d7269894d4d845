"""Open data (PRODUCT.md §9): public reports as CSV and GeoJSON, streamed, with no personal
data and free text only where the reporter allowed it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from geojson_pydantic import FeatureCollection
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect
from starlette.types import Message

from service.config import Settings
from service.opendata import service as opendata
from service.opendata.fields import NAMES
from service.opendata.router import DownloadResponse
from service.reports.models import Report
from tests.factories import accept_report, file_report, make_user
from tests.feedback_setup import cast

WHEN = datetime(2026, 3, 10, 9, tzinfo=UTC)


async def _public(
    session: AsyncSession, settings: Settings, description: str, *, consent: bool, when: datetime
) -> Report:
    people = await cast(session, settings)
    report = await file_report(session, people.reporter, description=description, when=when)
    report.text_in_open_data = consent
    report.address_text = f"{description} street 1"
    report.created_at = when
    return await accept_report(session, people.moderator, report)


def _rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


async def test_csv_has_the_dictionarys_fields_public_reports_only_and_no_personal_data(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    published = await _public(session, settings, "Consented words", consent=True, when=WHEN)
    private = await _public(session, settings, "Private words", consent=False, when=WHEN)
    reporter = await make_user(session, settings, name="Unseen Reporter")
    waiting = await file_report(session, reporter, description="Not moderated", when=WHEN)
    waiting.created_at = WHEN
    await session.flush()
    params = {"since": "2026-03-10T00:00:00Z", "until": "2026-03-11T00:00:00Z"}
    response = await client.get("/v1/open-data/reports.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].split(",") == list(NAMES)
    rows = {row["id"]: row for row in _rows(response.text)}
    assert str(published.id) in rows and str(private.id) in rows
    assert str(waiting.id) not in rows  # submitted, not yet public
    assert rows[str(published.id)]["description"] == "Consented words"
    assert rows[str(published.id)]["address_text"] == "Consented words street 1"
    assert rows[str(private.id)]["description"] == ""
    assert rows[str(private.id)]["address_text"] == ""
    assert "Private words" not in response.text
    assert "@" not in response.text and "Mari Reporter" not in response.text
    dictionary = (await client.get("/v1/open-data/dictionary")).json()
    assert [f["name"] for f in dictionary["fields"]] == list(NAMES)
    assert all(f["description"] for f in dictionary["fields"])


async def test_the_period_filters_and_bad_periods_are_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    early = await _public(session, settings, "Early", consent=True, when=WHEN)
    late = await _public(session, settings, "Late", consent=True, when=WHEN + timedelta(days=40))
    march = await client.get(
        "/v1/open-data/reports.geojson",
        params={"since": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"},
    )
    assert march.status_code == 200
    assert march.headers["content-type"].startswith("application/geo+json")
    collection: FeatureCollection[Any] = FeatureCollection.model_validate_json(march.text)
    ids = {str(feature.id) for feature in collection.features}
    assert str(early.id) in ids and str(late.id) not in ids
    feature = next(f for f in collection.features if str(f.id) == str(early.id))
    assert feature.properties is not None and feature.properties["description"] == "Early"
    assert feature.geometry is not None
    assert set(feature.properties) == set(NAMES) - {"lat", "lon"}
    for params in (
        {"since": "2026-04-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"since": "2026-03-01T00:00:00"},
        {"since": "yesterday"},
    ):
        refused = await client.get("/v1/open-data/reports.csv", params=params)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"


async def test_a_big_set_is_streamed_in_batches(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    template = await _public(session, settings, "Template", consent=False, when=WHEN)
    copies = 4500
    # Copies of one accepted report, made in SQL (the filing service would take minutes).
    await session.execute(
        text(
            "INSERT INTO report (id, tracking_code, reporter_id, filed_on_behalf, reason_id, "
            "category_id, department_id, district_id, location, description, attributes, "
            "anonymous_public, text_in_open_data, state, round, version, created_at, "
            "updated_at, accepted_at, supporters_count, subscribers_count, photo_count, "
            "ambassador_confirmations) "
            "SELECT gen_random_uuid(), 'OD' || lpad(n::text, 8, '0'), reporter_id, false, "
            "reason_id, category_id, department_id, district_id, location, description, "
            "attributes, false, false, state, 1, 1, :when, :when, accepted_at, 0, 0, 0, 0 "
            "FROM report, generate_series(1, :copies) AS n WHERE id = :id"
        ),
        {"when": WHEN + timedelta(days=200), "copies": copies, "id": template.id},
    )
    await session.flush()
    since = WHEN + timedelta(days=199)
    response = await client.get("/v1/open-data/reports.csv", params={"since": since.isoformat()})
    assert response.status_code == 200
    assert len(_rows(response.text)) == copies
    # The body is written a batch of rows at a time (the test client joins the chunks, so
    # the generator behind the response is read here directly).
    chunks = [
        chunk async for chunk in opendata.csv_chunks(sessionmaker, opendata.Period(since), "et")
    ]
    assert len(chunks) == copies // opendata.BATCH + 1
    assert max(len(chunk) for chunk in chunks) < len(response.content) / 4


async def test_unknown_filters_are_refused_and_plain_dates_are_taken(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    march = await _public(session, settings, "March", consent=True, when=WHEN)
    for params in ({"district": "annelinn"}, {"since": "2026-03-01", "sort": "-created_at"}):
        refused = await client.get("/v1/open-data/reports.csv", params=params)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["known"] == ["since", "until", "state", "lang"]
        assert next(iter(set(params) - {"since"})) in refused.json()["detail"]
    # Dates as Open311 takes them: a date is its midnight in Tallinn (UTC+2 in March).
    for since, until, found in (
        ("2026-03-10", "2026-03-11", True),
        ("2026-03-10T00:00:00+02:00", "2026-03-10", False),  # an empty period is refused
        ("2026-03-11", None, False),
        ("2026-03-09", "2026-03-10T11:00:00+02:00", False),  # filed at 11:00 Tallinn time
        ("2026-03-09", "2026-03-10T11:00:01+02:00", True),
    ):
        params = {"since": since, **({"until": until} if until else {})}
        response = await client.get("/v1/open-data/reports.csv", params=params)
        if since == "2026-03-10T00:00:00+02:00":
            assert response.status_code == 422
            continue
        assert response.status_code == 200, (params, response.text)
        ids = {row["id"] for row in _rows(response.text)}
        assert (str(march.id) in ids) is found, params


async def test_downloads_are_bounded_per_process_and_per_address(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _public(session, settings, "Bounded", consent=True, when=WHEN)
    app.state.settings = settings.model_copy(
        update={"open_data_downloads": 2, "open_data_downloads_per_hour": 4}
    )
    url = "/v1/open-data/reports.csv"
    assert (await client.get(url)).status_code == 200
    slots = app.state.open_data_slots
    assert (slots.size, slots.taken) == (2, 0)  # given back when the download ended
    # Two downloads streaming (their clients still reading): a third waits.
    assert slots.take() and slots.take()
    busy = await client.get("/v1/open-data/reports.geojson")
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "60"
    assert busy.json()["reason"] == "downloads_busy"
    slots.give_back()
    assert (await client.get(url)).status_code == 200
    slots.give_back()
    # One address: four an hour (the busy one counted too).
    assert (await client.get(url)).status_code == 200
    limited = await client.get(url)
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    assert slots.taken == 0


async def test_the_export_transaction_ends_when_its_client_stops_reading(
    session: AsyncSession,
) -> None:
    export = await session.begin_nested()  # the export's transaction, in the test's
    await opendata.limit_idle_time(session, 1.5)
    applied = await session.execute(
        text("SELECT current_setting('idle_in_transaction_session_timeout')")
    )
    assert applied.scalar_one() == "1500ms"
    await export.rollback()  # as the export ends
    # For that transaction only.
    after = await session.execute(
        text("SELECT current_setting('idle_in_transaction_session_timeout')")
    )
    assert after.scalar_one() == "0"


@pytest.mark.parametrize("gone_at", ["http.response.start", "http.response.body"])
async def test_an_abandoned_download_gives_its_slot_back(gone_at: str) -> None:
    closed: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"id,state\r\n"
            yield b"1,accepted\r\n"
        finally:
            closed.append(True)  # the export's session is closed here

    async def send(message: Message) -> None:
        if message["type"] == gone_at:
            raise OSError("the client went away")

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    slots = opendata.DownloadSlots(1)
    assert slots.take()
    response = DownloadResponse(body(), slots.give_back, media_type="text/csv")
    with pytest.raises((ClientDisconnect, OSError)):
        await response({"type": "http", "asgi": {"spec_version": "2.4"}}, receive, send)
    assert slots.taken == 0
    assert closed == ([True] if gone_at == "http.response.body" else [])

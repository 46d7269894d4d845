"""The city's figures: the league table on the page holds the API's KPI numbers for the same
data and period, the charts are images with an accessible name beside a table of the same
numbers, and the open-data page lists the API's downloads and the fields' dictionary."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.languages import Language
from service.opendata.fields import FIELDS
from service.readable import readable_number
from service.web.i18n import translate
from tests.test_feedback_kpis import NOW, PERIOD, _data_set

ENGLISH = {"Accept-Language": "en"}
FIGURES = (
    "received",
    "answered",
    "on_time",
    "on_time_percent",
    "median_answer_hours",
    "p90_answer_hours",
    "overdue_now",
    "average_rating",
)


def _shown(value: Any, language: Language = Language.en) -> str:
    return "–" if value is None else readable_number(value, language)


def _row(html: str, code: str) -> dict[str, str]:
    found = re.search(rf'<tr data-department="{re.escape(code)}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {code}"
    cells = re.findall(r'<td class="num" data-figure="(\w+)">([^<]*)</td>', found.group(1))
    return dict(cells)


async def test_the_league_table_shows_the_apis_numbers(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _data_set(session, settings)
    app.state.clock = lambda: NOW
    api = await client.get("/v1/stats/departments", params=PERIOD)
    assert api.status_code == 200, api.text
    page = await client.get("/figures", params=PERIOD, headers=ENGLISH)
    assert page.status_code == 200, page.text
    codes = [row["department"]["code"] for row in api.json()["departments"]]
    # The same departments in the same order, with the same figures.
    assert re.findall(r'<tr data-department="([^"]+)">', page.text) == codes
    for row in api.json()["departments"]:
        assert _row(page.text, row["department"]["code"]) == {
            name: _shown(row[name]) for name in FIGURES
        }
    # In Estonian, the same numbers with Estonian separators.
    estonian = await client.get("/figures", params=PERIOD)
    for row in api.json()["departments"]:
        assert _row(estonian.text, row["department"]["code"]) == {
            name: _shown(row[name], Language.et) for name in FIGURES
        }


async def test_weekly_figures_are_the_apis_for_each_week(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _data_set(session, settings)
    app.state.clock = lambda: NOW
    page = await client.get("/figures", params={**PERIOD, "department": "kpi-a"}, headers=ENGLISH)
    assert page.status_code == 200, page.text
    weeks = re.search(r'<table class="weeks">(.*?)</table>', page.text, re.S)
    assert weeks
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</th>(.*?)</tr>", weeks.group(1), re.S)
    assert len(rows) == 8
    # The last week is the one holding 31 October: Monday 26 October to Sunday 1 November.
    monday = date(2026, 10, 26)
    for back, cells in zip(range(7, -1, -1), rows, strict=True):
        first = monday - timedelta(days=7 * back)
        api = await client.get(
            "/v1/stats/departments",
            params={"from": first.isoformat(), "to": (first + timedelta(days=6)).isoformat()},
        )
        figures = next(r for r in api.json()["departments"] if r["department"]["code"] == "kpi-a")
        shown = re.findall(r'<td class="num">([^<]*)</td>', cells)
        assert shown == [
            _shown(figures["answered"]),
            _shown(figures["on_time_percent"]),
            _shown(figures["median_answer_hours"]),
        ]


async def test_the_charts_have_an_accessible_name(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _data_set(session, settings)
    app.state.clock = lambda: NOW
    page = await client.get("/figures", params=PERIOD)
    charts = re.findall(r"<svg [^>]*>", page.text)
    assert len(charts) == 3
    for chart in charts:
        assert 'role="img"' in chart
        labelled = re.search(r'aria-labelledby="([^"]+)"', chart)
        assert labelled
        for part in labelled.group(1).split():
            text = re.search(rf'id="{part}">([^<]+)<', page.text)
            assert text and text.group(1).strip(), part
    assert "Tähtaegselt antud vastuste osakaal osakonniti" in page.text
    # The departments that answered are drawn, with their share as text.
    assert page.text.count('<rect class="bar"') >= 2 + 2 * 8


async def test_a_bad_period_comes_back_next_to_its_field_in_estonian(
    client: AsyncClient,
) -> None:
    page = await client.get("/figures", params={"from": "2026-13-01"})
    assert page.status_code == 422
    assert 'id="error-from">Sisestage kuupäev.' in page.text
    backwards = await client.get("/figures", params={"from": "2026-10-31", "to": "2026-10-01"})
    assert backwards.status_code == 422
    assert 'id="error-from">Alguskuupäev on hilisem kui lõppkuupäev.' in backwards.text
    # The page still shows the default period's table.
    assert "<table" in backwards.text


async def test_the_open_data_page_lists_the_downloads_and_the_dictionary(
    client: AsyncClient,
) -> None:
    page = await client.get("/open-data")
    assert page.status_code == 200
    for link in ("/v1/open-data/reports.csv?lang=et", "/v1/open-data/reports.geojson?lang=et"):
        assert f'href="{link}"' in page.text
        download = await client.get(link)
        assert download.status_code == 200, download.text
    assert "text/csv" in page.text and "application/geo+json" in page.text
    names = re.findall(r'<th scope="row"><code>([^<]+)</code></th>', page.text)
    assert names == [f.name for f in FIELDS]
    # The dictionary in the reader's language: every field's meaning is translated.
    for item in FIELDS:
        for language in (Language.et, Language.ru):
            assert translate(language, item.description) != item.description, item.name
        assert translate(Language.et, item.description) in page.text.replace("&#34;", '"')
    russian = await client.get("/open-data", headers={"Accept-Language": "ru"})
    assert "Постоянный идентификатор сообщения (UUID)." in russian.text
    assert 'href="/v1/open-data/reports.csv?lang=ru"' in russian.text

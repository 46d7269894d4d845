"""The city's figures: the departments' league table with charts, and the open-data
downloads with their dictionary.

The league table is ``GET /v1/stats/departments`` (``service.feedback.stats.league_table``)
over the chosen days; the weekly figures are one department's row of that table over each of
the last weeks (``stats.department_figures``). Charts are drawn here as inline SVG, each with
an accessible name and the same numbers in a table beside it. The open-data page links the
API's downloads and shows the dictionary of ``GET /v1/open-data/dictionary``
(``service.opendata.service.dictionary``), its texts in the reader's language where the
catalogue has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from service.errors import InvalidInput
from service.feedback import stats
from service.feedback.schemas import DepartmentKpis, KpiFigures, LeagueTable
from service.opendata import service as opendata
from service.web.dependencies import Page
from service.web.forms import FormErrors, app_error, field_errors
from service.web.i18n import translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

WEEKS = 8
DAY = TypeAdapter(date)
# The charts' drawing box (SVG user units; the picture scales to the page's width).
WIDTH = 640
LABEL_WIDTH = 210
ROW = 30
PLOT_HEIGHT = 180
TOP = 16
BOTTOM = 44


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float | None
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Week:
    start: date
    end: date
    row: KpiFigures

    @property
    def number(self) -> str:
        return _week(self.start)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    maximum: float
    axis_y: float


def department_bars(rows: list[DepartmentKpis]) -> Chart:
    """Horizontal bars: each department's on-time share (0–100)."""
    plot = WIDTH - LABEL_WIDTH - 60
    bars = []
    for index, row in enumerate(rows):
        share = row.on_time_percent or 0.0
        y = TOP + index * ROW
        width = plot * share / 100
        bars.append(
            Bar(
                LABEL_WIDTH,
                y,
                width,
                ROW - 10,
                row.department.name,
                row.on_time_percent,
                LABEL_WIDTH + width + 6,
                y + (ROW - 10) / 2 + 5,
            )
        )
    return Chart(WIDTH, TOP + len(rows) * ROW + 8, bars, 100.0, TOP + len(rows) * ROW)


def week_bars(values: list[tuple[str, float | None]]) -> Chart:
    """Vertical bars, one per week, scaled to the largest value."""
    maximum = max((v for _, v in values if v is not None), default=0.0) or 1.0
    slot = (WIDTH - 40) / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(values):
        height = PLOT_HEIGHT * (value or 0.0) / maximum
        x = 20 + index * slot + slot * 0.15
        y = TOP + PLOT_HEIGHT - height
        bars.append(
            Bar(x, y, slot * 0.7, height, label, value, x + slot * 0.35, TOP + PLOT_HEIGHT + 18)
        )
    return Chart(WIDTH, TOP + PLOT_HEIGHT + BOTTOM, bars, maximum, TOP + PLOT_HEIGHT)


def _day(page: Page, raw: str | None, name: str, errors: FormErrors) -> date | None:
    if not raw:
        return None
    try:
        return DAY.validate_python(raw)
    except ValidationError as exc:
        errors[name] = next(iter(field_errors(exc, page.language).values()))
        return None


def _week(day: date) -> str:
    """A week's short label: its ISO week number."""
    return str(day.isocalendar().week)


async def _weeks(page: Page, department: DepartmentKpis, end: date) -> list[Week]:
    """The department's figures in each of the last ``WEEKS`` weeks (Monday to Sunday) up
    to the week of ``end``, oldest first: its row of the league table of each week."""
    monday = end - timedelta(days=end.weekday())
    found = []
    for back in range(WEEKS - 1, -1, -1):
        first = monday - timedelta(days=7 * back)
        last = first + timedelta(days=6)
        row = await stats.department_figures(
            page.session, department.department.id, first, last, page.now
        )
        found.append(Week(first, last, row))
    return found


@router.get("/figures")
async def figures(
    page: Page,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The departments' league table (``GET /v1/stats/departments``) with its charts."""
    errors = FormErrors()
    first, last = _day(page, start, "from", errors), _day(page, end, "to", errors)
    table: LeagueTable | None = None
    if not errors:
        try:
            table = await stats.league_table(page.session, first, last, page.now)
        except InvalidInput as exc:
            errors = app_error(exc, page.language, "from")
    if table is None:
        table = await stats.league_table(page.session, None, None, page.now)
    rows = {row.department.code: row for row in table.departments}
    chosen = rows.get(department or "") or (table.departments[0] if table.departments else None)
    weekly = await _weeks(page, chosen, table.period.to_date) if chosen else []
    answered = [row for row in table.departments if row.answered]
    return render(
        page,
        "figures/figures.html",
        status_code=422 if errors else 200,
        errors=errors,
        table=table,
        values={"from": start or "", "to": end or ""},
        chosen=chosen.department.code if chosen else None,
        chosen_name=chosen.department.name if chosen else "",
        shares=department_bars(answered),
        weekly=weekly,
        median_chart=week_bars([(_week(w.start), w.row.median_answer_hours) for w in weekly]),
        on_time_chart=week_bars([(_week(w.start), w.row.on_time_percent) for w in weekly]),
    )


@router.get("/open-data")
async def open_data(page: Page) -> Response:
    """The open-data downloads (the API's URLs) and the dictionary of their fields."""
    dictionary: dict[str, Any] = opendata.dictionary()
    language = page.language

    def said(text: str) -> str:
        return translate(language, text)

    fields = [{**f, "description": said(str(f["description"]))} for f in dictionary["fields"]]
    facts = {
        key: said(str(dictionary[key]))
        for key in ("licence", "coordinate_reference_system", "rows", "personal_data")
    }
    return render(
        page,
        "figures/open_data.html",
        fields=fields,
        facts=facts,
        lang=language.value,
    )

"""The department's figures by week in the staff console (``/staff/kpis``, with
``/staff/kpis.csv``): each week asked of the service the API's KPI route calls
(``service.feedback.stats``), drawn as accessible SVG charts with the numbers in a table,
for supervisors and admins.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from starlette.responses import Response

from service.city import service as city
from service.errors import InvalidInput
from service.feedback import stats
from service.feedback.schemas import KpiFigures
from service.web.dependencies import PageContext
from service.web.i18n import N_
from service.web.pages.staff_supervise import (
    DepartmentQuery,
    SupervisorPage,
    chosen,
    supervised_departments,
)
from service.web.templating import page_headers, render

router = APIRouter(include_in_schema=False)

# --- KPIs -----------------------------------------------------------------------------------

WEEK_CHOICES = (4, 8, 12, 26)
WeeksQuery = Annotated[int, Query(ge=1, le=26)]


@dataclass
class Week:
    start: date
    end: date
    figures: KpiFigures


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    week: int
    value: float


@dataclass
class Chart:
    """A bar chart drawn on the server: bars per week, one colour per series."""

    key: str
    title: str
    description: str
    series: list[str]
    unit: str
    top: float
    bars: list[Bar]
    ticks: list[tuple[float, float]]


CHART_WIDTH, CHART_HEIGHT = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48, 8, 12, 32


def _top(values: list[float], fixed: float | None) -> float:
    if fixed is not None:
        return fixed
    highest = max(values, default=0.0)
    if highest <= 0:
        return 1.0
    # A round top: 1, 2, 5 times a power of ten.
    scale = 1.0
    while scale * 10 < highest:
        scale *= 10
    for step in (1, 2, 5, 10):
        if step * scale >= highest:
            return step * scale
    return highest


def chart(
    key: str,
    title: str,
    description: str,
    weeks: list[Week],
    series: list[tuple[str, str]],
    unit: str = "",
    fixed_top: float | None = None,
) -> Chart:
    """``series``: (English name, the figure's field) pairs drawn side by side per week."""
    values = [[getattr(week.figures, name) for week in weeks] for _, name in series]
    present = [float(v) for row in values for v in row if v is not None]
    top = _top(present, fixed_top)
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    slot = plot_width / max(len(weeks), 1)
    bar_width = slot * 0.8 / len(series)
    bars = []
    for s, row in enumerate(values):
        for w, value in enumerate(row):
            if value is None:
                continue
            height = plot_height * min(float(value), top) / top
            bars.append(
                Bar(
                    x=round(PLOT_LEFT + w * slot + slot * 0.1 + s * bar_width, 1),
                    y=round(PLOT_TOP + plot_height - height, 1),
                    width=round(bar_width, 1),
                    height=round(height, 1),
                    series=s,
                    week=w,
                    value=float(value),
                )
            )
    ticks = [
        (top * part / 2, round(PLOT_TOP + plot_height - plot_height * part / 2, 1))
        for part in (0, 1, 2)
    ]
    return Chart(
        key=key,
        title=title,
        description=description,
        series=[name for name, _ in series],
        unit=unit,
        top=top,
        bars=bars,
        ticks=ticks,
    )


def charts(weeks: list[Week]) -> list[Chart]:
    return [
        chart(
            "volume",
            N_("Reports received and answered"),
            N_("Rounds received and answered per week."),
            weeks,
            [(N_("Received"), "received"), (N_("Answered"), "answered")],
        ),
        chart(
            "on-time",
            N_("Answered on time"),
            N_("The share of answered rounds answered by their due time, per week, in percent."),
            weeks,
            [(N_("On time"), "on_time_percent")],
            unit="%",
            fixed_top=100.0,
        ),
        chart(
            "hours",
            N_("Answer time"),
            N_("Median and 90th percentile answer time in working hours, per week."),
            weeks,
            [(N_("Median hours"), "median_answer_hours"), (N_("p90 hours"), "p90_answer_hours")],
        ),
        chart(
            "ratings",
            N_("Reporters' ratings"),
            N_("The reporters' average rating (1–5) of the rounds answered per week."),
            weeks,
            [(N_("Average rating"), "average_rating")],
            fixed_top=5.0,
        ),
        chart(
            "reopened",
            N_("Reopened"),
            N_("The share of answered rounds the reporter reopened, per week, in percent."),
            weeks,
            [(N_("Reopened"), "reopen_percent")],
            unit="%",
            fixed_top=100.0,
        ),
    ]


async def weekly_figures(
    page: PageContext, department_id: uuid.UUID, weeks: int, last_day: date | None
) -> tuple[str, list[Week]]:
    """The department's figures for each of ``weeks`` seven-day weeks, the last ending on
    ``last_day`` (today in the city by default), oldest first: each week is a period the
    API's department figures are asked for (``from``–``to``), so the numbers are the API's."""
    zone = ZoneInfo(await city.city_timezone(page.session))
    end = last_day or page.now.astimezone(zone).date()
    found: list[Week] = []
    name = ""
    for back in range(weeks - 1, -1, -1):
        try:
            week_end = end - timedelta(days=7 * back)
            week_start = week_end - timedelta(days=6)
        except OverflowError:
            # The same refusal as the API's for a period before the calendar's first day.
            raise InvalidInput(stats.OUTSIDE_CALENDAR, field="to") from None
        answer = await stats.department_stats(
            page.session,
            page.person,
            department_id,
            week_start,
            week_end,
            page.now,
            page.language.value,
        )
        name = answer.department.name
        found.append(Week(week_start, week_end, answer.total))
    return name, found


@router.get("/staff/kpis")
async def kpis(
    department: DepartmentQuery = None,
    weeks: WeeksQuery = 12,
    to: Annotated[date | None, Query()] = None,
    page: PageContext = SupervisorPage,
) -> Response:
    departments = await supervised_departments(page)
    department_id = chosen(page, departments, department)
    name, found = "", list[Week]()
    if department_id is not None:
        name, found = await weekly_figures(page, department_id, weeks, to)
    return render(
        page,
        "staff/kpis.html",
        departments=departments,
        department_id=department_id,
        department_name=name,
        weeks=found,
        week_count=weeks,
        week_choices=WEEK_CHOICES,
        to=to,
        charts=charts(found) if found else [],
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        plot_left=PLOT_LEFT,
        plot_right=CHART_WIDTH - PLOT_RIGHT,
        plot_bottom=CHART_HEIGHT - PLOT_BOTTOM,
    )


CSV_COLUMNS = (
    "received",
    "answered",
    "on_time",
    "on_time_percent",
    "median_answer_hours",
    "p90_answer_hours",
    "overdue_now",
    "ratings",
    "average_rating",
    "supporter_ratings",
    "supporters_average_rating",
    "reopened",
    "reopen_percent",
)


@router.get("/staff/kpis.csv")
async def kpis_csv(
    department: DepartmentQuery = None,
    weeks: WeeksQuery = 12,
    to: Annotated[date | None, Query()] = None,
    page: PageContext = SupervisorPage,
) -> Response:
    """The dashboard's numbers, one row a week: the figures as the API gives them."""
    departments = await supervised_departments(page)
    department_id = chosen(page, departments, department)
    found: list[Week] = []
    if department_id is not None:
        _, found = await weekly_figures(page, department_id, weeks, to)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("from", "to", *CSV_COLUMNS))
    for week in found:
        row = week.figures.model_dump()
        writer.writerow(
            (
                week.start.isoformat(),
                week.end.isoformat(),
                *("" if row[name] is None else row[name] for name in CSV_COLUMNS),
            )
        )
    headers = page_headers(page)
    last = found[-1].end.isoformat() if found else "none"
    headers["Content-Disposition"] = f'attachment; filename="kpis-{last}.csv"'
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

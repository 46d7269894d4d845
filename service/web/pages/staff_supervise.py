"""The supervisors' part of the staff console: the requests of their departments to decide
(``/staff/requests``: extension and transfer requests, referred reports to close) and the
department's figures by week (``/staff/kpis``, with ``/staff/kpis.csv``).

The pages call the services the API's routes call (``service.queues.extensions``,
``service.queues.transfers``, ``service.feedback.ratings``, ``service.feedback.stats``) with
the API's request schemas, so a decision here is the decision the API makes: a request of a
department the supervisor does not supervise answers 404, as the API does. Supervisors and
admins open these pages (admins act as supervisors everywhere, as in the API).
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.models import Role
from service.city import service as city
from service.city.models import Department
from service.errors import AppError, Conflict, InvalidInput
from service.feedback import ratings, stats
from service.feedback.schemas import KpiFigures, ReferralClose
from service.queues import extensions, transfers
from service.queues.access import Power, powers
from service.queues.models import RequestState
from service.queues.schemas import ExtensionDecision, TransferDecision
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import page_headers, render

router = APIRouter(include_in_schema=False)

SupervisorPage = Depends(role_page(Role.supervisor, Role.admin))
DepartmentQuery = Annotated[uuid.UUID | None, Query()]
CursorQuery = Annotated[str | None, Query(max_length=500)]
PAGE_SIZE = 50

# What a finished decision tells the supervisor on the page it returns to.
DONE = {
    "extension-approved": N_("The extension was approved: the new deadline is public."),
    "extension-declined": N_("The extension was declined; the deadline stays."),
    "transfer-accepted": N_("The transfer was accepted: the report is in your department now."),
    "transfer-declined": N_("The transfer was declined; the report stays where it is."),
    "referral-closed": N_("The report was closed with your closing word."),
}


REQUEST_STATES = {
    RequestState.pending: N_("waiting for a decision"),
    RequestState.accepted: N_("accepted"),
    RequestState.declined: N_("declined"),
    RequestState.cancelled: N_("cancelled"),
}


async def refused(page: PageContext) -> None:
    """What a refused decision wrote before it was refused is undone, as the API's request
    would be rolled back, before the page is shown again."""
    await page.session.rollback()


# --- departments ----------------------------------------------------------------------------


async def supervised_departments(page: PageContext) -> list[Department]:
    """The departments the person supervises (admins: every department), in the city's
    order: the choices of the pages' department picker."""
    listed = await city.list_departments(page.session)
    if page.person.is_admin:
        return listed
    held = await powers(page.session, page.person)
    return [d for d in listed if held.get(d.id) == Power.supervisor]


def chosen(
    page: PageContext, departments: list[Department], wanted: uuid.UUID | None
) -> uuid.UUID | None:
    """The department asked for (the services check it), or the first the person was made
    supervisor of (whose lists cover those below it), or the first of the choices."""
    if wanted is not None:
        return wanted
    own = page.person.departments(Role.supervisor)
    for department in departments:
        if department.id in own:
            return department.id
    return departments[0].id if departments else None


# --- requests -------------------------------------------------------------------------------


@dataclass
class Decisions:
    """What a form sent back and its errors, by the request's (or report's) id."""

    errors: dict[str, FormErrors] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    message: str = ""


async def requests_page(
    page: PageContext,
    department: uuid.UUID | None,
    *,
    extensions_after: str | None = None,
    transfers_after: str | None = None,
    decisions: Decisions | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    departments = await supervised_departments(page)
    department_id = chosen(page, departments, department)
    names = {d.id: d.name for d in await city.list_departments(page.session, include_inactive=True)}
    values: dict[str, Any] = {
        "departments": departments,
        "department_id": department_id,
        "names": names,
        "extension_requests": [],
        "transfer_requests": [],
        "referrals": [],
        "extensions_next": None,
        "transfers_next": None,
    }
    if department_id is not None:
        rows, values["extensions_next"] = await extensions.requests_page(
            page.session,
            page.person,
            department_id,
            subtree=True,
            state=RequestState.pending,
            limit=PAGE_SIZE,
            cursor=extensions_after,
        )
        values["extension_requests"] = [extensions.to_request_view(row) for row in rows]
        incoming, values["transfers_next"] = await transfers.requests_page(
            page.session,
            page.person,
            department_id,
            incoming=True,
            state=RequestState.pending,
            limit=PAGE_SIZE,
            cursor=transfers_after,
        )
        values["transfer_requests"] = [
            transfers.to_request_view(request, code) for request, code in incoming
        ]
        values["referrals"] = await ratings.referred_reports(
            page.session,
            page.person,
            department_id,
            language=page.language.value,
            now=page.now,
        )
    decisions = decisions or Decisions()
    return render(
        page,
        "staff/requests.html",
        status_code=status_code,
        errors=decisions.errors,
        values=decisions.values,
        message=decisions.message,
        done=translate(page.language, DONE[done]) if done in DONE else "",
        **values,
    )


@router.get("/staff/requests")
async def requests(
    request: Request,
    department: DepartmentQuery = None,
    extensions_after: CursorQuery = None,
    transfers_after: CursorQuery = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
    page: PageContext = SupervisorPage,
) -> Response:
    return await requests_page(
        page,
        department,
        extensions_after=extensions_after,
        transfers_after=transfers_after,
        done=done,
    )


def _back(department: str | None, done: str) -> RedirectResponse:
    try:
        query = f"department={uuid.UUID(department or '')}&" if department else ""
    except ValueError:
        query = ""
    return RedirectResponse(f"/staff/requests?{query}done={done}", status_code=303)


def _department_of(form_department: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(form_department) if form_department else None
    except ValueError:
        return None


def _without_empty(fields: dict[str, str]) -> dict[str, str]:
    """An empty field of a form is one not given (the API's optional fields are absent)."""
    return {name: value for name, value in fields.items() if value.strip()}


async def _decided_again(
    page: PageContext, key: str, fields: dict[str, str], exc: ValidationError | AppError
) -> Response:
    """The requests page again with the refusal next to the decision's form."""
    department = _department_of(fields.get("department"))
    if isinstance(exc, ValidationError):
        errors, status_code = field_errors(exc, page.language), 422
    else:
        await refused(page)
        errors, status_code = app_error(exc, page.language, "note"), exc.status
        state = exc.extensions.get("state")
        if isinstance(exc, Conflict) and state in REQUEST_STATES:
            errors["note"] = translate(
                page.language,
                N_("Someone decided this already: the request is {state}."),
                state=translate(page.language, REQUEST_STATES[state]),
            )
    decisions = Decisions(errors={key: errors}, values={key: fields})
    return await requests_page(page, department, decisions=decisions, status_code=status_code)


def _decision_refused(exc: Exception) -> bool:
    """Refusals shown next to the form (a 403 too: resetting the clock of a declined
    transfer); a 404 is the error page the API's 404 is (a request of another department
    is not theirs to know of)."""
    if isinstance(exc, ValidationError):
        return True
    return isinstance(exc, AppError) and exc.status not in (401, 404)


@router.post("/staff/requests/extensions/{request_id}/{decision}", dependencies=[CSRF])
async def decide_extension(
    request_id: uuid.UUID,
    decision: str,
    request: Request,
    page: PageContext = SupervisorPage,
) -> Response:
    if decision not in ("approve", "decline"):
        raise InvalidInput("Approve or decline.", field="decision")
    form = await request.form()
    fields = text_fields(form, "note", "department")
    try:
        body = parse(ExtensionDecision, _without_empty({"note": fields.get("note", "")}))
        act = extensions.approve if decision == "approve" else extensions.decline
        await act(page.session, page.person, request_id, body.note, page.now)
    except (ValidationError, AppError) as exc:
        if not _decision_refused(exc):
            raise
        return await _decided_again(page, str(request_id), fields, exc)
    done = "extension-approved" if decision == "approve" else "extension-declined"
    return _back(fields.get("department"), done)


@router.post("/staff/requests/transfers/{request_id}/{decision}", dependencies=[CSRF])
async def decide_transfer(
    request_id: uuid.UUID,
    decision: str,
    request: Request,
    page: PageContext = SupervisorPage,
) -> Response:
    if decision not in ("accept", "decline"):
        raise InvalidInput("Accept or decline.", field="decision")
    form = await request.form()
    fields = text_fields(form, "note", "reset_clock", "department")
    try:
        body = parse(
            TransferDecision,
            _without_empty(
                {"note": fields.get("note", ""), "reset_clock": fields.get("reset_clock", "")}
            ),
        )
        await transfers.decide(
            page.session,
            page.person,
            request_id,
            accept=decision == "accept",
            note=body.note,
            reset_clock=body.reset_clock,
            now=page.now,
        )
    except (ValidationError, AppError) as exc:
        if not _decision_refused(exc):
            raise
        return await _decided_again(page, str(request_id), fields, exc)
    done = "transfer-accepted" if decision == "accept" else "transfer-declined"
    return _back(fields.get("department"), done)


@router.post("/staff/requests/referrals/{report_id}/close", dependencies=[CSRF])
async def close_referral(
    report_id: uuid.UUID, request: Request, page: PageContext = SupervisorPage
) -> Response:
    form = await request.form()
    fields = text_fields(form, "note", "department")
    try:
        body = parse(ReferralClose, {"note": fields.get("note", "")})
        await ratings.close_referred(page.session, page.person, report_id, body, page.now)
    except (ValidationError, AppError) as exc:
        if not _decision_refused(exc):
            raise
        return await _decided_again(page, str(report_id), fields, exc)
    return _back(fields.get("department"), "referral-closed")


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

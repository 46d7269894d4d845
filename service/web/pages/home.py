"""The home page: the map of public reports, the latest reports (the map's list
alternative), and search by tracking code or text.

The map's points and clusters come from the API's own ``/v1/map`` (``static/map.js``); the
list and the search call the same service as ``GET /v1/reports``, with the caller's access.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints, TypeAdapter, ValidationError
from starlette.responses import RedirectResponse, Response

from service.errors import NotFound
from service.fields import PlainText
from service.reports import views
from service.reports.schemas import ReportView
from service.web.dependencies import Page
from service.web.forms import FormErrors, field_errors
from service.web.pages.report_words import STATE_NAMES, STATE_TONES
from service.web.templating import render

router = APIRouter(include_in_schema=False)

RECENT = 20
FOUND = 20
# The API's ``q`` of ``GET /v1/reports``: text in the code, the address or the description.
SearchText = TypeAdapter(
    Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
    ]
)
TRACKING_CODE = re.compile(r"^ML-[0-9A-Z]{4}-[0-9A-Z]{4}$", re.IGNORECASE)
# Where the map opens when no report gives it a place to show: the city's centre.
DEFAULT_CENTRE = (58.3780, 26.7290)


def map_box(reports: list[ReportView]) -> tuple[float, float, float, float] | None:
    """The box around the listed reports (south, west, north, east), for the map to open on."""
    if not reports:
        return None
    lats = [r.location.lat for r in reports]
    lons = [r.location.lon for r in reports]
    return min(lats), min(lons), max(lats), max(lons)


@router.get("/")
async def home(page: Page, q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    language = str(page.language)
    errors = FormErrors()
    found: list[ReportView] | None = None
    total: int | None = None
    text = None
    if q is not None and q.strip():
        try:
            text = SearchText.validate_python(q)
        except ValidationError as exc:
            errors = field_errors(exc, page.language)
            errors = FormErrors({"q": next(iter(errors.values()))})
    if text is not None and TRACKING_CODE.match(text):
        try:
            report = await views.view(
                page.session, page.actor, page.now, language, tracking_code=text
            )
        except NotFound:
            pass
        else:
            return RedirectResponse(f"/reports/{report.tracking_code}", status_code=303)
    if text is not None:
        found, _, total = await views.search_reports(
            page.session,
            page.actor,
            views.ReportFilters(text=text),
            now=page.now,
            language=language,
            limit=FOUND,
            cursor=None,
            with_total=True,
        )
    recent, _ = await views.list_reports(
        page.session,
        page.actor,
        views.ReportFilters(),
        now=page.now,
        language=language,
        limit=RECENT,
        cursor=None,
    )
    return render(
        page,
        "home.html",
        status_code=422 if errors else 200,
        recent=recent,
        found=found,
        total=total,
        q=q or "",
        errors=errors,
        box=map_box(recent),
        centre=DEFAULT_CENTRE,
        state_names=STATE_NAMES,
        state_tones=STATE_TONES,
    )

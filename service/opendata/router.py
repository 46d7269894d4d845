"""Open data (PRODUCT.md §9): public reports as CSV and GeoJSON, and the fields' dictionary.

Anyone may download them: no personal data is in them (``service.opendata.fields``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from service.auth.policy import PUBLIC
from service.catalog.schemas import AcceptLanguage, LangQuery, pick_language
from service.errors import PROBLEM, InvalidInput
from service.opendata import service
from service.reports.states import ReportState

router = APIRouter(prefix="/v1/open-data", tags=["open data"], dependencies=[PUBLIC])

Since = Annotated[
    datetime | None, Query(description="Reports filed at or after this instant (ISO 8601).")
]
Until = Annotated[datetime | None, Query(description="Reports filed before this instant.")]
States = Annotated[list[ReportState] | None, Query(description="Only reports in these states.")]


def _period(since: datetime | None, until: datetime | None, state: Any) -> service.Period:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone offset (e.g. Z).", field=name)
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be later than since.", field="until")
    return service.Period(since=since, until=until, states=state)


def _filename(kind: str, period: service.Period) -> str:
    start = period.since.date().isoformat() if period.since else "start"
    end = period.until.date().isoformat() if period.until else "now"
    return f'attachment; filename="meielinn-reports-{start}-{end}.{kind}"'


@router.get(
    "/reports.csv",
    summary="Public reports as CSV (streamed; no personal data)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, 422: PROBLEM},
)
async def reports_csv(
    request: Request,
    since: Since = None,
    until: Until = None,
    state: States = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> StreamingResponse:
    period = _period(since, until, state)
    return StreamingResponse(
        service.csv_chunks(
            request.app.state.sessionmaker, period, pick_language(lang, accept_language)
        ),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _filename("csv", period)},
    )


@router.get(
    "/reports.geojson",
    summary="Public reports as a GeoJSON FeatureCollection (streamed; no personal data)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/geo+json": {}}}, 422: PROBLEM},
)
async def reports_geojson(
    request: Request,
    since: Since = None,
    until: Until = None,
    state: States = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> StreamingResponse:
    period = _period(since, until, state)
    return StreamingResponse(
        service.geojson_chunks(
            request.app.state.sessionmaker, period, pick_language(lang, accept_language)
        ),
        media_type="application/geo+json",
        headers={"Content-Disposition": _filename("geojson", period)},
    )


@router.get("/dictionary", summary="What every field of the open data means")
async def dictionary() -> dict[str, Any]:
    return service.dictionary()

"""Open data (PRODUCT.md §9): public reports as CSV and GeoJSON, and the fields' dictionary.

Anyone may download them: no personal data is in them (``service.opendata.fields``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
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


@dataclass(frozen=True)
class Download:
    """What a download asks for: the period and states, and the language of reason names."""

    period: service.Period
    language: str

    def stream(self, request: Request, kind: str, media_type: str) -> StreamingResponse:
        chunks = service.csv_chunks if kind == "csv" else service.geojson_chunks
        start = self.period.since.date().isoformat() if self.period.since else "start"
        end = self.period.until.date().isoformat() if self.period.until else "now"
        filename = f"meielinn-reports-{start}-{end}.{kind}"
        return StreamingResponse(
            chunks(request.app.state.sessionmaker, self.period, self.language),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


async def download(
    since: Since = None,
    until: Until = None,
    state: States = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Download:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone offset (e.g. Z).", field=name)
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be later than since.", field="until")
    return Download(
        service.Period(since=since, until=until, states=state),
        pick_language(lang, accept_language),
    )


DownloadDep = Annotated[Download, Depends(download)]


@router.get(
    "/reports.csv",
    summary="Public reports as CSV (streamed; no personal data)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, 422: PROBLEM},
)
async def reports_csv(request: Request, wanted: DownloadDep) -> StreamingResponse:
    return wanted.stream(request, "csv", "text/csv; charset=utf-8")


@router.get(
    "/reports.geojson",
    summary="Public reports as a GeoJSON FeatureCollection (streamed; no personal data)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/geo+json": {}}}, 422: PROBLEM},
)
async def reports_geojson(request: Request, wanted: DownloadDep) -> StreamingResponse:
    return wanted.stream(request, "geojson", "application/geo+json")


@router.get("/dictionary", summary="What every field of the open data means")
async def dictionary() -> dict[str, Any]:
    return service.dictionary()

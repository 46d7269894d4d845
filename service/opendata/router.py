"""Open data (PRODUCT.md §9): public reports as CSV and GeoJSON, and the fields' dictionary.

Anyone may download them: no personal data is in them (``service.opendata.fields``). How a
download is kept from holding the database: ``service.opendata.service``.

Filters are ``since`` and ``until`` (the filing time) and ``state``, plus ``lang``; any other
query parameter answers 422 rather than being ignored (``district=annelinn`` returning the
whole city looks like an answer). Times take the forms Open311's ``start_date`` takes: a
date-time with its offset, or a date, meaning its midnight in the city's time zone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Receive, Scope, Send

from service.auth.dependencies import SettingsDep, client_ip
from service.auth.policy import PUBLIC
from service.catalog.schemas import AcceptLanguage, LangQuery, pick_language
from service.city import service as city
from service.db import SessionDep
from service.errors import PROBLEM, InvalidInput, ServiceUnavailable
from service.fields import PlainText
from service.opendata import service
from service.ratelimit import RateLimiterDep, RateLimitItemPerHour
from service.replicas import read_sessionmaker
from service.reports.states import ReportState

router = APIRouter(prefix="/v1/open-data", tags=["open data"], dependencies=[PUBLIC])

FILTERS = ("since", "until", "state", "lang")
# Seconds a refused download is asked to wait: about a download's time at the city's size.
RETRY_AFTER_SECONDS = 60
ERRORS: dict[int | str, dict[str, Any]] = {422: PROBLEM, 429: PROBLEM, 503: PROBLEM}

Instant = Annotated[str, StringConstraints(max_length=40), PlainText]
Since = Annotated[
    Instant | None,
    Query(
        description="Reports filed at or after this instant: a date-time with its offset "
        "(2026-03-01T00:00:00Z, 2026-03-01T00:00:00+02:00) or a date (2026-03-01: from its "
        "midnight in the city's time zone)."
    ),
]
Until = Annotated[
    Instant | None,
    Query(
        description="Reports filed before this instant, in the same forms (a date means its "
        "midnight: the day itself is left out)."
    ),
]
States = Annotated[list[ReportState] | None, Query(description="Only reports in these states.")]


class _CityZone:
    """The city's time zone, read once per request and only when a date needs it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.zone: ZoneInfo | None = None

    async def get(self) -> ZoneInfo:
        if self.zone is None:
            self.zone = (await city.load_working_calendar(self.session)).zone
        return self.zone


async def _instant(name: str, raw: str | None, zone: _CityZone) -> datetime | None:
    """A date-time with its offset, or a date (its midnight in the city), as Open311 takes
    ``start_date``; 422 for anything else."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    try:
        day: date | None = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        return datetime.combine(day, time(0), await zone.get())
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: a date-time with its offset (2026-03-01T00:00:00Z) or a date (2026-03-01).",
            field=name,
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone offset (e.g. Z).", field=name)
    return moment


@dataclass(frozen=True)
class Download:
    """What a download asks for: the period and states, and the language of reason names."""

    period: service.Period
    language: str


async def download(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    since: Since = None,
    until: Until = None,
    state: States = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Download:
    unknown = sorted(set(request.query_params) - set(FILTERS))
    if unknown:
        raise InvalidInput(
            f"Unknown filter {', '.join(unknown)}: open data is filtered by {', '.join(FILTERS)}.",
            field=unknown[0],
            known=list(FILTERS),
        )
    zone = _CityZone(session)
    start, end = await _instant("since", since, zone), await _instant("until", until, zone)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("until must be later than since.", field="until")
    # Counted once the request is valid: a typo does not use up the hour.
    per_hour = settings.open_data_downloads_per_hour
    await limiter.enforce(
        RateLimitItemPerHour(per_hour),
        "open-data",
        client_ip(request) or "unknown",
        detail=f"At most {per_hour} open-data downloads an hour from one address.",
    )
    return Download(
        service.Period(since=start, until=end, states=state),
        pick_language(lang, accept_language),
    )


DownloadDep = Annotated[Download, Depends(download)]


class DownloadResponse(StreamingResponse):
    """A streamed download that gives its slot back however it ends: read to the end, cut
    off by the database, or never started because its client went away."""

    def __init__(self, content: AsyncIterator[bytes], give_back: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._content = content
        self._give_back = give_back

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._give_back()
            # A generator left before its end closes its session (and transaction) now.
            aclose = getattr(self._content, "aclose", None)
            if aclose is not None:
                await aclose()


def download_slots(request: Request, settings: SettingsDep) -> service.DownloadSlots:
    """This process's download slots (made with the app's first download)."""
    slots: service.DownloadSlots | None = getattr(request.app.state, "open_data_slots", None)
    if slots is None:
        slots = service.DownloadSlots(settings.open_data_downloads)
        request.app.state.open_data_slots = slots
    return slots


SlotsDep = Annotated[service.DownloadSlots, Depends(download_slots)]


def _stream(
    request: Request,
    wanted: Download,
    slots: service.DownloadSlots,
    stall_seconds: float,
    kind: str,
    media_type: str,
) -> StreamingResponse:
    if not slots.take():
        raise ServiceUnavailable(
            f"{slots.size} open-data downloads are running; try again in a minute.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            reason="downloads_busy",
        )
    chunks = service.csv_chunks if kind == "csv" else service.geojson_chunks
    start = wanted.period.since.date().isoformat() if wanted.period.since else "start"
    end = wanted.period.until.date().isoformat() if wanted.period.until else "now"
    filename = f"meielinn-reports-{start}-{end}.{kind}"
    # On a replica when the caller may read stale data (service.replicas).
    content = chunks(read_sessionmaker(request), wanted.period, wanted.language, stall_seconds)
    return DownloadResponse(
        content,
        slots.give_back,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/reports.csv",
    summary="Public reports as CSV (streamed; no personal data)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **ERRORS},
)
async def reports_csv(
    request: Request, wanted: DownloadDep, slots: SlotsDep, settings: SettingsDep
) -> StreamingResponse:
    return _stream(
        request, wanted, slots, settings.open_data_stall_seconds, "csv", "text/csv; charset=utf-8"
    )


@router.get(
    "/reports.geojson",
    summary="Public reports as a GeoJSON FeatureCollection (streamed; no personal data)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/geo+json": {}}}, **ERRORS},
)
async def reports_geojson(
    request: Request, wanted: DownloadDep, slots: SlotsDep, settings: SettingsDep
) -> StreamingResponse:
    return _stream(
        request, wanted, slots, settings.open_data_stall_seconds, "geojson", "application/geo+json"
    )


@router.get("/dictionary", summary="What every field of the open data means")
async def dictionary() -> dict[str, Any]:
    return service.dictionary()

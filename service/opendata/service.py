"""Open data: public reports as CSV or GeoJSON, streamed from a server-side cursor.

The rows are read in batches from a cursor (``yield_per``) in a transaction of the export's
own and written out as they come, so a download of a million reports holds one batch in
memory, not the whole set.

A download is anonymous and holds a pooled database connection, in a transaction, for as
long as its client takes to read it; at a city's size (a million reports, a few hundred MB
of CSV) that is minutes for a good client and forever for one that stops reading. Bounded
three ways, so that downloads can never take the connections every other route needs:

* at most ``MEIELINN_OPEN_DATA_DOWNLOADS`` downloads stream at once per API process (4 of the
  20 pooled connections by default); one more answers 503 with ``Retry-After`` before it
  touches the database (:class:`DownloadSlots`);
* the export's transaction may sit idle waiting for its client at most
  ``MEIELINN_OPEN_DATA_STALL_SECONDS`` (PostgreSQL's ``idle_in_transaction_session_timeout``,
  set for this transaction only): a client that stops reading, or reads a batch slower than
  that, is cut off and its connection freed; each statement is bounded as everywhere by
  ``MEIELINN_DATABASE_STATEMENT_TIMEOUT_SECONDS``;
* one client address starts at most ``MEIELINN_OPEN_DATA_DOWNLOADS_PER_HOUR`` downloads
  (Redis, ``service.ratelimit``), so one client cannot keep taking every slot.

A file the worker writes would free the database entirely, but it would be as old as its
last run: a withdrawn consent to publish one's words, or an erasure, must show in the next
download, so the export is read live.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geojson_pydantic import Feature, Point
from sqlalchemy import and_, case, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.catalog.models import Category, Reason
from service.catalog.service import localized_name
from service.city.models import Department, District
from service.errors import sqlstate
from service.opendata.fields import FIELDS, NAMES
from service.reports.access import public_condition
from service.reports.models import Report
from service.reports.states import ReportState

log = logging.getLogger("meielinn.opendata")

BATCH = 1000


@dataclass(frozen=True)
class Period:
    """Reports filed in [since, until) (either end open), optionally in given states."""

    since: datetime | None = None
    until: datetime | None = None
    states: list[ReportState] | None = None


def _query(period: Period) -> Any:
    consented = col(Report.text_in_open_data)
    query: Any = (
        select(
            col(Report.id),
            col(Report.tracking_code),
            col(Report.state),
            col(Reason.code).label("reason_code"),
            col(Reason.names).label("reason_names"),
            col(Category.code).label("category_code"),
            col(Department.code).label("department_code"),
            col(Department.name).label("department_name"),
            col(District.code).label("district_code"),
            col(District.name).label("district_name"),
            func.ST_Y(col(Report.location)).label("lat"),
            func.ST_X(col(Report.location)).label("lon"),
            col(Report.created_at),
            col(Report.accepted_at),
            col(Report.due_at),
            col(Report.answered_at),
            col(Report.closed_at),
            col(Report.breached_at).is_not(None).label("overdue"),
            col(Report.round).label("rounds"),
            col(Report.supporters_count),
            case((consented, col(Report.description))).label("description"),
            case((consented, col(Report.address_text))).label("address_text"),
        )
        .join(Reason, col(Reason.id) == Report.reason_id)
        .join(Category, col(Category.id) == Report.category_id)
        .join(Department, col(Department.id) == Report.department_id)
        .outerjoin(District, col(District.id) == Report.district_id)
        .where(public_condition())
        .order_by(col(Report.created_at), col(Report.id))
    )
    conditions = []
    if period.since is not None:
        conditions.append(col(Report.created_at) >= period.since)
    if period.until is not None:
        conditions.append(col(Report.created_at) < period.until)
    if period.states:
        conditions.append(col(Report.state).in_([str(s) for s in period.states]))
    return query.where(and_(*conditions)) if conditions else query


def _record(row: Any, language: str) -> dict[str, Any]:
    values = dict(row._mapping)
    values["reason_name"] = localized_name(values.pop("reason_names"), language)
    values["id"] = str(values["id"])
    values["state"] = str(values["state"])
    return {name: values[name] for name in NAMES}


class DownloadSlots:
    """The downloads one process streams at once (the event loop is one thread: a count)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0

    def take(self) -> bool:
        """One slot, or False when all are taken."""
        if self.taken >= self.size:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken = max(0, self.taken - 1)


async def limit_idle_time(session: AsyncSession, seconds: float) -> None:
    """Let PostgreSQL end this transaction's session when it waits for its client longer than
    ``seconds`` between two statements (this transaction only)."""
    await session.execute(
        text("SELECT set_config('idle_in_transaction_session_timeout', :ms, true)"),
        {"ms": str(max(1, round(seconds * 1000)))},
    )


async def _rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    period: Period,
    language: str,
    stall_seconds: float,
) -> AsyncIterator[dict[str, Any]]:
    try:
        async with sessionmaker() as session:
            await limit_idle_time(session, stall_seconds)
            result = await session.stream(_query(period).execution_options(yield_per=BATCH))
            async for partition in result.partitions():
                for row in partition:
                    yield _record(row, language)
            await session.rollback()
    except DBAPIError as exc:
        # The answer has begun, so nothing can be said to the client but an end: most often
        # PostgreSQL ended a download whose client stopped reading (the stall bound).
        log.warning("open-data download cut", extra={"sqlstate": sqlstate(exc)})


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


async def csv_chunks(
    sessionmaker: async_sessionmaker[AsyncSession],
    period: Period,
    language: str,
    stall_seconds: float = 30.0,
) -> AsyncIterator[bytes]:
    """The CSV (RFC 4180, UTF-8, a header row), a batch of rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(NAMES)
    count = 0
    async for record in _rows(sessionmaker, period, language, stall_seconds):
        writer.writerow([_csv_value(record[name]) for name in NAMES])
        count += 1
        if count % BATCH == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def _feature(record: dict[str, Any]) -> bytes:
    properties = {k: v for k, v in record.items() if k not in ("lat", "lon")}
    feature = Feature[Point, dict[str, Any]](
        type="Feature",
        id=record["id"],
        geometry=Point(type="Point", coordinates=(record["lon"], record["lat"])),
        properties=properties,
    )
    return feature.model_dump_json(exclude_none=False).encode()


async def geojson_chunks(
    sessionmaker: async_sessionmaker[AsyncSession],
    period: Period,
    language: str,
    stall_seconds: float = 30.0,
) -> AsyncIterator[bytes]:
    """A GeoJSON FeatureCollection (RFC 7946), one Feature per report, a batch per chunk."""
    yield b'{"type":"FeatureCollection","features":['
    parts: list[bytes] = []
    first = True
    async for record in _rows(sessionmaker, period, language, stall_seconds):
        parts.append(_feature(record) if first else b"," + _feature(record))
        first = False
        if len(parts) >= BATCH:
            yield b"".join(parts)
            parts = []
    parts.append(b"]}")
    yield b"".join(parts)


def dictionary() -> dict[str, Any]:
    """What every field means, for ``GET /v1/open-data/dictionary``."""
    return {
        "licence": "CC BY 4.0",
        "coordinate_reference_system": "EPSG:4326 (WGS84), as filed",
        "rows": "reports a moderator accepted (public reports), oldest first",
        "personal_data": "none: no reporter, contact detail, photo or internal note; the "
        "reporter's own words only where they allowed publishing them",
        "fields": [
            {"name": f.name, "type": f.type, "nullable": f.nullable, "description": f.description}
            for f in FIELDS
        ],
    }

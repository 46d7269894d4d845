"""The hot paths of the reports package in hand-written SQL, run on the request's asyncpg
connection (``service.rawsql``): filing a report in one statement, reading one report with
its photos in one statement, and a page of reports. The ORM read model they mirror
(``repository.view_select``) serves everything else. No rules live here."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.db import table_of
from service.reports.models import Report, ReportEvent

_REPORT_COLUMNS = [
    column.name for column in table_of(Report).columns if column.name not in ("location",)
]
# ``seq`` is the database's to give (report_event.seq).
_EVENT_COLUMNS = [column.name for column in table_of(ReportEvent).columns if column.name != "seq"]
_JSON_COLUMNS = frozenset({"attributes", "data"})


def _placeholders(names: list[str], first: int) -> str:
    return ", ".join(
        f"${first + i}::jsonb" if name in _JSON_COLUMNS else f"${first + i}"
        for i, name in enumerate(names)
    )


_n = len(_REPORT_COLUMNS)
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_EVENT_ARGS = [name for name in _EVENT_COLUMNS if name != "report_id"]
_event_args = iter(range(_n + 5, _n + 5 + len(_EVENT_ARGS)))
# In INSERT … SELECT the parameters' types are not inferred from the target columns.
_EVENT_VALUES = [
    "filed.id"
    if column.name == "report_id"
    else f"CAST(${next(_event_args)} AS {column.type.compile(dialect=_DIALECT)})"
    for column in table_of(ReportEvent).columns
    if column.name != "seq"
]
# The filed report, the reporter's subscription and the first timeline event in one
# statement; nothing is inserted when the tracking code is taken (the caller draws another).
FILE_SQL = f"""WITH filed AS (
    INSERT INTO report ({", ".join(_REPORT_COLUMNS)}, location)
    VALUES ({_placeholders(_REPORT_COLUMNS, 1)},
            ST_SetSRID(ST_MakePoint(${_n + 1}, ${_n + 2}), 4326))
    ON CONFLICT DO NOTHING
    RETURNING id
), subscription AS (
    INSERT INTO report_subscription (report_id, user_id, created_at)
    SELECT id, ${_n + 3}::uuid, ${_n + 4}::timestamptz FROM filed
), event AS (
    INSERT INTO report_event ({", ".join(_EVENT_COLUMNS)})
    SELECT {", ".join(_EVENT_VALUES)}
    FROM filed
)
SELECT count(*) FROM filed"""  # noqa: S608 (column names and placeholders, no values)


async def insert_filed(
    session: AsyncSession,
    report: Report,
    lon: float,
    lat: float,
    subscriber_id: uuid.UUID,
    event: ReportEvent,
) -> bool:
    """Insert ``report`` (at ``lon``/``lat``), ``subscriber_id``'s subscription and
    ``event`` in one statement; False (nothing inserted) when the tracking code is taken."""

    def value(obj: Any, name: str) -> Any:
        found = getattr(obj, name)
        if name in _JSON_COLUMNS:
            return json.dumps(found)
        return str(found) if isinstance(found, StrEnum) else found

    args = [value(report, name) for name in _REPORT_COLUMNS]
    args += [lon, lat, subscriber_id, report.created_at]
    args += [value(event, name) for name in _EVENT_ARGS]
    inserted = await rawsql.fetchrow(session, FILE_SQL, *args)
    assert inserted is not None
    return bool(inserted[0])


# --- the hot reads in hand-written SQL (service.rawsql) ---------------------------------------

# What the views of a report show, in one row: the report's columns, its point, the names of
# its reason, department, district, building and reporter (``view_select`` as plain SQL).
VIEW_COLUMNS = """
    r.id, r.tracking_code, r.version, r.state, r.reason_id, r.category_id, r.department_id,
    r.district_id, r.building_id, ST_Y(r.location) AS lat, ST_X(r.location) AS lon,
    r.address_text, r.description, r.attributes, r.reporter_id, r.anonymous_public,
    r.text_in_open_data, r.submitted_at, r.moderation_due_at, r.reject_code, r.reject_text,
    r.round, r.helped_by_id, r.created_at, r.accepted_at, r.due_at, r.breached_at,
    r.answered_at, r.closed_at, r.duplicate_of_id, r.supporters_count, r.subscribers_count,
    r.photo_count, r.ambassador_confirmations,
    reason.code AS reason_code, reason.names AS reason_names,
    department.code AS department_code, department.name AS department_name,
    district.code AS district_code, district.name AS district_name,
    building.address AS building_address,
    user_account.display_name AS reporter_name, user_account.email AS reporter_email"""
VIEW_FROM = """
    FROM report r
    JOIN reason ON reason.id = r.reason_id
    JOIN department ON department.id = r.department_id
    JOIN user_account ON user_account.id = r.reporter_id
    LEFT JOIN district ON district.id = r.district_id
    LEFT JOIN building ON building.id = r.building_id"""
# One report with its photos (id, width, height as JSON, in their order): one round trip.
VIEW_ONE_SQL = f"""SELECT {VIEW_COLUMNS},
    (SELECT json_agg(json_build_array(p.id, p.width, p.height) ORDER BY p.created_at, p.id)
       FROM report_photo p WHERE p.report_id = r.id) AS photos
    {VIEW_FROM}"""  # noqa: S608 (fixed fragments, no values)
VIEW_BY_ID_SQL = VIEW_ONE_SQL + "\n    WHERE r.id = $1"
VIEW_BY_CODE_SQL = VIEW_ONE_SQL + "\n    WHERE r.tracking_code = $1"


async def view_record(
    session: rawsql.Db, *, report_id: uuid.UUID | None = None, tracking_code: str | None = None
) -> Any:
    """One report as :data:`VIEW_ONE_SQL` reads it (by id or tracking code), or None."""
    if report_id is not None:
        return await rawsql.fetchrow(session, VIEW_BY_ID_SQL, report_id)
    return await rawsql.fetchrow(session, VIEW_BY_CODE_SQL, (tracking_code or "").upper())


async def pending_question(session: AsyncSession, report_id: uuid.UUID) -> Any:
    """The newest question asked of the reporter (``question``, ``at``), or None."""
    return await rawsql.fetchrow(
        session,
        "SELECT data->>'question' AS question, at FROM report_event"
        " WHERE report_id = $1 AND type = 'ask_info' ORDER BY at DESC LIMIT 1",
        report_id,
    )


class PageQuery:
    """A page of :data:`VIEW_COLUMNS` rows built from conditions with ``$n`` parameters:
    only fixed SQL fragments are added, every value is a parameter."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)

    def sql(self, *, after: tuple[datetime, uuid.UUID] | None, ascending: bool, limit: int) -> str:
        """The statement (its values are in ``args``), ordered by (created_at, id)."""
        conditions = list(self.conditions)
        direction = "ASC" if ascending else "DESC"
        if after is not None:
            at, last = self.param(after[0]), self.param(after[1])
            conditions.append(f"(r.created_at, r.id) {'>' if ascending else '<'} ({at}, {last})")
        where = f"\n    WHERE {' AND '.join(conditions)}" if conditions else ""
        return (
            f"SELECT {VIEW_COLUMNS}{VIEW_FROM}{where}\n"
            f"    ORDER BY r.created_at {direction}, r.id {direction} LIMIT {self.param(limit)}"
        )

    async def total(self, session: AsyncSession) -> int:
        """How many rows the conditions match, all pages together (call before ``rows``:
        the page's own parameters are added there). Only the report table is read."""
        where = f"\n    WHERE {' AND '.join(self.conditions)}" if self.conditions else ""
        found = await rawsql.fetchrow(
            session,
            f"SELECT count(*) AS total FROM report r{where}",  # noqa: S608 (fixed fragments)
            *self.args,
        )
        return int(found["total"]) if found is not None else 0

    async def rows(
        self,
        session: AsyncSession,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        ascending: bool,
        limit: int,
    ) -> list[Any]:
        sql = self.sql(after=after, ascending=ascending, limit=limit)
        return await rawsql.fetch(session, sql, *self.args)

"""The read model: one report, pages of reports, a timeline and nearby reports, each as the
caller may see them (``service.reports.access``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.audit.service import record_personal_data_read
from service.auth.actor import Actor
from service.catalog.service import localized_name
from service.errors import NotFound
from service.pagination import decode_time_id_cursor, encode_cursor
from service.reports import access, repository, statements
from service.reports.access import PUBLIC, REPORTER, STAFF
from service.reports.models import Report
from service.reports.schemas import (
    Location,
    Named,
    NearbyReport,
    PendingQuestion,
    PhotoRef,
    Reporter,
    ReportPrivate,
    ReportView,
    TimelineEvent,
)
from service.reports.states import OPEN_STATES, ReportState, is_public


def is_overdue(report: Report, now: datetime) -> bool:
    return overdue(report.breached_at, report.due_at, report.state, now)


def overdue(
    breached_at: datetime | None, due_at: datetime | None, state: str, now: datetime
) -> bool:
    return breached_at is not None or (due_at is not None and state in OPEN_STATES and due_at < now)


# The columns of a report a view shows (``statements.VIEW_COLUMNS`` reads the same names).
_REPORT_FIELDS = (
    "id", "tracking_code", "version", "state", "reason_id", "category_id", "department_id",
    "district_id", "building_id", "address_text", "description", "attributes", "reporter_id",
    "anonymous_public", "text_in_open_data", "submitted_at", "moderation_due_at", "reject_code",
    "reject_text", "round", "helped_by_id", "created_at", "accepted_at", "due_at", "breached_at",
    "answered_at", "closed_at", "duplicate_of_id", "supporters_count", "subscribers_count",
    "photo_count", "ambassador_confirmations",
)  # fmt: skip
# The report's own columns a view reads, for callers that assemble a record from an ORM row.
REPORT_FIELDS = _REPORT_FIELDS
_NAME_FIELDS = (
    "lat", "lon", "reason_code", "reason_names", "department_code", "department_name",
    "district_code", "district_name", "building_address", "reporter_name", "reporter_email",
)  # fmt: skip


def to_view(
    row: Any, level: int, language: str, now: datetime, *, contact: bool = True
) -> ReportView:
    """A row of ``repository.view_select`` as a caller of ``level`` sees it. Lists of work
    (queue pages, work items, the moderation queues) pass ``contact=False``: the reporter's
    name and email are shown on the single report view only, where their read is audited;
    a list names the reporter by id."""
    report: Report = row.Report
    fields = {name: getattr(report, name) for name in _REPORT_FIELDS}
    fields.update((name, getattr(row, name)) for name in _NAME_FIELDS)
    return build_view(fields, level, language, now, contact=contact)


def _waiting_for(
    state: ReportState, photo_count: int
) -> Literal["photo", "submit", "reply"] | None:
    """What the report waits for from its reporter (a draft is one waiting for its photo)."""
    if state == ReportState.draft:
        return "photo" if not photo_count else "submit"
    if state == ReportState.awaiting_info:
        return "reply"
    return None


def build_view(
    r: Any, level: int, language: str, now: datetime, *, contact: bool = True
) -> ReportView:
    """A report read with ``statements.VIEW_COLUMNS`` (a record or a mapping with those
    names) as a caller of ``level`` sees it. The values come from the database as their
    columns are typed, so the view is assembled without validating them again. Without
    ``contact`` the reporter's name and email stay out even at staff level (the public
    ``reporter_name`` follows its own rule: what anyone may read)."""
    state = ReportState(r["state"])
    private = None
    if level >= REPORTER:
        private = ReportPrivate.model_construct(
            reporter=Reporter.model_construct(
                id=r["reporter_id"],
                display_name=r["reporter_name"] if contact else None,
                email=r["reporter_email"] if contact and level == STAFF else None,
            ),
            anonymous_public=r["anonymous_public"],
            text_in_open_data=r["text_in_open_data"],
            submitted_at=r["submitted_at"],
            moderation_due_at=r["moderation_due_at"],
            reject_code=r["reject_code"],
            reject_text=r["reject_text"],
            round=r["round"],
            helped_by_id=r["helped_by_id"],
            waiting_for=_waiting_for(state, r["photo_count"]),
            question=None,
        )
    district_id, building_id = r["district_id"], r["building_id"]
    return ReportView.model_construct(
        id=r["id"],
        tracking_code=r["tracking_code"],
        version=r["version"],
        state=state,
        reason=Named.model_construct(
            id=r["reason_id"],
            code=r["reason_code"],
            name=localized_name(r["reason_names"], language),
        ),
        category_id=r["category_id"],
        department=Named.model_construct(
            id=r["department_id"], code=r["department_code"], name=r["department_name"]
        ),
        district=Named.model_construct(
            id=district_id, code=r["district_code"], name=r["district_name"]
        )
        if district_id
        else None,
        building=Named.model_construct(
            id=building_id, code=r["building_address"], name=r["building_address"]
        )
        if building_id
        else None,
        location=Location.model_construct(lat=float(r["lat"]), lon=float(r["lon"])),
        address_text=r["address_text"],
        description=r["description"],
        attributes=r["attributes"],
        reporter_name=access.reporter_name_shown(r["anonymous_public"], state, r["reporter_name"]),
        created_at=r["created_at"],
        accepted_at=r["accepted_at"],
        due_at=r["due_at"],
        overdue=overdue(r["breached_at"], r["due_at"], state, now),
        answered_at=r["answered_at"],
        closed_at=r["closed_at"],
        duplicate_of=r["duplicate_of_id"],
        supporters_count=r["supporters_count"],
        subscribers_count=r["subscribers_count"],
        photo_count=r["photo_count"],
        ambassador_confirmations=r["ambassador_confirmations"],
        photos=None,
        private=private,
    )


def _photo(report_id: uuid.UUID, photo: list[Any]) -> PhotoRef:
    photo_id, width, height = photo
    base = f"/v1/reports/{report_id}/photos/{photo_id}"
    return PhotoRef.model_construct(
        id=uuid.UUID(photo_id),
        url=base,
        thumbnail_url=f"{base}?variant=thumbnail",
        width=width,
        height=height,
    )


async def view(
    session: rawsql.Db,
    actor: Actor | None,
    now: datetime,
    language: str,
    *,
    report_id: uuid.UUID | None = None,
    tracking_code: str | None = None,
    level: int | None = None,
) -> ReportView:
    """One report as the caller may see it (404 when they may not know of it). ``level``
    overrides the caller's level (the answer to a partner that filed for a resident).
    One statement reads the report, its names and its photos. ``session`` may be a read
    pool's connection when there is no ``actor`` (nothing is written for the public)."""
    r = await statements.view_record(session, report_id=report_id, tracking_code=tracking_code)
    if r is None:
        raise NotFound("No such report.")
    if level is None:
        level = access.access_level(
            actor, department_id=r["department_id"], reporter_id=r["reporter_id"]
        )
        if level == PUBLIC and not is_public(r["state"], r["accepted_at"]):
            raise NotFound("No such report.")
        await _log_staff_read(session, actor, level, [(r["id"], r["reporter_id"])])
    result = build_view(r, level, language, now)
    if result.private is not None and result.private.waiting_for == "reply":
        asked = await statements.pending_question(session, r["id"])
        if asked is not None:
            result.private.question = PendingQuestion.model_construct(
                text=asked["question"], asked_at=asked["at"]
            )
    photos = r["photos"]
    result.photos = [_photo(r["id"], photo) for photo in photos] if photos else []
    return result


@dataclass(frozen=True)
class ReportFilters:
    states: list[ReportState] | None = None
    reason_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    district_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    overdue: bool | None = None
    reporter_id: uuid.UUID | None = None
    building_ids: list[uuid.UUID] | None = None
    # Words in the tracking code, the address or the description (case-insensitive).
    text: str | None = None


# The searched text: the same expression as the department queue's trigram index.
SEARCH_TEXT_SQL = (
    "lower(r.tracking_code || ' ' || coalesce(r.address_text, '') || ' ' || r.description)"
)


def _like_pattern(words: str) -> str:
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_reports(
    session: AsyncSession,
    actor: Actor | None,
    filters: ReportFilters,
    *,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
    oldest_first: bool = False,
) -> tuple[list[ReportView], str | None]:
    """A page of reports (see :func:`search_reports`), without the count."""
    items, next_cursor, _ = await search_reports(
        session,
        actor,
        filters,
        now=now,
        language=language,
        limit=limit,
        cursor=cursor,
        oldest_first=oldest_first,
    )
    return items, next_cursor


async def search_reports(
    session: AsyncSession,
    actor: Actor | None,
    filters: ReportFilters,
    *,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
    oldest_first: bool = False,
    with_total: bool = False,
) -> tuple[list[ReportView], str | None, int | None]:
    """A page of reports, keyset-paginated on (created_at, id), and with ``with_total`` how
    many match on all pages. With ``reporter_id`` the caller's own reports (all states);
    otherwise what the caller may see. One statement (two with the total)."""
    query = statements.PageQuery()
    own = filters.reporter_id is not None
    if own:
        query.where(f"r.reporter_id = {query.param(filters.reporter_id)}")
    elif not access.sees_everything(actor):
        query.where(access.public_sql(query.param))
    if filters.states:
        query.where(f"r.state = ANY({query.param([str(s) for s in filters.states])}::text[])")
    for column, value in (
        ("reason_id", filters.reason_id),
        ("category_id", filters.category_id),
        ("district_id", filters.district_id),
        ("department_id", filters.department_id),
    ):
        if value is not None:
            query.where(f"r.{column} = {query.param(value)}")
    if filters.building_ids is not None:
        query.where(f"r.building_id = ANY({query.param(filters.building_ids)}::uuid[])")
    if filters.bbox is not None:
        corners = ", ".join(f"{query.param(v)}::float8" for v in filters.bbox)
        query.where(f"r.location && ST_MakeEnvelope({corners}, 4326)")
    if filters.since is not None:
        query.where(f"r.created_at >= {query.param(filters.since)}")
    if filters.overdue is not None:
        open_states = query.param([str(s) for s in sorted(OPEN_STATES)])
        overdue_sql = (
            f"(r.breached_at IS NOT NULL OR (r.state = ANY({open_states}::text[])"
            f" AND r.due_at < {query.param(now)}))"
        )
        query.where(overdue_sql if filters.overdue else f"NOT {overdue_sql}")
    if filters.text:
        # Only what the caller may see is searched: the conditions above come first.
        query.where(f"{SEARCH_TEXT_SQL} LIKE {query.param(_like_pattern(filters.text))}")
    total = await query.total(session) if with_total else None
    after = decode_time_id_cursor(cursor) if cursor is not None else None
    rows = await query.rows(session, after=after, ascending=oldest_first, limit=limit + 1)
    page, next_cursor = rows[:limit], None
    if len(rows) > limit:
        next_cursor = encode_cursor(page[-1]["created_at"].isoformat(), page[-1]["id"])
    levels = [
        REPORTER
        if own
        else access.access_level(
            actor, department_id=r["department_id"], reporter_id=r["reporter_id"]
        )
        for r in page
    ]
    items = [build_view(r, level, language, now) for r, level in zip(page, levels, strict=True)]
    shown = [
        (r["id"], r["reporter_id"]) for r, level in zip(page, levels, strict=True) if level == STAFF
    ]
    await _log_staff_read(session, actor, STAFF, shown)
    return items, next_cursor, total


async def _log_staff_read(
    session: AsyncSession,
    actor: Actor | None,
    level: int,
    reports: list[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    """A staff-level view shows the reporter's name and email: written to the audit log
    (unless the caller is the reporter themselves). ``reports``: (id, reporter id) pairs."""
    if actor is None or level != STAFF:
        return
    others = [report_id for report_id, reporter_id in reports if reporter_id != actor.user_id]
    await record_personal_data_read(
        session, actor, "report", others, ["reporter.display_name", "reporter.email"]
    )


async def timeline(
    session: AsyncSession, actor: Actor | None, report_id: uuid.UUID
) -> list[TimelineEvent]:
    """The events the caller may see: public ones; the reporter's own too; all for the
    department, moderators and admins."""
    report = await repository.get(session, report_id)
    if report is None:
        raise NotFound("No such report.")
    level = access.check_visible(actor, report)
    rows = await repository.events(session, report.id, access.events_condition(level, actor))
    contact = [e for e in rows if e.type == "contact_details" and e.data.get("removed") is None]
    if contact and actor is not None and actor.user_id != report.reporter_id:
        await record_personal_data_read(
            session, actor, "report", [report.id], sorted({k for e in contact for k in e.data})
        )
    return [
        TimelineEvent(
            id=e.id,
            at=e.at,
            type=e.type,
            from_state=e.from_state,
            to_state=e.to_state,
            public=e.public,
            actor_role=e.actor_role,
            data=e.data,
        )
        for e in rows
    ]


async def nearby(
    session: rawsql.Db, reason_id: uuid.UUID, lat: float, lon: float, language: str, limit: int
) -> list[NearbyReport]:
    """Public open reports of the reason's category within its duplicate radius (one
    statement: ``repository.NEARBY_SQL``)."""
    rows = await repository.nearby_rows(session, reason_id, lat, lon, limit)
    if rows is None:
        raise NotFound("No such reason.")
    return [
        NearbyReport.model_construct(
            id=row["id"],
            tracking_code=row["tracking_code"],
            state=ReportState(row["state"]),
            reason=Named.model_construct(
                id=row["reason_id"],
                code=row["reason_code"],
                name=localized_name(row["reason_names"], language),
            ),
            location=Location.model_construct(lat=row["lat"], lon=row["lon"]),
            distance_m=round(row["distance"], 1),
            description=row["description"],
            supporters_count=row["supporters_count"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


__all__ = [
    "PUBLIC",
    "REPORTER",
    "STAFF",
    "ReportFilters",
    "list_reports",
    "search_reports",
    "timeline",
    "view",
]

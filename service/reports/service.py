"""Filing reports, reading them as the caller may, the reporter's own changes, support and
subscriptions. Services take a session and an actor and never commit."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import Select, and_, delete, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository as accounts
from service.auth.actor import Actor
from service.auth.models import Role, User
from service.catalog.attributes import validate_attribute_values
from service.catalog.models import Category, Reason
from service.catalog.service import in_season, localized_name
from service.city import service as city
from service.city.models import Building, Department, District
from service.db import table_of
from service.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
)
from service.pagination import keyset_page
from service.reports.models import (
    Report,
    ReportEvent,
    ReportPhoto,
    ReportSubscription,
    ReportSupport,
)
from service.reports.schemas import (
    Engagement,
    Location,
    Named,
    NearbyReport,
    PhotoRef,
    ReportCreate,
    Reporter,
    ReportPrivate,
    ReportUpdate,
    ReportView,
    TimelineEvent,
)
from service.reports.states import (
    EDITABLE_STATES,
    OPEN_STATES,
    PUBLIC_STATES,
    Action,
    ReportState,
    is_public,
    transition,
)
from service.sla.calendar import TimeUnit, add_working_time

# Crockford's base32 without look-alikes (no I, L, O, U): codes read well over the phone.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ON_BEHALF_SCOPE = "reports:on_behalf"
# API keys see what the public sees unless they carry this scope (their owner's roles aside).
PRIVATE_SCOPE = "reports:private"


class ReasonUnavailable(InvalidInput):
    slug, title = "reason-unavailable", "The reason cannot be chosen now"


class QuotaExceeded(TooManyRequests):
    slug, title = "report-quota-exceeded", "Too many reports"


def new_tracking_code() -> str:
    """Like ``ML-7K3Q-9XD2``: 40 random bits, grouped for reading aloud."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"ML-{chars[:4]}-{chars[4:]}"


# --- who may see what ---------------------------------------------------------------------

PUBLIC, REPORTER, STAFF = 0, 1, 2


def access_level(actor: Actor | None, report: Report) -> int:
    """PUBLIC, REPORTER (the person who filed it) or STAFF (moderators, coordinators, admins
    and the owning department's people: they see the reporter even when anonymous)."""
    if actor is None or (actor.api_key_id is not None and not actor.allows(PRIVATE_SCOPE)):
        return PUBLIC
    if actor.has_any_role(Role.moderator, Role.coordinator, Role.admin):
        return STAFF
    if report.department_id in actor.departments(Role.staff, Role.supervisor):
        return STAFF
    if actor.user_id == report.reporter_id:
        return REPORTER
    return PUBLIC


def _check_visible(actor: Actor | None, report: Report, *, at_least: int = PUBLIC) -> int:
    level = max(access_level(actor, report), at_least)
    if level == PUBLIC and not is_public(report.state, report.accepted_at):
        raise NotFound("No such report.")
    return level


# --- reading ------------------------------------------------------------------------------


def _view_select() -> Select[Any]:
    return (
        select(
            Report,
            func.ST_Y(Report.location).label("lat"),
            func.ST_X(Report.location).label("lon"),
            col(Reason.code).label("reason_code"),
            col(Reason.names).label("reason_names"),
            col(Department.code).label("department_code"),
            col(Department.name).label("department_name"),
            col(District.code).label("district_code"),
            col(District.name).label("district_name"),
            col(Building.address).label("building_address"),
            col(User.display_name).label("reporter_name"),
            col(User.email).label("reporter_email"),
        )
        .join(Reason, col(Reason.id) == Report.reason_id)
        .join(Department, col(Department.id) == Report.department_id)
        .join(User, col(User.id) == Report.reporter_id)
        .outerjoin(District, col(District.id) == Report.district_id)
        .outerjoin(Building, col(Building.id) == Report.building_id)
    )


def _to_view(row: Any, level: int, language: str, now: datetime) -> ReportView:
    report: Report = row.Report
    overdue = (
        report.due_at is not None and report.state in OPEN_STATES and report.due_at < now
    ) or report.breached_at is not None
    private = None
    if level >= REPORTER:
        private = ReportPrivate(
            reporter=Reporter(
                id=report.reporter_id,
                display_name=row.reporter_name,
                email=row.reporter_email if level == STAFF else None,
            ),
            anonymous_public=report.anonymous_public,
            submitted_at=report.submitted_at,
            moderation_due_at=report.moderation_due_at,
            reject_code=report.reject_code,
            reject_text=report.reject_text,
            round=report.round,
        )
    return ReportView(
        id=report.id,
        tracking_code=report.tracking_code,
        state=report.state,
        reason=Named(
            id=report.reason_id,
            code=row.reason_code,
            name=localized_name(row.reason_names, language),
        ),
        category_id=report.category_id,
        department=Named(
            id=report.department_id, code=row.department_code, name=row.department_name
        ),
        district=Named(id=report.district_id, code=row.district_code, name=row.district_name)
        if report.district_id
        else None,
        building=Named(id=report.building_id, code=row.building_address, name=row.building_address)
        if report.building_id
        else None,
        location=Location(lat=row.lat, lon=row.lon),
        address_text=report.address_text,
        description=report.description,
        attributes=report.attributes,
        reporter_name=None if report.anonymous_public else row.reporter_name,
        created_at=report.created_at,
        accepted_at=report.accepted_at,
        due_at=report.due_at,
        overdue=overdue,
        answered_at=report.answered_at,
        closed_at=report.closed_at,
        duplicate_of=report.duplicate_of_id,
        supporters_count=report.supporters_count,
        subscribers_count=report.subscribers_count,
        photo_count=report.photo_count,
        private=private,
    )


async def _photo_refs(session: AsyncSession, report_id: uuid.UUID) -> list[PhotoRef]:
    photos = await session.execute(
        select(ReportPhoto)
        .where(col(ReportPhoto.report_id) == report_id)
        .order_by(col(ReportPhoto.created_at), col(ReportPhoto.id))
    )
    base = f"/v1/reports/{report_id}/photos"
    return [
        PhotoRef(
            id=p.id,
            url=f"{base}/{p.id}",
            thumbnail_url=f"{base}/{p.id}?variant=thumbnail",
            width=p.width,
            height=p.height,
        )
        for p in photos.scalars()
    ]


async def get_report_for(
    session: AsyncSession, actor: Actor | None, report_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Report, int]:
    """The report and the caller's access level; 404 when the caller may not see it."""
    query = select(Report).where(col(Report.id) == report_id)
    if for_update:
        query = query.with_for_update()
    report = (await session.execute(query)).scalar_one_or_none()
    if report is None:
        raise NotFound("No such report.")
    return report, _check_visible(actor, report)


async def view(
    session: AsyncSession,
    actor: Actor | None,
    now: datetime,
    language: str,
    *,
    report_id: uuid.UUID | None = None,
    tracking_code: str | None = None,
    as_filer: bool = False,
) -> ReportView:
    """One report as the caller may see it; ``as_filer``: the caller just filed it (perhaps
    through an API key, for a resident) and sees what its reporter sees."""
    query = _view_select()
    if report_id is not None:
        query = query.where(col(Report.id) == report_id)
    else:
        query = query.where(col(Report.tracking_code) == (tracking_code or "").upper())
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise NotFound("No such report.")
    level = _check_visible(actor, row.Report, at_least=REPORTER if as_filer else PUBLIC)
    result = _to_view(row, level, language, now)
    result.photos = await _photo_refs(session, row.Report.id)
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


def public_condition() -> Any:
    """SQL for :func:`is_public`."""
    return or_(
        col(Report.state).in_(sorted(PUBLIC_STATES - {ReportState.duplicate})),
        and_(col(Report.state) == ReportState.duplicate, col(Report.accepted_at).is_not(None)),
    )


def sees_everything(actor: Actor | None) -> bool:
    return (
        actor is not None
        and (actor.api_key_id is None or actor.allows(PRIVATE_SCOPE))
        and actor.has_any_role(Role.moderator, Role.coordinator, Role.admin)
    )


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
    """A page of reports, keyset-paginated on (created_at, id)."""
    query = _view_select()
    conditions: list[Any] = []
    own = filters.reporter_id is not None
    if own:
        conditions.append(col(Report.reporter_id) == filters.reporter_id)
    elif not sees_everything(actor):
        conditions.append(public_condition())
    if filters.states:
        conditions.append(col(Report.state).in_(filters.states))
    for column, value in (
        (Report.reason_id, filters.reason_id),
        (Report.category_id, filters.category_id),
        (Report.district_id, filters.district_id),
        (Report.department_id, filters.department_id),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if filters.bbox is not None:
        conditions.append(col(Report.location).op("&&")(func.ST_MakeEnvelope(*filters.bbox, 4326)))
    if filters.since is not None:
        conditions.append(col(Report.created_at) >= filters.since)
    if filters.overdue is not None:
        is_overdue = or_(
            col(Report.breached_at).is_not(None),
            and_(col(Report.state).in_(sorted(OPEN_STATES)), col(Report.due_at) < now),
        )
        conditions.append(is_overdue if filters.overdue else ~is_overdue)
    rows, next_cursor = await keyset_page(
        session,
        query.where(*conditions),
        col(Report.created_at),
        col(Report.id),
        cursor=cursor,
        limit=limit,
        ascending=oldest_first,
        key=lambda row: (row.Report.created_at, row.Report.id),
    )
    items = [
        _to_view(row, REPORTER if own else access_level(actor, row.Report), language, now)
        for row in rows
    ]
    return items, next_cursor


async def timeline(
    session: AsyncSession, actor: Actor | None, report_id: uuid.UUID
) -> list[TimelineEvent]:
    report, level = await get_report_for(session, actor, report_id)
    query = select(ReportEvent).where(col(ReportEvent.report_id) == report.id)
    if level == PUBLIC:
        query = query.where(col(ReportEvent.public))
    rows = await session.execute(query.order_by(col(ReportEvent.at), col(ReportEvent.id)))
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
        for e in rows.scalars()
    ]


async def nearby(
    session: AsyncSession, reason_id: uuid.UUID, lat: float, lon: float, language: str, limit: int
) -> list[NearbyReport]:
    """Public open reports of the reason's category within its duplicate radius."""
    reason = await session.get(Reason, reason_id)
    if reason is None:
        raise NotFound("No such reason.")
    here = func.Geography(city.point_sql(lat, lon))
    geography = func.Geography(Report.location)
    distance = func.ST_Distance(geography, here).label("distance")
    rows = await session.execute(
        select(
            Report,
            func.ST_Y(Report.location).label("lat"),
            func.ST_X(Report.location).label("lon"),
            col(Reason.code).label("reason_code"),
            col(Reason.names).label("reason_names"),
            distance,
        )
        .join(Reason, col(Reason.id) == Report.reason_id)
        .where(
            col(Report.category_id) == reason.category_id,
            col(Report.state).in_(sorted(OPEN_STATES)),
            func.ST_DWithin(geography, here, max(reason.duplicate_radius_m, 1)),
        )
        .order_by(distance, col(Report.created_at).desc())
        .limit(limit)
    )
    return [
        NearbyReport(
            id=row.Report.id,
            tracking_code=row.Report.tracking_code,
            state=row.Report.state,
            reason=Named(
                id=row.Report.reason_id,
                code=row.reason_code,
                name=localized_name(row.reason_names, language),
            ),
            location=Location(lat=row.lat, lon=row.lon),
            distance_m=round(row.distance, 1),
            description=row.Report.description[:280],
            supporters_count=row.Report.supporters_count,
            created_at=row.Report.created_at,
        )
        for row in rows
    ]


# --- timeline writing ----------------------------------------------------------------------


def actor_role(actor: Actor | None) -> str | None:
    if actor is None:
        return "system"
    for role in (Role.admin, Role.moderator, Role.coordinator, Role.supervisor, Role.staff):
        if actor.has_role(role):
            return role.value
    return "resident"


def record_event(
    session: AsyncSession,
    report: Report,
    actor: Actor | None,
    event_type: str,
    now: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    public: bool = True,
    **data: Any,
) -> None:
    session.add(
        ReportEvent(
            report_id=report.id,
            at=now,
            actor_id=actor.user_id if actor else None,
            actor_role=actor_role(actor),
            type=event_type,
            from_state=from_state,
            to_state=to_state,
            public=public,
            data=data,
        )
    )


def apply_transition(
    session: AsyncSession,
    report: Report,
    action: Action,
    actor: Actor | None,
    now: datetime,
    **data: Any,
) -> None:
    """Move ``report`` by ``action`` (409 when illegal) and write the timeline event."""
    rule = transition(report.state, action)
    before = report.state
    report.state = rule.target
    report.updated_at = now
    record_event(
        session,
        report,
        actor,
        action.value,
        now,
        from_state=str(before),
        to_state=str(rule.target),
        public=rule.public,
        **data,
    )


# --- filing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w=86400",
        }


async def take_quota(
    session: AsyncSession, reporter_id: uuid.UUID, limit: int, now: datetime
) -> Quota:
    """Count the reporter's reports of the last 24 h under a per-reporter lock; 429 when
    the limit is reached (concurrent filings by one person are serialised)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"report-quota:{reporter_id}"},
    )
    window_start = now - timedelta(hours=24)
    rows = await session.execute(
        select(col(Report.created_at))
        .where(col(Report.reporter_id) == reporter_id, col(Report.created_at) > window_start)
        .order_by(col(Report.created_at))
    )
    times = list(rows.scalars())
    reset = int((times[0] + timedelta(hours=24) - now).total_seconds()) + 1 if times else 0
    if len(times) >= limit:
        quota = Quota(limit=limit, remaining=0, reset_seconds=max(1, reset))
        raise QuotaExceeded(
            f"At most {limit} reports in 24 hours; the next one is possible in "
            f"{quota.reset_seconds // 60 + 1} minutes.",
            retry_after=quota.reset_seconds,
            headers=quota.headers(),
        )
    return Quota(limit=limit, remaining=limit - len(times) - 1, reset_seconds=reset or 86400)


async def _reporter(session: AsyncSession, actor: Actor, body: ReportCreate) -> uuid.UUID:
    if body.on_behalf_of is None:
        return actor.user_id
    if actor.api_key_id is None or not actor.allows(ON_BEHALF_SCOPE):
        raise Forbidden(f"Filing for someone else needs an API key with {ON_BEHALF_SCOPE}.")
    resident = await accounts.user_by_email(session, body.on_behalf_of)
    if resident is None or resident.disabled_at is not None:
        raise InvalidInput("No active account with this email address.", field="on_behalf_of")
    return resident.id


async def usable_reason(session: AsyncSession, reason_id: uuid.UUID, today: Any) -> Reason:
    """A reason that is active, in an active category and in season; 422 otherwise."""
    row: Any = (
        await session.execute(
            select(Reason, col(Category.active).label("category_active"))
            .join(Category, col(Category.id) == Reason.category_id)
            .where(col(Reason.id) == reason_id)
        )
    ).one_or_none()
    if row is None:
        raise InvalidInput("No such reason.", field="reason_id")
    reason: Reason = row.Reason
    if not reason.active or not row.category_active:
        raise ReasonUnavailable("This reason is no longer in use.", field="reason_id")
    if not in_season(reason, today):
        raise ReasonUnavailable(
            f"This reason is seasonal ({reason.season_start_month:02d}-"
            f"{reason.season_start_day:02d} to {reason.season_end_month:02d}-"
            f"{reason.season_end_day:02d}).",
            field="reason_id",
            reason="out_of_season",
        )
    return reason


async def file_report(
    session: AsyncSession,
    actor: Actor,
    body: ReportCreate,
    now: datetime,
    *,
    quota_limit: int,
) -> tuple[Report, Quota]:
    reporter_id = await _reporter(session, actor, body)
    calendar = await city.load_working_calendar(session)
    reason = await usable_reason(session, body.reason_id, now.astimezone(calendar.zone).date())
    if body.building_id is not None:
        lat, lon = await city.get_building_point(session, body.building_id)
    else:
        assert body.lat is not None
        assert body.lon is not None
        lat, lon = body.lat, body.lon
    decision = await city.route(session, reason.id, lat, lon, body.building_id, inside_city=True)
    attributes = validate_attribute_values(reason.attributes, body.attributes)
    quota = await take_quota(session, reporter_id, quota_limit, now)

    state = ReportState.draft if reason.requires_photo else ReportState.submitted
    report = Report(
        tracking_code=new_tracking_code(),
        reporter_id=reporter_id,
        filed_via_api_key_id=actor.api_key_id,
        reason_id=reason.id,
        category_id=reason.category_id,
        department_id=decision.department_id,
        district_id=decision.district_id,
        building_id=decision.building_id,
        location=from_shape(Point(lon, lat), srid=4326),
        address_text=body.address_text,
        description=body.description,
        attributes=attributes,
        anonymous_public=body.anonymous_public,
        state=state,
        created_at=now,
        updated_at=now,
        subscribers_count=1,
    )
    if state is ReportState.submitted:
        _mark_submitted(report, reason, calendar, now)
    for attempt in range(3):
        try:
            async with session.begin_nested():
                session.add(report)
                await session.flush()
            break
        except IntegrityError:
            if attempt == 2:
                raise
            report.tracking_code = new_tracking_code()
    session.add(ReportSubscription(report_id=report.id, user_id=reporter_id, created_at=now))
    record_event(
        session,
        report,
        actor,
        "filed",
        now,
        to_state=str(state),
        public=False,
        routing=decision.basis,
        via_api_key=actor.api_key_id is not None,
    )
    await session.flush()
    return report, quota


def _mark_submitted(report: Report, reason: Reason, calendar: Any, now: datetime) -> None:
    report.submitted_at = now
    report.moderation_due_at = add_working_time(
        now, reason.moderation_sla_hours, TimeUnit.working_hours, calendar
    )


# --- the reporter's own changes ------------------------------------------------------------


async def lock_report(session: AsyncSession, report_id: uuid.UUID) -> Report:
    """The report, locked for this transaction (FOR UPDATE); 404 when there is none."""
    report = (
        await session.execute(select(Report).where(col(Report.id) == report_id).with_for_update())
    ).scalar_one_or_none()
    if report is None:
        raise NotFound("No such report.")
    return report


async def own_report(session: AsyncSession, actor: Actor, report_id: uuid.UUID) -> Report:
    """The caller's own report, locked; anyone else's answers 404 as if it did not exist."""
    report = await lock_report(session, report_id)
    if report.reporter_id != actor.user_id:
        raise NotFound("No such report.")
    return report


async def update_report(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, body: ReportUpdate, now: datetime
) -> Report:
    report = await own_report(session, actor, report_id)
    if report.state not in EDITABLE_STATES:
        raise _not_editable(report)
    changes = body.model_dump(exclude_unset=True)
    if "description" in changes and changes["description"] is None:
        raise InvalidInput("The description cannot be removed.", field="description")
    if changes.get("attributes") is not None:
        reason = await session.get(Reason, report.reason_id)
        assert reason is not None
        changes["attributes"] = validate_attribute_values(reason.attributes, changes["attributes"])
    for name, value in changes.items():
        setattr(report, name, value)
    report.updated_at = now
    record_event(session, report, actor, "edited", now, public=False, fields=sorted(changes))
    await session.flush()
    return report


def _not_editable(report: Report) -> AppError:
    return Conflict(
        f"A report that is {report.state} can no longer be changed.",
        current_state=str(report.state),
    )


async def submit_draft(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> Report:
    report = await own_report(session, actor, report_id)
    reason = await session.get(Reason, report.reason_id)
    assert reason is not None
    transition(report.state, Action.submit)
    if reason.requires_photo and report.photo_count == 0:
        raise InvalidInput(
            "This reason needs a photo before the report can be sent.", field="photos"
        )
    apply_transition(session, report, Action.submit, actor, now)
    _mark_submitted(report, reason, await city.load_working_calendar(session), now)
    await session.flush()
    return report


async def withdraw(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> Report:
    report = await own_report(session, actor, report_id)
    apply_transition(session, report, Action.withdraw, actor, now)
    await session.flush()
    return report


# --- support and subscriptions -------------------------------------------------------------


async def _refresh_counts(session: AsyncSession, report_id: uuid.UUID) -> None:
    await session.execute(
        update(Report)
        .where(col(Report.id) == report_id)
        .values(
            supporters_count=select(func.count())
            .select_from(ReportSupport)
            .where(col(ReportSupport.report_id) == report_id)
            .scalar_subquery(),
            subscribers_count=select(func.count())
            .select_from(ReportSubscription)
            .where(col(ReportSubscription.report_id) == report_id)
            .scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )


async def engagement(session: AsyncSession, actor: Actor, report_id: uuid.UUID) -> Engagement:
    report = (
        await session.execute(
            select(Report)
            .where(col(Report.id) == report_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    supporting = await session.get(ReportSupport, (report_id, actor.user_id)) is not None
    subscribed = await session.get(ReportSubscription, (report_id, actor.user_id)) is not None
    return Engagement(
        supporting=supporting,
        subscribed=subscribed,
        supporters_count=report.supporters_count,
        subscribers_count=report.subscribers_count,
    )


async def set_engagement(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    kind: type[ReportSupport] | type[ReportSubscription],
    on: bool,
    now: datetime,
) -> Engagement:
    """Support or subscribe (idempotent), or undo it. Supporting also subscribes."""
    report, _ = await get_report_for(session, actor, report_id)
    if not is_public(report.state, report.accepted_at):
        raise NotFound("No such report.")
    if on and report.state == ReportState.duplicate:
        raise Conflict(
            "This report was merged into another; support that one.",
            duplicate_of=str(report.duplicate_of_id),
        )
    if kind is ReportSupport and report.reporter_id == actor.user_id:
        raise Conflict("You filed this report; support counts other people.")
    kinds: list[type[ReportSupport] | type[ReportSubscription]] = [kind]
    if on and kind is ReportSupport:
        kinds.append(ReportSubscription)
    for model in kinds:
        table = table_of(model)
        if on:
            await session.execute(
                insert(table)
                .values(report_id=report.id, user_id=actor.user_id, created_at=now)
                .on_conflict_do_nothing()
            )
        else:
            await session.execute(
                delete(table).where(
                    table.c.report_id == report.id, table.c.user_id == actor.user_id
                )
            )
    await _refresh_counts(session, report.id)
    return await engagement(session, actor, report.id)


async def merge_engagement(
    session: AsyncSession, source: Report, target: Report, now: datetime
) -> None:
    """Move the supporters and subscribers of ``source`` to ``target``; the reporter of
    ``source`` becomes a supporter and subscriber of ``target`` (unless they filed it)."""
    for model in (ReportSupport, ReportSubscription):
        table = table_of(model)
        await session.execute(
            insert(table)
            .from_select(
                ["report_id", "user_id", "created_at"],
                select(
                    literal(target.id, table.c.report_id.type),
                    table.c.user_id,
                    table.c.created_at,
                ).where(table.c.report_id == source.id, table.c.user_id != target.reporter_id),
            )
            .on_conflict_do_nothing()
        )
        if source.reporter_id != target.reporter_id:
            await session.execute(
                insert(table)
                .values(report_id=target.id, user_id=source.reporter_id, created_at=now)
                .on_conflict_do_nothing()
            )
    await _refresh_counts(session, target.id)

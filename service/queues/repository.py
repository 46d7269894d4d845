"""SQL of department work: the queue page and its counts, rounds, colleagues, priorities,
transfer and extension requests. No rules live here.

All SQL of department work in one place (queue pages, counts, requests, priorities):
its one reader is this package, and its statements share their filters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from service import rawsql
from service.auth.models import Role, RoleGrant, User
from service.pagination import keyset_page, like_pattern
from service.queues.models import (
    OPEN_REPORT,
    QUEUE_TEXT,
    ExtensionRequest,
    RequestState,
    ResponsePriority,
    TransferRequest,
)
from service.reports import repository as reports
from service.reports import statements
from service.reports.models import Report
from service.reports.states import ReportState

Assignee = aliased(User, name="assignee")
# The open states as literal SQL, the very predicate of the queue's partial indexes, so the
# planner proves them usable whatever it does with bound parameters.
OPEN = text(f"report.{OPEN_REPORT}")


def work_select() -> Select[Any]:
    """The report read model plus its assignee and priority."""
    return (
        reports.view_select()
        .add_columns(
            col(Assignee.display_name).label("assignee_name"),
            col(ResponsePriority.code).label("priority_code"),
            col(ResponsePriority.name).label("priority_name"),
            col(ResponsePriority.external_code).label("priority_external_code"),
        )
        .outerjoin(Assignee, col(Assignee.id) == Report.assignee_id)
        .outerjoin(ResponsePriority, col(ResponsePriority.id) == Report.priority_id)
    )


# :func:`work_select` in hand-written SQL, for pages of work read as plain records
# (``service.rawsql``): the view's columns, the assignee and the priority.
WORK_BY_IDS_SQL = f"""SELECT {statements.VIEW_COLUMNS},
    r.assignee_id, r.priority_id, r.paused_at, assignee.display_name AS assignee_name,
    response_priority.code AS priority_code, response_priority.name AS priority_name,
    response_priority.external_code AS priority_external_code
    {statements.VIEW_FROM}
    LEFT JOIN user_account assignee ON assignee.id = r.assignee_id
    LEFT JOIN response_priority ON response_priority.id = r.priority_id
    WHERE r.id = ANY($1::uuid[])"""


async def work_row(session: AsyncSession, report_id: uuid.UUID) -> Any:
    return (await session.execute(work_select().where(col(Report.id) == report_id))).one_or_none()


@dataclass(frozen=True)
class QueueFilters:
    states: list[ReportState] | None = None
    reason_id: uuid.UUID | None = None
    district_id: uuid.UUID | None = None
    priority_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    overdue: bool | None = None
    due_before: datetime | None = None
    text: str | None = None


def _columns(*columns: Any) -> list[Any]:
    """Columns for a ``select`` whose rows are read by name (typed as ``Select[Any]``)."""
    return list(columns)


def _overdue(now: datetime) -> Any:
    return or_(col(Report.breached_at).is_not(None), col(Report.due_at) < now)


def _conditions(
    departments: list[uuid.UUID], filters: QueueFilters, now: datetime, *, with_state: bool
) -> list[Any]:
    # One department: an equality, so ix_report_queue yields rows in due order.
    department = (
        col(Report.department_id) == departments[0]
        if len(departments) == 1
        else col(Report.department_id).in_(departments)
    )
    conditions: list[Any] = [department, OPEN]
    if with_state and filters.states:
        conditions.append(col(Report.state).in_(filters.states))
    for column, value in (
        (Report.reason_id, filters.reason_id),
        (Report.district_id, filters.district_id),
        (Report.priority_id, filters.priority_id),
        (Report.assignee_id, filters.assignee_id),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if filters.unassigned:
        conditions.append(col(Report.assignee_id).is_(None))
    if filters.overdue is not None:
        overdue = _overdue(now)
        conditions.append(
            overdue
            if filters.overdue
            else and_(
                col(Report.breached_at).is_(None),
                or_(col(Report.due_at).is_(None), col(Report.due_at) >= now),
            )
        )
    if filters.due_before is not None:
        conditions.append(col(Report.due_at) < filters.due_before)
    if filters.text:
        conditions.append(QUEUE_TEXT.like(like_pattern(filters.text)))
    return conditions


def _page_select(departments: list[uuid.UUID], filters: QueueFilters, now: datetime) -> Any:
    return select(*_columns(col(Report.id), col(Report.due_at))).where(
        *_conditions(departments, filters, now, with_state=True)
    )


async def queue_page(
    session: AsyncSession,
    departments: list[uuid.UUID],
    filters: QueueFilters,
    now: datetime,
    *,
    limit: int,
    cursor: str | None,
    ascending: bool,
) -> tuple[list[Any], str | None]:
    """Rows of :func:`work_select` for the open reports of ``departments`` by due time,
    keyset on (due_at, id).

    Two statements: the page's ids from the report table alone, then the read model of
    those. Planning the one-table page takes a fraction of a millisecond; planning it joined
    to the read model's seven tables took the planner 15–50 ms of join orders to weigh
    against every index of the report table, for a query that runs in under one."""
    page, next_cursor = await keyset_page(
        session,
        _page_select(departments, filters, now),
        col(Report.due_at),
        col(Report.id),
        cursor=cursor,
        limit=limit,
        ascending=ascending,
        key=lambda row: (row.due_at, row.id),
    )
    if not page:
        return [], next_cursor
    found = {
        row["id"]: row
        for row in await rawsql.fetch(session, WORK_BY_IDS_SQL, [row.id for row in page])
    }
    # A report gone between the two statements (deleted) is left out.
    return [found[row.id] for row in page if row.id in found], next_cursor


def queue_page_statement(
    departments: list[uuid.UUID], filters: QueueFilters, now: datetime, limit: int
) -> Select[Any]:
    """The first page's statement of ids (for EXPLAIN in tests and the benchmark)."""
    query: Select[Any] = (
        _page_select(departments, filters, now)
        .order_by(col(Report.due_at), col(Report.id))
        .limit(limit + 1)
    )
    return query


def queue_counts_statement(
    departments: list[uuid.UUID], filters: QueueFilters, now: datetime
) -> Select[Any]:
    return (
        select(
            *_columns(
                col(Report.state),
                func.count().label("total"),
                func.count().filter(_overdue(now)).label("overdue"),
            )
        )
        .where(*_conditions(departments, filters, now, with_state=False))
        .group_by(col(Report.state))
    )


async def queue_counts(
    session: AsyncSession, departments: list[uuid.UUID], filters: QueueFilters, now: datetime
) -> list[tuple[str, int, int]]:
    """(state, reports, overdue reports) per open state, every filter but the state's."""
    rows = await session.execute(queue_counts_statement(departments, filters, now))
    return [(str(row.state), int(row.total), int(row.overdue)) for row in rows]


# --- rounds and people ---------------------------------------------------------------------


async def ancestors(session: AsyncSession, department_id: uuid.UUID) -> list[uuid.UUID]:
    """The department and every department above it."""
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE up(id, parent_id) AS (
                SELECT id, parent_id FROM department WHERE id = :start
                UNION
                SELECT d.id, d.parent_id FROM department d JOIN up ON d.id = up.parent_id
            )
            SELECT id FROM up
            """
        ),
        {"start": department_id},
    )
    return [row[0] for row in rows]


async def works_in(session: AsyncSession, user_id: uuid.UUID, department_id: uuid.UUID) -> bool:
    """Whether an enabled person holds staff in the department or supervises it (directly or
    from a department above)."""
    above = await ancestors(session, department_id)
    grant = exists().where(
        col(RoleGrant.user_id) == user_id,
        or_(
            and_(col(RoleGrant.role) == Role.staff, col(RoleGrant.department_id) == department_id),
            and_(col(RoleGrant.role) == Role.supervisor, col(RoleGrant.department_id).in_(above)),
        ),
    )
    found = await session.scalar(
        select(col(User.id)).where(col(User.id) == user_id, col(User.disabled_at).is_(None), grant)
    )
    return found is not None


async def user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def colleagues(session: AsyncSession, department_id: uuid.UUID) -> list[User]:
    """The enabled people who may be given the department's reports: staff of the
    department and supervisors of it or of a department above (as :func:`works_in`)."""
    above = await ancestors(session, department_id)
    grant = exists().where(
        col(RoleGrant.user_id) == User.id,
        or_(
            and_(col(RoleGrant.role) == Role.staff, col(RoleGrant.department_id) == department_id),
            and_(col(RoleGrant.role) == Role.supervisor, col(RoleGrant.department_id).in_(above)),
        ),
    )
    rows = await session.execute(
        select(User)
        .where(col(User.disabled_at).is_(None), grant)
        .order_by(col(User.display_name), col(User.id))
    )
    return list(rows.scalars())


# --- priorities ----------------------------------------------------------------------------


async def priorities(
    session: AsyncSession, department_id: uuid.UUID, *, include_inactive: bool
) -> list[ResponsePriority]:
    query = select(ResponsePriority).where(col(ResponsePriority.department_id) == department_id)
    if not include_inactive:
        query = query.where(col(ResponsePriority.active))
    rows = await session.execute(
        query.order_by(col(ResponsePriority.position), col(ResponsePriority.code))
    )
    return list(rows.scalars())


async def priority(session: AsyncSession, priority_id: uuid.UUID) -> ResponsePriority | None:
    return await session.get(ResponsePriority, priority_id)


async def priority_code_taken(session: AsyncSession, department_id: uuid.UUID, code: str) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    col(ResponsePriority.department_id) == department_id,
                    col(ResponsePriority.code) == code,
                )
            )
        )
    )


# --- transfer and extension requests -------------------------------------------------------


Request = TypeVar("Request", TransferRequest, ExtensionRequest)


async def lock_request(
    session: AsyncSession, model: type[Request], request_id: uuid.UUID
) -> Request | None:
    """A transfer or extension request, locked for this transaction."""
    found: Request | None = (
        await session.execute(
            select(model)
            .where(col(model.id) == request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    return found


async def pending_request(
    session: AsyncSession, model: type[Request], report_id: uuid.UUID
) -> Request | None:
    """The report's pending transfer (or extension) request, if any (at most one)."""
    found: Request | None = (
        await session.execute(
            select(model).where(
                col(model.report_id) == report_id, col(model.state) == RequestState.pending
            )
        )
    ).scalar_one_or_none()
    return found


async def transfer_page(
    session: AsyncSession,
    *,
    to_department_id: uuid.UUID | None,
    from_department_id: uuid.UUID | None,
    state: RequestState | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Transfer requests with their report's tracking code, oldest first (keyset on
    created_at, id). ``to_department_id`` None with no ``from_department_id``: all."""
    query = select(*_columns(TransferRequest, col(Report.tracking_code))).join(
        Report, col(Report.id) == TransferRequest.report_id
    )
    if to_department_id is not None:
        query = query.where(col(TransferRequest.to_department_id) == to_department_id)
    if from_department_id is not None:
        query = query.where(col(TransferRequest.from_department_id) == from_department_id)
    if state is not None:
        query = query.where(col(TransferRequest.state) == state)
    return await keyset_page(
        session,
        query,
        col(TransferRequest.created_at),
        col(TransferRequest.id),
        cursor=cursor,
        limit=limit,
        ascending=True,
        key=lambda row: (row.TransferRequest.created_at, row.TransferRequest.id),
    )


async def extension_page(
    session: AsyncSession,
    departments: list[uuid.UUID],
    *,
    state: RequestState | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Extension requests of reports now in ``departments``, oldest first."""
    query = (
        select(
            *_columns(
                ExtensionRequest,
                col(Report.tracking_code),
                col(Report.department_id),
                col(Report.due_at).label("current_due_at"),
            )
        )
        .join(Report, col(Report.id) == ExtensionRequest.report_id)
        .where(col(Report.department_id).in_(departments))
    )
    if state is not None:
        query = query.where(col(ExtensionRequest.state) == state)
    return await keyset_page(
        session,
        query,
        col(ExtensionRequest.created_at),
        col(ExtensionRequest.id),
        cursor=cursor,
        limit=limit,
        ascending=True,
        key=lambda row: (row.ExtensionRequest.created_at, row.ExtensionRequest.id),
    )


async def extension_row(session: AsyncSession, request_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            select(
                ExtensionRequest,
                col(Report.tracking_code),
                col(Report.department_id),
                col(Report.due_at).label("current_due_at"),
            )
            .join(Report, col(Report.id) == ExtensionRequest.report_id)
            .where(col(ExtensionRequest.id) == request_id)
        )
    ).one()


async def transfer_row(session: AsyncSession, request_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            select(TransferRequest, col(Report.tracking_code))
            .join(Report, col(Report.id) == TransferRequest.report_id)
            .where(col(TransferRequest.id) == request_id)
        )
    ).one()

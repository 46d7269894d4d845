"""The department queue: open reports by due time, filtered, with counts per state; and one
report as its department works on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.city import service as city
from service.errors import InvalidInput, NotFound
from service.queues import repository
from service.queues.access import powers, require_power
from service.queues.repository import QueueFilters
from service.queues.schemas import (
    Person,
    PriorityRef,
    QueueCounts,
    QueuePage,
    QueueSort,
    WorkItem,
)
from service.reports import access
from service.reports.access import STAFF
from service.reports.states import OPEN_STATES, ReportState
from service.reports.views import REPORT_FIELDS, build_view

# What a work item reads of the report beyond its view.
WORK_REPORT_FIELDS = (*REPORT_FIELDS, "assignee_id", "priority_id", "paused_at")


def to_work_item(row: Any, level: int, language: str, now: datetime) -> WorkItem:
    """A record of ``repository.WORK_BY_IDS_SQL`` (or a mapping with its names) as a caller
    of ``level`` sees it: the assignee, priority and pause only for the department (STAFF)."""
    staff = level >= STAFF
    return WorkItem.model_construct(
        report=build_view(row, level, language, now, contact=False),
        assignee=Person.model_construct(id=row["assignee_id"], display_name=row["assignee_name"])
        if staff and row["assignee_id"] is not None
        else None,
        priority=PriorityRef.model_construct(
            id=row["priority_id"],
            code=row["priority_code"],
            name=row["priority_name"],
            external_code=row["priority_external_code"],
        )
        if staff and row["priority_id"] is not None
        else None,
        paused_at=row["paused_at"] if staff else None,
    )


def _work_record(row: Any) -> dict[str, Any]:
    """A row of ``repository.work_select`` (ORM) with the names ``to_work_item`` reads."""
    report = row.Report
    fields = {name: getattr(report, name) for name in WORK_REPORT_FIELDS}
    fields.update(row._mapping)
    return fields


async def work_item(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> WorkItem:
    """One report as the caller may now see it (after a transfer out, the former department
    sees it as the public does)."""
    row = await repository.work_row(session, report_id)
    if row is None:
        raise NotFound("No such report.")
    level = access.check_visible(actor, row.Report)
    return to_work_item(_work_record(row), level, str(actor.language), now)


def assignee_filter(actor: Actor, raw: str | None) -> tuple[uuid.UUID | None, bool]:
    """``me``, ``none`` or a person's id → (assignee id, unassigned only)."""
    if raw is None:
        return None, False
    if raw == "me":
        return actor.user_id, False
    if raw == "none":
        return None, True
    try:
        return uuid.UUID(raw), False
    except ValueError:
        raise InvalidInput("assignee is me, none, or a person's id.", field="assignee") from None


def check_states(states: list[ReportState] | None) -> None:
    for state in states or []:
        if state not in OPEN_STATES:
            raise InvalidInput(
                f"The queue holds open reports only; {state} is not open "
                f"({', '.join(sorted(OPEN_STATES))}).",
                field="state",
            )


async def queue_departments(
    session: AsyncSession, actor: Actor, department_id: uuid.UUID, *, subtree: bool
) -> list[uuid.UUID]:
    """The departments a queue covers: the department, and with ``subtree`` those below it
    that the caller works too (a supervisor's or an admin's whole subtree). 404 for no such
    department, 403 for a caller who does not work there."""
    await city.get_department(session, department_id)
    await require_power(session, actor, department_id, hide=False)
    if not subtree:
        return [department_id]
    tree = await city.department_subtree(session, department_id)
    if actor.is_admin:
        return tree
    mine = await powers(session, actor)
    return [d for d in tree if d in mine]


async def department_queue(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    filters: QueueFilters,
    *,
    subtree: bool,
    sort: QueueSort,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
) -> QueuePage:
    """A page of the queue and the counts per state under the same filters."""
    check_states(filters.states)
    departments = await queue_departments(session, actor, department_id, subtree=subtree)
    rows, next_cursor = await repository.queue_page(
        session,
        departments,
        filters,
        now,
        limit=limit,
        cursor=cursor,
        ascending=sort is QueueSort.due_at,
    )
    counts = QueueCounts()
    for state, total, overdue in await repository.queue_counts(session, departments, filters, now):
        setattr(counts, state, total)
        counts.total += total
        counts.overdue += overdue
    # Everything in the queue is the caller's to work: the department's view of each.
    return QueuePage(
        items=[to_work_item(row, STAFF, language, now) for row in rows],
        next_cursor=next_cursor,
        counts=counts,
        departments=departments,
    )


async def colleagues(session: AsyncSession, actor: Actor, department_id: uuid.UUID) -> list[Person]:
    """Whom the caller may give the department's reports to (assign): 403 for a caller who
    does not work there."""
    await require_power(session, actor, department_id, hide=False)
    return [
        Person(id=person.id, display_name=person.display_name)
        for person in await repository.colleagues(session, department_id)
    ]

"""Working one report: who works on it (claim, assign, unassign), starting work, internal
and public notes, and the department's priority.

Every function locks the report and checks the caller's power over its department first:
404 for a report the caller may not work (they may not know it exists), 403 for staff where
a supervisor is needed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import Conflict, InvalidInput
from service.queues import repository
from service.queues.access import Power, require_power
from service.reports import lifecycle
from service.reports.models import Report, ReportEvent
from service.reports.states import OPEN_STATES, ReportState

# States the department may start work from (claiming starts it too).
STARTABLE = frozenset({ReportState.accepted, ReportState.reopened})


async def workable(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, at_least: Power = Power.staff
) -> tuple[Report, Power]:
    """The report, locked, with the caller's power over its department."""
    report = await lifecycle.lock(session, report_id)
    power = await require_power(session, actor, report.department_id, at_least=at_least)
    return report, power


def require_open(report: Report, what: str) -> None:
    if report.state not in OPEN_STATES or report.state == ReportState.transferred:
        raise Conflict(
            f"A report that is {report.state} cannot be {what}.",
            current_state=str(report.state),
        )


async def _set_assignee(
    session: AsyncSession,
    actor: Actor,
    report: Report,
    user_id: uuid.UUID | None,
    now: datetime,
    event: str,
) -> None:
    if report.assignee_id == user_id:
        return
    name = None
    if user_id is not None:
        if not await repository.works_in(session, user_id, report.department_id):
            raise InvalidInput(
                "The assignee must hold staff or supervisor in the report's department.",
                field="user_id",
            )
        person = await repository.user(session, user_id)
        name = person.display_name if person else None
    lifecycle.set_assignee(session, report, actor, user_id, name, event, now)


async def claim(session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime) -> Report:
    """Take the report: it is assigned to the caller, and work starts on an accepted or
    reopened report. Someone else's report is taken over through assign, not claimed."""
    report, _ = await workable(session, actor, report_id)
    require_open(report, "claimed")
    if report.assignee_id not in (None, actor.user_id):
        raise Conflict(
            "Someone else works on this report; assign it to take it over.",
            reason="assigned_to_someone_else",
            assignee_id=str(report.assignee_id),
        )
    await _set_assignee(session, actor, report, actor.user_id, now, "claimed")
    if report.state in STARTABLE:
        lifecycle.start_work(session, report, actor, now)
    await session.flush()
    return report


async def assign(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> Report:
    """Give the report to a colleague of its department (or take it over)."""
    report, _ = await workable(session, actor, report_id)
    require_open(report, "assigned")
    await _set_assignee(session, actor, report, user_id, now, "assigned")
    await session.flush()
    return report


async def unassign(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> Report:
    report, _ = await workable(session, actor, report_id)
    require_open(report, "unassigned")
    await _set_assignee(session, actor, report, None, now, "unassigned")
    await session.flush()
    return report


async def start(session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime) -> Report:
    """accepted or reopened → in_progress (409 from any other state)."""
    report, _ = await workable(session, actor, report_id)
    lifecycle.start_work(session, report, actor, now)
    await session.flush()
    return report


async def add_note(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    text: str,
    public: bool,
    now: datetime,
) -> ReportEvent:
    """An internal note (the department, moderators and admins see it) or a public status
    note on the timeline. Notes do not change the report's version."""
    report, _ = await workable(session, actor, report_id)
    added = await lifecycle.add_note(session, report, actor, now, public=public, text=text)
    await session.flush()
    return added


async def set_priority(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    priority_id: uuid.UUID | None,
    now: datetime,
) -> Report:
    """One of the department's active priorities, or none."""
    report, _ = await workable(session, actor, report_id)
    require_open(report, "prioritised")
    code = None
    if priority_id is not None:
        found = await repository.priority(session, priority_id)
        if found is None or found.department_id != report.department_id or not found.active:
            raise InvalidInput(
                "Not an active priority of the report's department.", field="priority_id"
            )
        code = found.code
    lifecycle.set_priority(session, report, actor, priority_id, code, now)
    await session.flush()
    return report

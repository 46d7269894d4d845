"""Bulk actions on a selection from a department's queue: each report is checked and done on
its own (a savepoint each), so one that fails (moved away, closed meanwhile, not the
caller's) does not stop the others, and each gets its own status.

Actions are handlers keyed by :class:`service.queues.schemas.BulkAction`. Another package
adds one (answering with a response template, say) by adding the action's member and fields
to the schema and registering ``HANDLERS[BulkAction.x] = handler``: a handler takes the
session, the caller, one report id, the request and the time, does what the single action's
service does (locking the report and checking the caller's power itself) and returns the
report.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import AppError, NotFound
from service.queues import work
from service.queues.queue import queue_departments
from service.queues.schemas import BulkAction, BulkWorkItem, BulkWorkRequest
from service.reports import repository as reports
from service.reports.models import Report

BulkHandler = Callable[
    [AsyncSession, Actor, uuid.UUID, BulkWorkRequest, datetime], Awaitable[Report]
]


async def _assign(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, body: BulkWorkRequest, now: datetime
) -> Report:
    assert body.user_id is not None
    return await work.assign(session, actor, report_id, body.user_id, now)


async def _status_note(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, body: BulkWorkRequest, now: datetime
) -> Report:
    assert body.text is not None
    await work.add_note(session, actor, report_id, body.text, True, now)
    return await reports.lock(session, report_id)


HANDLERS: dict[BulkAction, BulkHandler] = {
    BulkAction.assign: _assign,
    BulkAction.status_note: _status_note,
}


async def bulk(
    session: AsyncSession,
    actor: Actor,
    department_id: uuid.UUID,
    body: BulkWorkRequest,
    now: datetime,
) -> list[BulkWorkItem]:
    """Do ``body.action`` to each report of the department's queue (403 for a caller who
    does not work there; 404 for a report outside the queue)."""
    departments = set(await queue_departments(session, actor, department_id, subtree=True))
    handler = HANDLERS[body.action]
    results: dict[uuid.UUID, BulkWorkItem] = {}
    # Several reports are locked in id order (the life cycle's lock order), so two bulk
    # requests over the same reports cannot wait on each other; answers keep the request's.
    for report_id in sorted(set(body.report_ids)):
        try:
            async with session.begin_nested():
                report = await reports.get(session, report_id)
                if report is None or report.department_id not in departments:
                    raise NotFound("No such report in this queue.")
                report = await handler(session, actor, report_id, body, now)
            results[report_id] = BulkWorkItem(id=report_id, status=200, state=report.state)
        except AppError as exc:
            results[report_id] = BulkWorkItem(id=report_id, status=exc.status, detail=exc.detail)
    return [results[report_id] for report_id in body.report_ids]

"""Department work endpoints: the queue, bulk actions, and what staff do to one report
(claim, assign, start, notes, priority, clarification, transfer, extension); and the
reporter's answer to a clarification.

Who may call: people holding staff, supervisor or admin (``require_roles``; an API key never
works a queue); which department's reports they may work is checked per object
(``service.queues.access``): 403 for a queue that is not theirs, 404 for a report they may
not know of.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime, StringConstraints

from service.auth.actor import Actor
from service.auth.dependencies import require_roles, require_scope
from service.auth.models import Role
from service.auth.policy import DEPARTMENTS, OWN
from service.auth.scopes import Scope
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS
from service.fields import PlainText
from service.pagination import Cursor, PageSize
from service.queues import bulk, clarification, extensions, queue, transfers, work
from service.queues.repository import QueueFilters
from service.queues.schemas import (
    AssignRequest,
    BulkWorkRequest,
    BulkWorkResult,
    ClarificationAnswer,
    ClarificationRequest,
    ExtensionRequestCreate,
    ExtensionRequestView,
    NoteCreate,
    NoteView,
    PrioritySet,
    QueuePage,
    QueueSort,
    TransferCreate,
    TransferRequestCreate,
    TransferRequestView,
    WorkItem,
)
from service.reports import views
from service.reports.schemas import ReportView
from service.reports.states import ReportState

router = APIRouter(tags=["department work"])
# People who may work some department's reports; which ones is checked per object.
Staff = Annotated[Actor, Depends(require_roles(Role.staff, Role.supervisor, Role.admin))]
Reporter = Annotated[Actor, Depends(require_scope(Scope.reports_write, verified=True))]


async def _item(
    session: SessionDep, actor: Actor, report_id: uuid.UUID, response: Response, now: datetime
) -> WorkItem:
    """The report as the caller now sees it, with its ``ETag``."""
    item = await queue.work_item(session, actor, report_id, now)
    response.headers["ETag"] = f'"{item.report.version}"'
    return item


# --- the queue -----------------------------------------------------------------------------


@router.get(
    "/v1/departments/{department_id}/queue",
    dependencies=[DEPARTMENTS],
    summary="Open reports of a department (supervisors: and below), by due time, with counts",
    responses=ERRORS,
)
async def department_queue(
    department_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
    state: Annotated[list[ReportState] | None, Query(description="Open states only.")] = None,
    reason: uuid.UUID | None = None,
    district: uuid.UUID | None = None,
    priority: uuid.UUID | None = None,
    assignee: Annotated[
        Annotated[str, StringConstraints(max_length=36), PlainText] | None,
        Query(description="`me`, `none`, or a person's id."),
    ] = None,
    overdue: bool | None = None,
    due_before: AwareDatetime | None = None,
    text: Annotated[
        Annotated[str, StringConstraints(min_length=3, max_length=100), PlainText] | None,
        Query(description="Part of the tracking code, address or description."),
    ] = None,
    subtree: Annotated[
        bool, Query(description="Include the departments below that the caller works too.")
    ] = True,
    sort: QueueSort = QueueSort.due_at,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> QueuePage:
    assignee_id, unassigned = queue.assignee_filter(actor, assignee)
    filters = QueueFilters(
        states=state,
        reason_id=reason,
        district_id=district,
        priority_id=priority,
        assignee_id=assignee_id,
        unassigned=unassigned,
        overdue=overdue,
        due_before=due_before,
        text=text,
    )
    return await queue.department_queue(
        session,
        actor,
        department_id,
        filters,
        subtree=subtree,
        sort=sort,
        now=now,
        language=str(actor.language),
        limit=min(limit, 100),
        cursor=cursor,
    )


@router.post(
    "/v1/departments/{department_id}/queue/bulk",
    dependencies=[DEPARTMENTS],
    summary="Assign or post a public status note on several reports; each succeeds or fails alone",
    responses=ERRORS,
)
async def bulk_work(
    department_id: uuid.UUID,
    body: BulkWorkRequest,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> BulkWorkResult:
    return BulkWorkResult(results=await bulk.bulk(session, actor, department_id, body, now))


# --- one report ----------------------------------------------------------------------------


@router.post(
    "/v1/reports/{report_id}/claim",
    dependencies=[DEPARTMENTS],
    summary="Take the report (and start work on an accepted or reopened one)",
    responses=ERRORS,
)
async def claim(
    report_id: uuid.UUID, response: Response, actor: Staff, session: SessionDep, now: NowDep
) -> WorkItem:
    await work.claim(session, actor, report_id, now)
    return await _item(session, actor, report_id, response, now)


@router.put(
    "/v1/reports/{report_id}/assignee",
    dependencies=[DEPARTMENTS],
    summary="Give the report to a colleague of its department",
    responses=ERRORS,
)
async def assign(
    report_id: uuid.UUID,
    body: AssignRequest,
    response: Response,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> WorkItem:
    await work.assign(session, actor, report_id, body.user_id, now)
    return await _item(session, actor, report_id, response, now)


@router.delete(
    "/v1/reports/{report_id}/assignee",
    dependencies=[DEPARTMENTS],
    summary="Nobody works on the report any more",
    responses=ERRORS,
)
async def unassign(
    report_id: uuid.UUID, response: Response, actor: Staff, session: SessionDep, now: NowDep
) -> WorkItem:
    await work.unassign(session, actor, report_id, now)
    return await _item(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/start",
    dependencies=[DEPARTMENTS],
    summary="Start work (accepted or reopened → in progress)",
    responses=ERRORS,
)
async def start(
    report_id: uuid.UUID, response: Response, actor: Staff, session: SessionDep, now: NowDep
) -> WorkItem:
    await work.start(session, actor, report_id, now)
    return await _item(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/notes",
    dependencies=[DEPARTMENTS],
    status_code=status.HTTP_201_CREATED,
    summary="An internal note, or a public status note on the timeline",
    responses=ERRORS,
)
async def add_note(
    report_id: uuid.UUID, body: NoteCreate, actor: Staff, session: SessionDep, now: NowDep
) -> NoteView:
    event = await work.add_note(session, actor, report_id, body.text, body.public, now)
    return NoteView(id=event.id, at=event.at, type=event.type, public=event.public, text=body.text)


@router.put(
    "/v1/reports/{report_id}/priority",
    dependencies=[DEPARTMENTS],
    summary="Set (or clear) the report's priority, one of its department's",
    responses=ERRORS,
)
async def set_priority(
    report_id: uuid.UUID,
    body: PrioritySet,
    response: Response,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> WorkItem:
    await work.set_priority(session, actor, report_id, body.priority_id, now)
    return await _item(session, actor, report_id, response, now)


# --- clarification -------------------------------------------------------------------------


@router.post(
    "/v1/reports/{report_id}/clarification-requests",
    dependencies=[DEPARTMENTS],
    summary="Ask the reporter a question: the report waits for the answer, the clock pauses",
    responses=ERRORS,
)
async def ask_clarification(
    report_id: uuid.UUID,
    body: ClarificationRequest,
    response: Response,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> WorkItem:
    await clarification.ask(session, actor, report_id, body.question, now)
    return await _item(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/clarifications",
    dependencies=[OWN],
    summary="Answer the department's question about my report (the clock resumes)",
    responses=ERRORS,
    tags=["reports"],
)
async def answer_clarification(
    report_id: uuid.UUID,
    body: ClarificationAnswer,
    response: Response,
    actor: Reporter,
    session: SessionDep,
    now: NowDep,
) -> ReportView:
    await clarification.answer(session, actor, report_id, body.answer, now)
    result = await views.view(session, actor, now, str(actor.language), report_id=report_id)
    response.headers["ETag"] = f'"{result.version}"'
    return result


# --- transfers and extensions --------------------------------------------------------------


@router.post(
    "/v1/reports/{report_id}/transfer",
    dependencies=[DEPARTMENTS],
    summary="Move the report to another department at once (supervisors)",
    responses=ERRORS,
)
async def transfer(
    report_id: uuid.UUID,
    body: TransferCreate,
    response: Response,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> WorkItem:
    await transfers.transfer(
        session, actor, report_id, body.to_department_id, body.reason, body.reset_clock, now
    )
    return await _item(session, actor, report_id, response, now)


@router.post(
    "/v1/reports/{report_id}/transfer-requests",
    dependencies=[DEPARTMENTS],
    status_code=status.HTTP_201_CREATED,
    summary="Ask another department (or the dispatcher) to take the report",
    responses=ERRORS,
)
async def request_transfer(
    report_id: uuid.UUID,
    body: TransferRequestCreate,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> TransferRequestView:
    request = await transfers.request_transfer(
        session, actor, report_id, body.to_department_id, body.reason, now
    )
    return await transfers.request_view(session, request.id)


@router.post(
    "/v1/reports/{report_id}/extension-requests",
    dependencies=[DEPARTMENTS],
    status_code=status.HTTP_201_CREATED,
    summary="Ask the supervisor for a later deadline, with a justification",
    responses=ERRORS,
)
async def request_extension(
    report_id: uuid.UUID,
    body: ExtensionRequestCreate,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
) -> ExtensionRequestView:
    request = await extensions.request_extension(
        session, actor, report_id, body.due_at, body.justification, now
    )
    return await extensions.request_view(session, request.id)

"""Answer moderation: answers of reasons that need it wait in a queue, oldest first, until a
moderator approves them (they are published, :func:`service.feedback.responses.publish`)
or returns them to the department with a comment (the author is told and may answer
again). A transfer withdraws an answer still waiting (:func:`withdraw_on_transfer`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.city.models import Department
from service.config import Settings
from service.errors import Conflict, NotFound
from service.feedback import repository
from service.feedback.models import ReportResponse, ResponseState
from service.feedback.responses import publish, response_view
from service.feedback.schemas import AnswerQueueItem, ReturnRequest
from service.pagination import keyset_page
from service.reports import lifecycle
from service.reports.access import STAFF
from service.reports.lifecycle import notices
from service.reports.models import Report
from service.reports.views import to_view


async def answer_queue(
    session: AsyncSession,
    settings: Settings,
    *,
    now: datetime,
    language: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[AnswerQueueItem], str | None]:
    """Answers waiting for moderation, oldest first (keyset on created_at, id)."""
    rows, next_cursor = await keyset_page(
        session,
        repository.answer_queue_select(),
        col(ReportResponse.created_at),
        col(ReportResponse.id),
        cursor=cursor,
        limit=limit,
        ascending=True,
        key=lambda row: (row.ReportResponse.created_at, row.ReportResponse.id),
    )
    items = [
        AnswerQueueItem(
            response=response_view(row.ReportResponse, settings, staff=True),
            report=to_view(row, STAFF, language, now, contact=False),
            waiting_since=row.ReportResponse.created_at,
        )
        for row in rows
    ]
    return items, next_cursor


async def _waiting(session: AsyncSession, response_id: uuid.UUID) -> tuple[Report, ReportResponse]:
    """A response waiting for moderation and its report, locked (the report's lock guards
    its responses: every change of either is made under it)."""
    response = await repository.get_response(session, response_id)
    if response is None:
        raise NotFound("No such answer.")
    report = await lifecycle.lock(session, response.report_id)
    await session.refresh(response)
    if response.state != ResponseState.pending_moderation:
        raise Conflict(
            f"This answer is {response.state}, not waiting for moderation.",
            current_state=str(response.state),
        )
    return report, response


async def approve(
    session: AsyncSession,
    actor: Actor,
    response_id: uuid.UUID,
    now: datetime,
    settings: Settings,
) -> ReportResponse:
    """Publish an answer waiting for moderation (409 when the report moved on meanwhile:
    withdrawn, or in another round)."""
    report, response = await _waiting(session, response_id)
    if response.round_number != report.round:
        raise Conflict("The report is in another round now.", current_round=report.round)
    response.moderated_by_id = actor.user_id
    response.moderated_at = now
    await publish(session, report, response, actor, now, settings)
    await session.flush()
    return response


async def return_answer(
    session: AsyncSession,
    actor: Actor,
    response_id: uuid.UUID,
    body: ReturnRequest,
    now: datetime,
) -> ReportResponse:
    """Send an answer back to the department with a comment; its author is emailed, and
    the department may answer again."""
    report, response = await _waiting(session, response_id)
    response.state = ResponseState.returned
    response.moderated_by_id = actor.user_id
    response.moderated_at = now
    response.moderation_comment = body.comment
    lifecycle.record_event(
        session,
        report,
        actor,
        "answer_returned",
        now,
        public=False,
        response_id=str(response.id),
        comment=body.comment,
    )
    await notices.tell_user(
        session,
        report,
        "answer_returned",
        str(response.id),
        response.author_id,
        now=now,
        comment=body.comment,
    )
    await session.flush()
    return response


async def withdraw_on_transfer(
    session: AsyncSession,
    report: Report,
    actor: Actor,
    source: Department,
    target: Department,
    now: datetime,
) -> None:
    """A transfer withdraws the old department's answer waiting for moderation: approved
    later, it would be published in the new department's name and count in its figures.
    The report is locked by the transfer; the new department answers afresh."""
    response = await repository.waiting_response(session, report.id, report.round)
    if response is None:
        return
    note = (
        f"Withdrawn before moderation: the report was transferred from {source.name} "
        f"to {target.name}."
    )
    response.state = ResponseState.withdrawn
    response.moderated_at = now
    response.moderation_comment = note
    lifecycle.record_event(
        session,
        report,
        actor,
        "answer_withdrawn",
        now,
        public=False,
        response_id=str(response.id),
        from_department=source.code,
        to_department=target.code,
        note=note,
    )

"""Moderation endpoints: the queue and the decisions (accept, reject, duplicate, bulk).

Moderators and admins only, signed in as people: an API key is refused whatever its owner
may do. Each decision names the version of the report the moderator saw, by ``If-Match``
(the ``ETag`` of the report) or a ``version`` field; without one the answer is 428, and
when the report changed since, 412 (it stays in the queue).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from pydantic import StringConstraints

from service.auth.actor import Actor
from service.auth.dependencies import require_roles
from service.auth.models import Role
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM, InvalidInput, PreconditionRequired
from service.fields import PlainText
from service.pagination import Cursor, PageSize
from service.reports import moderation
from service.reports.router import caller_view
from service.reports.schemas import (
    AcceptRequest,
    BulkRequest,
    BulkResult,
    DuplicateRequest,
    QueuePage,
    RejectRequest,
    ReportView,
)

Moderator = Annotated[Actor, Depends(require_roles(Role.moderator, Role.admin))]
IfMatch = Annotated[
    Annotated[str, StringConstraints(max_length=40), PlainText] | None,
    Header(
        alias="If-Match",
        description="The report's `ETag` when it was read (or send `version` in the body).",
    ),
]
DECISION_ERRORS = {**ERRORS, 412: PROBLEM, 428: PROBLEM}
router = APIRouter(prefix="/v1/moderation", tags=["moderation"])


def seen_version(if_match: str | None, version: int | None) -> int:
    """The version the moderator saw, from ``If-Match`` or the body; 428 without one."""
    if version is not None:
        return version
    if if_match is None:
        raise PreconditionRequired(
            "Say which version of the report you decided on: send If-Match with its ETag, "
            "or version in the body."
        )
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidInput('If-Match must be the report\'s ETag, like "3".', field="If-Match")
    return int(tag)


@router.get("/queue", summary="Reports awaiting moderation, oldest first", responses=ERRORS)
async def moderation_queue(
    actor: Moderator,
    session: SessionDep,
    now: NowDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> QueuePage:
    items, next_cursor = await moderation.queue(
        session,
        now=now,
        language=str(actor.language),
        limit=min(limit, 100),
        cursor=cursor,
    )
    return QueuePage(items=items, next_cursor=next_cursor)


@router.post(
    "/reports/{report_id}/accept",
    summary="Accept (optionally correcting the reason or place, which routes it again)",
    responses=DECISION_ERRORS,
)
async def accept_report(
    report_id: uuid.UUID,
    response: Response,
    actor: Moderator,
    session: SessionDep,
    now: NowDep,
    if_match: IfMatch = None,
    body: AcceptRequest | None = None,
) -> ReportView:
    body = body or AcceptRequest()
    version = seen_version(if_match, body.version)
    await moderation.accept(session, actor, report_id, body, now, version=version)
    return await caller_view(session, actor, report_id, response, now)


@router.post(
    "/reports/{report_id}/reject",
    summary="Reject with a reason code and text",
    responses=DECISION_ERRORS,
)
async def reject_report(
    report_id: uuid.UUID,
    body: RejectRequest,
    response: Response,
    actor: Moderator,
    session: SessionDep,
    now: NowDep,
    if_match: IfMatch = None,
) -> ReportView:
    version = seen_version(if_match, body.version)
    await moderation.reject(session, actor, report_id, body, now, version=version)
    return await caller_view(session, actor, report_id, response, now)


@router.post(
    "/reports/{report_id}/duplicate",
    summary="Mark as a duplicate of another report (supporters and subscribers move over)",
    responses=DECISION_ERRORS,
)
async def duplicate_report(
    report_id: uuid.UUID,
    body: DuplicateRequest,
    response: Response,
    actor: Moderator,
    session: SessionDep,
    now: NowDep,
    if_match: IfMatch = None,
) -> ReportView:
    version = seen_version(if_match, body.version)
    await moderation.mark_duplicate(session, actor, report_id, body, now, version=version)
    return await caller_view(session, actor, report_id, response, now)


@router.post(
    "/bulk",
    summary="Accept or reject several reports at the versions seen; each succeeds or fails alone",
    responses=ERRORS,
)
async def bulk_moderation(
    body: BulkRequest, actor: Moderator, session: SessionDep, now: NowDep
) -> BulkResult:
    return BulkResult(results=await moderation.bulk(session, actor, body, now))

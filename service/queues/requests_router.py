"""Deciding what staff asked for: transfer requests (the target department or the
dispatcher accepts or declines; the requesting department may cancel) and extension
requests (a supervisor approves or declines); and each department's lists of them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from service.auth.policy import DEPARTMENTS
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS
from service.pagination import Cursor, PageSize
from service.queues import extensions, transfers
from service.queues.models import RequestState
from service.queues.router import Staff
from service.queues.schemas import (
    ExtensionDecision,
    ExtensionRequestPage,
    ExtensionRequestView,
    TransferDecision,
    TransferDirection,
    TransferRequestPage,
    TransferRequestView,
)

router = APIRouter(tags=["department work"], dependencies=[DEPARTMENTS])
StateQuery = Annotated[RequestState | None, Query(description="Only requests in this state.")]


@router.get(
    "/v1/departments/{department_id}/transfer-requests",
    summary="Transfer requests to the department (the dispatcher: all) or from it",
    responses=ERRORS,
)
async def list_transfer_requests(
    department_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    direction: TransferDirection = TransferDirection.incoming,
    state: StateQuery = RequestState.pending,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> TransferRequestPage:
    rows, next_cursor = await transfers.requests_page(
        session,
        actor,
        department_id,
        incoming=direction is TransferDirection.incoming,
        state=state,
        limit=min(limit, 100),
        cursor=cursor,
    )
    return TransferRequestPage(
        items=[transfers.to_request_view(request, code) for request, code in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/v1/transfer-requests/{request_id}/accept",
    summary="Take the report into the target department (a supervisor may reset the clock)",
    responses=ERRORS,
)
async def accept_transfer(
    request_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
    body: TransferDecision | None = None,
) -> TransferRequestView:
    body = body or TransferDecision()
    await transfers.decide(
        session,
        actor,
        request_id,
        accept=True,
        note=body.note,
        reset_clock=body.reset_clock,
        now=now,
    )
    return await transfers.request_view(session, request_id)


@router.post(
    "/v1/transfer-requests/{request_id}/decline",
    summary="Leave the report where it is",
    responses=ERRORS,
)
async def decline_transfer(
    request_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
    body: TransferDecision | None = None,
) -> TransferRequestView:
    body = body or TransferDecision()
    await transfers.decide(
        session,
        actor,
        request_id,
        accept=False,
        note=body.note,
        reset_clock=body.reset_clock,
        now=now,
    )
    return await transfers.request_view(session, request_id)


@router.post(
    "/v1/transfer-requests/{request_id}/cancel",
    summary="Take the department's own request back",
    responses=ERRORS,
)
async def cancel_transfer(
    request_id: uuid.UUID, actor: Staff, session: SessionDep, now: NowDep
) -> TransferRequestView:
    await transfers.cancel(session, actor, request_id, now)
    return await transfers.request_view(session, request_id)


@router.get(
    "/v1/departments/{department_id}/extension-requests",
    summary="Extension requests of the department's reports (supervisors: and below)",
    responses=ERRORS,
)
async def list_extension_requests(
    department_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    state: StateQuery = RequestState.pending,
    subtree: bool = True,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> ExtensionRequestPage:
    rows, next_cursor = await extensions.requests_page(
        session,
        actor,
        department_id,
        subtree=subtree,
        state=state,
        limit=min(limit, 100),
        cursor=cursor,
    )
    return ExtensionRequestPage(
        items=[extensions.to_request_view(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/v1/extension-requests/{request_id}/approve",
    summary="Move the deadline as asked (supervisors); public with the justification",
    responses=ERRORS,
)
async def approve_extension(
    request_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
    body: ExtensionDecision | None = None,
) -> ExtensionRequestView:
    await extensions.approve(session, actor, request_id, body.note if body else None, now)
    return await extensions.request_view(session, request_id)


@router.post(
    "/v1/extension-requests/{request_id}/decline",
    summary="Keep the deadline (supervisors)",
    responses=ERRORS,
)
async def decline_extension(
    request_id: uuid.UUID,
    actor: Staff,
    session: SessionDep,
    now: NowDep,
    body: ExtensionDecision | None = None,
) -> ExtensionRequestView:
    await extensions.decline(session, actor, request_id, body.note if body else None, now)
    return await extensions.request_view(session, request_id)

"""Training endpoints for residents and ambassadors: enrolling, checking in, progress, the
pilot area's mailing list, and the ambassador's powers over their buildings' reports.

Who may call what: a signed-in person (never an API key) with a verified email address
enrols, checks in and joins the mailing list; the ambassador role (scoped to buildings)
confirms reports and lists their buildings' open reports. Filing for a neighbour is
``POST /v1/reports`` with ``on_behalf_of`` (``service.reports.filing``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from service.auth.actor import Actor
from service.auth.dependencies import PersonActor, SettingsDep, require_roles
from service.auth.models import Role
from service.auth.policy import OWN, Caller, Policy, declare
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM, Forbidden
from service.pagination import Cursor, PageSize
from service.ratelimit import RateLimiterDep
from service.training import ambassadors, attendance, enrolment, outreach, progress
from service.training.schemas import (
    AmbassadorReportPage,
    AmbassadorUpdate,
    AttendanceMark,
    CheckIn,
    Confirmation,
    EnrolmentCreate,
    EnrolmentPublic,
    MailingListJoin,
    MailingListMembership,
    MyTraining,
)

router = APIRouter(tags=["training"])


@declare(Policy(Caller.verified_person))
async def verified_person(actor: PersonActor) -> Actor:
    """A signed-in person whose email address is verified."""
    if not actor.email_verified:
        raise Forbidden("Verify your email address first.", reason="email_not_verified")
    return actor


Resident = Annotated[Actor, Depends(verified_person)]
Ambassador = Annotated[Actor, Depends(require_roles(Role.ambassador))]


@router.get(
    "/v1/me/training", summary="My programmes: progress, status, diplomas", responses=ERRORS
)
async def my_training(actor: PersonActor, session: SessionDep, settings: SettingsDep) -> MyTraining:
    return await progress.my_training(session, settings, actor)


@router.post(
    "/v1/training/programmes/{programme_id}/enrolments",
    status_code=status.HTTP_201_CREATED,
    summary="Enrol with my building (a place, or the waiting list when full)",
    responses=ERRORS,
)
async def enrol(
    programme_id: uuid.UUID,
    body: EnrolmentCreate,
    actor: Resident,
    session: SessionDep,
    now: NowDep,
) -> EnrolmentPublic:
    created = await enrolment.enrol(session, actor, programme_id, body, now)
    return await enrolment.enrolment_public(session, created)


@router.delete(
    "/v1/training/programmes/{programme_id}/enrolments/me",
    summary="Withdraw (my place goes to the first person waiting)",
    responses=ERRORS,
)
async def withdraw(
    programme_id: uuid.UUID, actor: Resident, session: SessionDep, now: NowDep
) -> EnrolmentPublic:
    withdrawn = await enrolment.withdraw(session, actor, programme_id, now)
    return await enrolment.enrolment_public(session, withdrawn)


@router.post(
    "/v1/training/sessions/{session_id}/check-in",
    status_code=status.HTTP_201_CREATED,
    summary="Check in with the session's code (during the session ± 30 min, once)",
    responses={**ERRORS, 429: PROBLEM},
)
async def check_in(
    session_id: uuid.UUID,
    body: CheckIn,
    actor: Resident,
    session: SessionDep,
    limiter: RateLimiterDep,
    now: NowDep,
) -> AttendanceMark:
    mark = await attendance.check_in(session, actor, session_id, body.code, now, limiter)
    return AttendanceMark(
        session_id=mark.session_id,
        user_id=mark.user_id,
        method=mark.method,
        recorded_at=mark.recorded_at,
    )


@router.put(
    "/v1/me/training/mailing-list",
    summary="Hear about programmes for my building's area",
    responses=ERRORS,
)
async def join_mailing_list(
    body: MailingListJoin, actor: Resident, session: SessionDep, now: NowDep
) -> MailingListMembership:
    member = await outreach.join_mailing_list(session, actor, body.building_id, now)
    return MailingListMembership(building_id=member.building_id, joined_at=member.joined_at)


@router.delete(
    "/v1/me/training/mailing-list",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave the mailing list",
    responses=ERRORS,
)
async def leave_mailing_list(actor: PersonActor, session: SessionDep) -> Response:
    await outreach.leave_mailing_list(session, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- ambassadors --------------------------------------------------------------------------


@router.patch(
    "/v1/me/ambassadorships/{ambassador_id}",
    dependencies=[OWN],
    summary="Agree (or no longer) to be named on my building's public page",
    responses=ERRORS,
)
async def update_ambassadorship(
    ambassador_id: uuid.UUID, body: AmbassadorUpdate, actor: PersonActor, session: SessionDep
) -> AmbassadorUpdate:
    changed = await ambassadors.set_public(session, actor, ambassador_id, body.public)
    return AmbassadorUpdate(public=changed.public)


@router.get(
    "/v1/training/ambassador/reports",
    summary="Open reports about my buildings (as the public sees them)",
    responses=ERRORS,
)
async def building_reports(
    actor: Ambassador,
    session: SessionDep,
    now: NowDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> AmbassadorReportPage:
    items, next_cursor = await ambassadors.building_reports(
        session, actor, now=now, limit=min(limit, 100), cursor=cursor
    )
    return AmbassadorReportPage(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/reports/{report_id}/confirm",
    summary="Confirm a report about my building, as its ambassador (once)",
    responses=ERRORS,
)
async def confirm_report(
    report_id: uuid.UUID, actor: Ambassador, session: SessionDep, now: NowDep
) -> Confirmation:
    return await ambassadors.confirm(session, actor, report_id, now)

"""Living lab endpoints for residents: the panel (join with consent, see and change the
profile, withdraw), the pilots one was drawn for (accept, decline, leave), what each asks
and until when, and answering.

Who may call what: a signed-in person (never an API key: this is their own consent) with a
verified email address joins the panel; a participation and its tasks are their tester's
only (404 for anyone else).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from service.auth.actor import Actor
from service.auth.dependencies import PersonActor
from service.auth.policy import OWN, Caller, Policy, declare
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, Forbidden
from service.lab import panel, recruiting, tasks
from service.lab.schemas import (
    PanelJoin,
    PanelMembership,
    ParticipationPage,
    ParticipationPublic,
)
from service.lab.task_schemas import ParticipationDetail, ResponseCreate, ResponseReceipt

router = APIRouter(prefix="/v1/me/lab", tags=["living lab"])


@declare(Policy(Caller.verified_person))
async def verified_person(actor: PersonActor) -> Actor:
    """A signed-in person whose email address is verified: only they may consent."""
    if not actor.email_verified:
        raise Forbidden("Verify your email address first.", reason="email_not_verified")
    return actor


Resident = Annotated[Actor, Depends(verified_person)]


@router.get("/panel", summary="My panel membership and profile", responses=ERRORS)
async def my_membership(actor: PersonActor, session: SessionDep) -> PanelMembership:
    return panel.membership_public(await panel.membership(session, actor))


@router.put(
    "/panel",
    summary="Join the panel, or change my profile (with the current consent)",
    responses=ERRORS,
)
async def join_panel(
    body: PanelJoin, actor: Resident, session: SessionDep, now: NowDep
) -> PanelMembership:
    return panel.membership_public(await panel.join(session, actor, body, now))


@router.delete(
    "/panel",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave the panel: my profile is deleted, my open participations end",
    responses=ERRORS,
)
async def leave_panel(actor: PersonActor, session: SessionDep, now: NowDep) -> Response:
    await panel.withdraw(session, actor, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/participations", summary="Pilots I was invited to", responses=ERRORS)
async def my_participations(
    actor: PersonActor, session: SessionDep, now: NowDep
) -> ParticipationPage:
    return ParticipationPage(items=await tasks.my_participations(session, actor, now))


@router.get(
    "/participations/{participation_id}",
    dependencies=[OWN],
    summary="A pilot I was invited to, with what it asks of me and until when",
    responses=ERRORS,
)
async def my_participation(
    participation_id: uuid.UUID, actor: PersonActor, session: SessionDep, now: NowDep
) -> ParticipationDetail:
    return await tasks.participation_detail(session, actor, participation_id, now)


async def _answered(
    session: SessionDep, actor: PersonActor, participation_id: uuid.UUID, now: NowDep
) -> ParticipationPublic:
    found = await tasks.participation_detail(session, actor, participation_id, now)
    return ParticipationPublic(**found.model_dump(exclude={"tasks"}))


@router.post(
    "/participations/{participation_id}/accept",
    dependencies=[OWN],
    summary="Accept the invitation (by its deadline)",
    responses=ERRORS,
)
async def accept(
    participation_id: uuid.UUID, actor: PersonActor, session: SessionDep, now: NowDep
) -> ParticipationPublic:
    await recruiting.respond(session, actor, participation_id, True, now)
    return await _answered(session, actor, participation_id, now)


@router.post(
    "/participations/{participation_id}/decline",
    dependencies=[OWN],
    summary="Decline the invitation",
    responses=ERRORS,
)
async def decline(
    participation_id: uuid.UUID, actor: PersonActor, session: SessionDep, now: NowDep
) -> ParticipationPublic:
    await recruiting.respond(session, actor, participation_id, False, now)
    return await _answered(session, actor, participation_id, now)


@router.post(
    "/participations/{participation_id}/leave",
    dependencies=[OWN],
    summary="Leave a pilot (my answers so far stay in its results, without me)",
    responses=ERRORS,
)
async def leave(
    participation_id: uuid.UUID, actor: PersonActor, session: SessionDep, now: NowDep
) -> ParticipationPublic:
    await recruiting.leave(session, actor, participation_id, now)
    return await _answered(session, actor, participation_id, now)


@router.post(
    "/tasks/{task_id}/responses",
    dependencies=[OWN],
    status_code=status.HTTP_201_CREATED,
    summary="Answer a task of a pilot I test (a survey once, a diary once a day)",
    responses=ERRORS,
)
async def answer(
    task_id: uuid.UUID, body: ResponseCreate, actor: PersonActor, session: SessionDep, now: NowDep
) -> ResponseReceipt:
    found = await tasks.submit(session, actor, task_id, body, now)
    return ResponseReceipt(
        task_id=found.task_id, entry_on=found.entry_on, submitted_at=found.submitted_at
    )

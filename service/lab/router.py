"""Living lab endpoints for the people who run pilots: pilots, draws, recruitment, tasks,
results and their export, and the panel's size. The testers' endpoints are in
``resident_router.py``.

Who may call what: the consent text is public; everything else needs the ``lab_manager``,
``idea_office`` or ``admin`` role (never an API key). None of it names a tester.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import Response

from service.auth.actor import Actor
from service.auth.dependencies import require_roles
from service.auth.policy import PUBLIC
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS
from service.lab import access, consent, panel, pilots, recruiting, results, tasks
from service.lab.schemas import (
    ConsentPublic,
    DrawCreate,
    DrawPublic,
    PanelSummary,
    PilotCreate,
    PilotPage,
    PilotPublic,
    PilotTransition,
    PilotUpdate,
    Recruitment,
)
from service.lab.task_schemas import PilotResults, TaskCreate, TaskList, TaskPublic

router = APIRouter(prefix="/v1/lab", tags=["living lab"])
Manager = Annotated[Actor, Depends(require_roles(*access.MANAGERS))]


@router.get("/consent", dependencies=[PUBLIC], summary="The panel's current consent text")
async def consent_text() -> ConsentPublic:
    return consent.current()


@router.get("/panel", summary="The panel's size by district and age band", responses=ERRORS)
async def panel_summary(actor: Manager, session: SessionDep) -> PanelSummary:
    return await panel.summary(session)


@router.get("/pilots", summary="Pilots, the latest first", responses=ERRORS)
async def list_pilots(actor: Manager, session: SessionDep) -> PilotPage:
    return PilotPage(items=[pilots.describe(p) for p in await pilots.list_pilots(session)])


@router.post(
    "/pilots",
    status_code=status.HTTP_201_CREATED,
    summary="Create a pilot (a draft)",
    responses=ERRORS,
)
async def create_pilot(
    body: PilotCreate, actor: Manager, session: SessionDep, now: NowDep
) -> PilotPublic:
    return pilots.describe(await pilots.create(session, actor, body, now))


@router.get("/pilots/{pilot_id}", summary="A pilot", responses=ERRORS)
async def get_pilot(pilot_id: uuid.UUID, actor: Manager, session: SessionDep) -> PilotPublic:
    return pilots.describe(await access.managed_pilot(session, actor, pilot_id))


@router.patch("/pilots/{pilot_id}", summary="Change a pilot", responses=ERRORS)
async def change_pilot(
    pilot_id: uuid.UUID, body: PilotUpdate, actor: Manager, session: SessionDep, now: NowDep
) -> PilotPublic:
    return pilots.describe(await pilots.change(session, actor, pilot_id, body, now))


@router.post(
    "/pilots/{pilot_id}/transitions",
    summary="Start, finish or cancel a pilot",
    responses=ERRORS,
)
async def transition_pilot(
    pilot_id: uuid.UUID, body: PilotTransition, actor: Manager, session: SessionDep, now: NowDep
) -> PilotPublic:
    return pilots.describe(await pilots.transition(session, actor, pilot_id, body.action, now))


@router.post(
    "/pilots/{pilot_id}/draws",
    status_code=status.HTTP_201_CREATED,
    summary="Draw the stratified sample (or top it up) and invite whoever was drawn",
    responses=ERRORS,
)
async def make_draw(
    pilot_id: uuid.UUID, body: DrawCreate, actor: Manager, session: SessionDep, now: NowDep
) -> DrawPublic:
    return recruiting.draw_public(await recruiting.make_draw(session, actor, pilot_id, body, now))


@router.get(
    "/pilots/{pilot_id}/draws", summary="A pilot's draws with their seeds", responses=ERRORS
)
async def list_draws(pilot_id: uuid.UUID, actor: Manager, session: SessionDep) -> list[DrawPublic]:
    return await recruiting.pilot_draws(session, actor, pilot_id)


@router.get(
    "/pilots/{pilot_id}/recruitment",
    summary="Invitations and answers per stratum (counts only)",
    responses=ERRORS,
)
async def recruitment(pilot_id: uuid.UUID, actor: Manager, session: SessionDep) -> Recruitment:
    return await recruiting.recruitment(session, actor, pilot_id)


@router.post(
    "/pilots/{pilot_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    summary="Add a survey or a diary",
    responses=ERRORS,
)
async def create_task(
    pilot_id: uuid.UUID, body: TaskCreate, actor: Manager, session: SessionDep, now: NowDep
) -> TaskPublic:
    task = await tasks.create_task(session, actor, pilot_id, body, now)
    return await tasks.task_view(session, task)


@router.get("/pilots/{pilot_id}/tasks", summary="A pilot's tasks", responses=ERRORS)
async def list_tasks(pilot_id: uuid.UUID, actor: Manager, session: SessionDep) -> TaskList:
    return TaskList(items=await tasks.pilot_tasks(session, actor, pilot_id))


@router.get(
    "/pilots/{pilot_id}/results",
    summary="Results per question and stratum, small groups suppressed",
    responses=ERRORS,
)
async def pilot_results(
    pilot_id: uuid.UUID, actor: Manager, session: SessionDep, now: NowDep
) -> PilotResults:
    return await results.pilot_results(session, actor, pilot_id, now)


@router.get(
    "/pilots/{pilot_id}/results.csv",
    summary="The results for the organisation, as CSV",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}}},
    response_class=Response,
)
async def pilot_results_csv(
    pilot_id: uuid.UUID, actor: Manager, session: SessionDep, now: NowDep
) -> Response:
    found = await results.pilot_results(session, actor, pilot_id, now)
    return Response(
        results.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pilot-{pilot_id}-results.csv"'},
    )


@router.get(
    "/pilots/{pilot_id}/results.json",
    summary="The results for the organisation, as a JSON file",
    responses={**ERRORS, 200: {"content": {"application/json": {}}}},
    response_class=Response,
)
async def pilot_results_json(
    pilot_id: uuid.UUID, actor: Manager, session: SessionDep, now: NowDep
) -> Response:
    found = await results.pilot_results(session, actor, pilot_id, now)
    return Response(
        found.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="pilot-{pilot_id}-results.json"'},
    )

"""Training endpoints for coordinators and the public: programmes, sessions, attendance,
awards, statistics, coverage and diploma verification. The participants' and ambassadors'
endpoints are in ``resident_router.py``.

Who may call what: reading published programmes, their stats and coverage, and verifying a
diploma is public; running a programme needs the coordinator (or admin) role on the route
and, in the service, being one of the programme's coordinators (``access.py``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import FileResponse, JSONResponse

from service.auth.actor import Actor
from service.auth.dependencies import OptionalActor, PersonActor, SettingsDep, require_roles
from service.auth.models import Role
from service.auth.policy import OWN, PROGRAMMES, PUBLIC
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM
from service.fields import PlainText
from service.pagination import Cursor, PageSize
from service.training import attendance, awards, diplomas, programmes, progress
from service.training.schemas import (
    AwardPublic,
    AwardResult,
    BuildingAmbassador,
    Coverage,
    DiplomaVerification,
    Participant,
    ProgrammeCreate,
    ProgrammePage,
    ProgrammePublic,
    ProgrammeStats,
    ProgrammeUpdate,
    Revocation,
    Roster,
    SessionAttendance,
    SessionCreate,
    SessionPublic,
    SessionUpdate,
)
from service.training.states import ProgrammeAction

router = APIRouter(prefix="/v1/training", tags=["training"])
diploma_router = APIRouter(prefix="/v1/diplomas", tags=["training"])
Coordinator = Annotated[Actor, Depends(require_roles(Role.coordinator, Role.admin))]
GEOJSON = "application/geo+json"
DiplomaCode = Annotated[str, Path(min_length=8, max_length=24), PlainText]


# --- programmes ---------------------------------------------------------------------------


@router.get("/programmes", summary="Training programmes, newest first", responses={422: PROBLEM})
async def list_programmes(
    actor: OptionalActor, session: SessionDep, limit: PageSize = 50, cursor: Cursor = None
) -> ProgrammePage:
    items, next_cursor = await programmes.list_programmes(
        session, actor, cursor=cursor, limit=min(limit, 100)
    )
    return ProgrammePage(items=items, next_cursor=next_cursor)


@router.post(
    "/programmes",
    status_code=status.HTTP_201_CREATED,
    summary="Create a programme (a draft, run by its creator)",
    responses=ERRORS,
)
async def create_programme(
    body: ProgrammeCreate, actor: Coordinator, session: SessionDep, now: NowDep
) -> ProgrammePublic:
    programme = await programmes.create_programme(session, actor, body, now)
    return await programmes.describe(session, actor, programme)


@router.get("/programmes/{programme_id}", summary="A programme with its sessions", responses=ERRORS)
async def get_programme(
    programme_id: uuid.UUID, actor: OptionalActor, session: SessionDep
) -> ProgrammePublic:
    return await programmes.programme_view(session, actor, programme_id)


@router.patch(
    "/programmes/{programme_id}",
    dependencies=[PROGRAMMES],
    summary="Change a programme",
    responses=ERRORS,
)
async def update_programme(
    programme_id: uuid.UUID,
    body: ProgrammeUpdate,
    actor: Coordinator,
    session: SessionDep,
    now: NowDep,
) -> ProgrammePublic:
    programme = await programmes.update_programme(session, actor, programme_id, body, now)
    return await programmes.describe(session, actor, programme)


async def _change_state(
    programme_id: uuid.UUID, action: ProgrammeAction, actor: Actor, session: SessionDep, now: NowDep
) -> ProgrammePublic:
    programme = await programmes.change_state(session, actor, programme_id, action, now)
    return await programmes.describe(session, actor, programme)


@router.post(
    "/programmes/{programme_id}/publish",
    dependencies=[PROGRAMMES],
    summary="Publish a draft (open for enrolment; announced to the pilot area's mailing list)",
    responses=ERRORS,
)
async def publish(
    programme_id: uuid.UUID, actor: Coordinator, session: SessionDep, now: NowDep
) -> ProgrammePublic:
    return await _change_state(programme_id, ProgrammeAction.publish, actor, session, now)


@router.post(
    "/programmes/{programme_id}/start",
    dependencies=[PROGRAMMES],
    summary="Start an open programme",
    responses=ERRORS,
)
async def start(
    programme_id: uuid.UUID, actor: Coordinator, session: SessionDep, now: NowDep
) -> ProgrammePublic:
    return await _change_state(programme_id, ProgrammeAction.start, actor, session, now)


@router.post(
    "/programmes/{programme_id}/finish",
    dependencies=[PROGRAMMES],
    summary="Finish a running programme (and award everyone who qualified)",
    responses=ERRORS,
)
async def finish(
    programme_id: uuid.UUID, actor: Coordinator, session: SessionDep, now: NowDep
) -> ProgrammePublic:
    return await _change_state(programme_id, ProgrammeAction.finish, actor, session, now)


# --- sessions and attendance --------------------------------------------------------------


@router.post(
    "/programmes/{programme_id}/sessions",
    dependencies=[PROGRAMMES],
    status_code=status.HTTP_201_CREATED,
    summary="Add a session (participants are told once the programme is published)",
    responses=ERRORS,
)
async def add_session(
    programme_id: uuid.UUID,
    body: SessionCreate,
    actor: Coordinator,
    session: SessionDep,
    now: NowDep,
) -> SessionPublic:
    created = await programmes.add_session(session, actor, programme_id, body, now)
    return programmes.session_public(created, await programmes.session_position(session, created))


@router.patch(
    "/sessions/{session_id}",
    dependencies=[PROGRAMMES],
    summary="Change a session (participants are told once the programme is published)",
    responses=ERRORS,
)
async def update_session(
    session_id: uuid.UUID, body: SessionUpdate, actor: Coordinator, session: SessionDep, now: NowDep
) -> SessionPublic:
    changed = await programmes.update_session(session, actor, session_id, body, now)
    return programmes.session_public(changed, await programmes.session_position(session, changed))


@router.get(
    "/sessions/{session_id}/attendance",
    dependencies=[PROGRAMMES],
    summary="Who attended a session, and its check-in code",
    responses=ERRORS,
)
async def get_attendance(
    session_id: uuid.UUID, actor: Coordinator, session: SessionDep
) -> SessionAttendance:
    return await attendance.session_attendance(session, actor, session_id)


@router.put(
    "/sessions/{session_id}/attendance",
    dependencies=[PROGRAMMES],
    summary="Set a session's roster: the list replaces what was recorded (corrections audited)",
    responses=ERRORS,
)
async def put_attendance(
    session_id: uuid.UUID, body: Roster, actor: Coordinator, session: SessionDep, now: NowDep
) -> SessionAttendance:
    return await attendance.set_roster(session, actor, session_id, body.user_ids, now)


@router.get(
    "/programmes/{programme_id}/participants",
    dependencies=[PROGRAMMES],
    summary="Participants with their buildings and attendance (no contact details)",
    responses=ERRORS,
)
async def get_participants(
    programme_id: uuid.UUID, actor: Coordinator, session: SessionDep
) -> list[Participant]:
    return await progress.participants(session, actor, programme_id)


# --- awards -------------------------------------------------------------------------------


@router.post(
    "/programmes/{programme_id}/awards",
    dependencies=[PROGRAMMES],
    summary="Award everyone who qualified and is not awarded yet (idempotent)",
    responses=ERRORS,
)
async def award(
    programme_id: uuid.UUID, actor: Coordinator, session: SessionDep, now: NowDep
) -> AwardResult:
    outcome = await awards.award_command(session, actor, programme_id, now)
    fresh = {ambassador.id for ambassador, _ in outcome.new}
    listed = await awards.list_awards(session, actor, programme_id)
    return AwardResult(
        awarded=[a for a in listed if a.ambassador_id in fresh], already_awarded=outcome.already
    )


@router.get(
    "/programmes/{programme_id}/awards",
    dependencies=[PROGRAMMES],
    summary="The programme's ambassadors and their diplomas",
    responses=ERRORS,
)
async def list_awards(
    programme_id: uuid.UUID, actor: Coordinator, session: SessionDep
) -> list[AwardPublic]:
    return await awards.list_awards(session, actor, programme_id)


@router.post(
    "/ambassadors/{ambassador_id}/revoke",
    dependencies=[PROGRAMMES],
    summary="Revoke an ambassadorship, its role and its diploma (audited)",
    responses=ERRORS,
)
async def revoke(
    ambassador_id: uuid.UUID, body: Revocation, actor: Coordinator, session: SessionDep, now: NowDep
) -> AwardPublic:
    ambassador = await awards.revoke(session, actor, ambassador_id, body.reason, now)
    listed = await awards.list_awards(session, actor, ambassador.programme_id)
    return next(a for a in listed if a.ambassador_id == ambassador.id)


# --- statistics and coverage (public) -----------------------------------------------------


@router.get(
    "/programmes/{programme_id}/stats",
    summary="Participants, attendance per session, sessions-attended histogram, qualified",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def get_stats(
    programme_id: uuid.UUID, actor: OptionalActor, session: SessionDep
) -> ProgrammeStats:
    return await progress.stats(session, actor, programme_id)


@router.get(
    "/programmes/{programme_id}/coverage",
    summary="Pilot buildings with an active ambassador ÷ all, and those without one",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def get_coverage(
    programme_id: uuid.UUID, actor: OptionalActor, session: SessionDep
) -> Coverage:
    return await progress.coverage(session, actor, programme_id)


@router.get(
    "/programmes/{programme_id}/coverage/map",
    summary="The programme's pilot buildings without an ambassador, as GeoJSON",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}, 404: PROBLEM, 422: PROBLEM},
)
async def get_coverage_map(
    programme_id: uuid.UUID, actor: OptionalActor, session: SessionDep
) -> JSONResponse:
    result = await progress.coverage(session, actor, programme_id)
    return JSONResponse(
        progress.uncovered_geojson(result).model_dump(mode="json", exclude_none=True),
        media_type=GEOJSON,
    )


@router.get(
    "/coverage",
    summary="City-wide: pilot buildings with an active ambassador ÷ all, and those without",
)
async def get_city_coverage(actor: OptionalActor, session: SessionDep) -> Coverage:
    return await progress.coverage(session, actor, None)


@router.get(
    "/coverage/map",
    summary="City-wide: pilot buildings without an ambassador, as GeoJSON",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def get_city_coverage_map(actor: OptionalActor, session: SessionDep) -> JSONResponse:
    result = await progress.coverage(session, actor, None)
    return JSONResponse(
        progress.uncovered_geojson(result).model_dump(mode="json", exclude_none=True),
        media_type=GEOJSON,
    )


@router.get(
    "/buildings/{building_id}/ambassadors",
    dependencies=[PUBLIC],
    summary="A building's ambassadors who agreed to be named",
    responses={422: PROBLEM},
)
async def building_ambassadors(
    building_id: uuid.UUID, session: SessionDep
) -> list[BuildingAmbassador]:
    return await progress.building_ambassadors(session, building_id)


# --- diplomas -----------------------------------------------------------------------------


@diploma_router.get(
    "/{code}",
    dependencies=[PUBLIC],
    summary="Verify a diploma: genuine or not, with the name, programme and date it states",
    responses={404: PROBLEM, 422: PROBLEM},
)
async def verify_diploma(code: DiplomaCode, session: SessionDep) -> DiplomaVerification:
    return await diplomas.verify(session, code)


@diploma_router.get(
    "/{code}/pdf",
    dependencies=[OWN],
    summary="A diploma's PDF, for its holder and the programme's coordinators",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}}, **ERRORS},
)
async def diploma_pdf(
    code: DiplomaCode, actor: PersonActor, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    path, filename = await diplomas.diploma_file(session, settings, actor, code)
    return FileResponse(path, media_type="application/pdf", filename=filename)

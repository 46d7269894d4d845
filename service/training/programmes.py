"""Programmes and their sessions: creating and changing them, their life cycle, and how
they read. Who may do what is checked with ``service.training.access``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.service import record as audit
from service.auth import repository as accounts
from service.auth.actor import Actor
from service.auth.models import Role
from service.city.models import District
from service.errors import Conflict, InvalidInput
from service.pagination import keyset_page
from service.training import access, outreach, repository
from service.training.attendance import new_checkin_code
from service.training.awards import award
from service.training.enrolment import promote_waiting
from service.training.models import Programme, ProgrammeState, TrainingSession
from service.training.schemas import (
    Material,
    PilotArea,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeSummary,
    ProgrammeUpdate,
    SessionCreate,
    SessionPublic,
    SessionUpdate,
)
from service.training.states import (
    EDITABLE_STATES,
    ProgrammeAction,
    refuse_unless,
    transition,
)


async def _check_pilot_area(
    session: AsyncSession, district_id: uuid.UUID | None, building_ids: list[uuid.UUID]
) -> None:
    if district_id is not None and await session.get(District, district_id) is None:
        raise InvalidInput("No such district.", field="pilot_district_id")
    if building_ids:
        missing = set(building_ids) - await repository.existing_buildings(session, building_ids)
        if missing:
            raise InvalidInput(
                "No such buildings.",
                field="pilot_building_ids",
                missing=sorted(str(m) for m in missing),
            )


async def _check_coordinators(session: AsyncSession, user_ids: list[uuid.UUID]) -> None:
    """Everyone named must hold the coordinator role."""
    grants = await accounts.grants_of_many(session, user_ids)
    lacking = [
        str(user_id)
        for user_id in user_ids
        if not any(g.role == Role.coordinator for g in grants.get(user_id, []))
    ]
    if lacking:
        raise InvalidInput(
            "Only coordinators may run a programme.", field="coordinator_ids", users=lacking
        )


async def create_programme(
    session: AsyncSession, actor: Actor, body: ProgrammeCreate, now: datetime
) -> Programme:
    """A new draft, run by its creator and the coordinators it names."""
    await _check_pilot_area(session, body.pilot_district_id, body.pilot_building_ids)
    await _check_coordinators(session, body.coordinator_ids)
    programme = Programme(
        code=body.code,
        title=body.title,
        description=body.description,
        pilot_district_id=body.pilot_district_id,
        allow_outsiders=body.allow_outsiders,
        min_sessions=body.min_sessions,
        enrolment_opens_at=body.enrolment_opens_at,
        enrolment_closes_at=body.enrolment_closes_at,
        capacity=body.capacity,
        award_event_on=body.award_event_on,
        award_event_place=body.award_event_place,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(programme)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("A programme with this code exists already.", field="code") from exc
    await repository.set_pilot_buildings(session, programme.id, set(body.pilot_building_ids))
    await repository.set_coordinators(session, programme.id, {actor.user_id, *body.coordinator_ids})
    await audit(
        session,
        "training.programme_created",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="training_programme",
        subject_id=programme.id,
        code=programme.code,
    )
    return programme


async def update_programme(
    session: AsyncSession,
    actor: Actor,
    programme_id: uuid.UUID,
    body: ProgrammeUpdate,
    now: datetime,
) -> Programme:
    """Change a programme that has not finished. More places promote people waiting."""
    programme = await access.run_programme(session, actor, programme_id, lock=True)
    refuse_unless(programme.state, EDITABLE_STATES, "Changing the programme")
    changes = body.model_dump(exclude_unset=True)
    if "pilot_district_id" in changes or "pilot_building_ids" in changes:
        district_id = changes.get("pilot_district_id")
        building_ids = changes.get("pilot_building_ids") or []
        if (district_id is None) == (not building_ids):
            raise InvalidInput(
                "A pilot area is a district or a list of buildings.", field="pilot_district_id"
            )
        await _check_pilot_area(session, district_id, building_ids)
        programme.pilot_district_id = district_id
        await repository.set_pilot_buildings(session, programme.id, set(building_ids))
    if "coordinator_ids" in changes:
        named = body.coordinator_ids or []
        await _check_coordinators(session, named)
        # Whoever changes it keeps running it (an admin is not added).
        keep = set() if actor.is_admin else {actor.user_id}
        await repository.set_coordinators(session, programme.id, keep | set(named))
    for name in (
        "title",
        "description",
        "allow_outsiders",
        "min_sessions",
        "enrolment_opens_at",
        "enrolment_closes_at",
        "capacity",
        "award_event_on",
        "award_event_place",
    ):
        if name in changes:
            setattr(programme, name, changes[name])
    if (
        programme.enrolment_opens_at
        and programme.enrolment_closes_at
        and programme.enrolment_closes_at <= programme.enrolment_opens_at
    ):
        raise InvalidInput(
            "enrolment_closes_at must be after enrolment_opens_at.", field="enrolment_closes_at"
        )
    programme.updated_at = now
    if programme.state != ProgrammeState.draft:
        await _check_rule(session, programme)
    if "capacity" in changes:
        await promote_waiting(session, programme, now)
    await audit(
        session,
        "training.programme_changed",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="training_programme",
        subject_id=programme.id,
        fields=sorted(changes),
    )
    return programme


async def _check_rule(session: AsyncSession, programme: Programme) -> None:
    """A published programme needs sessions enough for its qualification rule."""
    sessions = await repository.sessions_of(session, programme.id)
    if not sessions:
        raise Conflict("The programme has no sessions yet.", reason="no_sessions")
    if programme.min_sessions > len(sessions):
        raise Conflict(
            f"The rule asks for {programme.min_sessions} sessions of {len(sessions)}.",
            reason="rule_unreachable",
        )


async def change_state(
    session: AsyncSession,
    actor: Actor,
    programme_id: uuid.UUID,
    action: ProgrammeAction,
    now: datetime,
) -> Programme:
    """Publish, start or finish. Publishing announces the programme to the pilot area's
    mailing list; finishing awards everyone who qualified."""
    programme = await access.run_programme(session, actor, programme_id, lock=True)
    target = transition(programme.state, action)
    if action is ProgrammeAction.publish:
        await _check_rule(session, programme)
        programme.published_at = now
    elif action is ProgrammeAction.start:
        programme.started_at = now
    else:
        programme.finished_at = now
    before = programme.state
    programme.state = target
    programme.updated_at = now
    await audit(
        session,
        f"training.programme_{action}ed",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="training_programme",
        subject_id=programme.id,
        from_state=before,
        to_state=target,
    )
    if action is ProgrammeAction.publish:
        await outreach.announce_programme(session, programme)
    if action is ProgrammeAction.finish:
        await award(session, actor, programme, now)
    return programme


# --- sessions -----------------------------------------------------------------------------


async def add_session(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID, body: SessionCreate, now: datetime
) -> TrainingSession:
    programme = await access.run_programme(session, actor, programme_id, lock=True)
    refuse_unless(programme.state, EDITABLE_STATES, "Adding a session")
    created = TrainingSession(
        programme_id=programme.id,
        topic=body.topic,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        venue=body.venue,
        capacity=body.capacity,
        materials=[m.model_dump(mode="json") for m in body.materials],
        required=body.required,
        checkin_code=new_checkin_code(),
        created_at=now,
        updated_at=now,
    )
    session.add(created)
    await session.flush()
    if programme.state != ProgrammeState.draft:
        await outreach.announce_session_change(session, created)
    return created


async def update_session(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, body: SessionUpdate, now: datetime
) -> TrainingSession:
    """Change a session; once the programme is published its participants are told."""
    found, programme = await access.run_session(session, actor, session_id, lock=True)
    refuse_unless(programme.state, EDITABLE_STATES, "Changing a session")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "materials" in changes:
        changes["materials"] = [m.model_dump(mode="json") for m in body.materials or []]
    for name, value in changes.items():
        setattr(found, name, value)
    if found.ends_at <= found.starts_at:
        raise InvalidInput("ends_at must be after starts_at.", field="ends_at")
    if not changes:
        return found
    found.version += 1
    found.updated_at = now
    await session.flush()
    if programme.state != ProgrammeState.draft:
        await outreach.announce_session_change(session, found)
    return found


# --- reading ------------------------------------------------------------------------------


def session_public(found: TrainingSession, position: int) -> SessionPublic:
    return SessionPublic(
        id=found.id,
        programme_id=found.programme_id,
        position=position,
        topic=found.topic,
        starts_at=found.starts_at,
        ends_at=found.ends_at,
        venue=found.venue,
        capacity=found.capacity,
        materials=[Material.model_validate(m) for m in found.materials],
        required=found.required,
    )


def summary(programme: Programme, sessions_count: int) -> ProgrammeSummary:
    return ProgrammeSummary(
        id=programme.id,
        code=programme.code,
        title=programme.title,
        state=programme.state,
        min_sessions=programme.min_sessions,
        sessions_count=sessions_count,
        enrolment_opens_at=programme.enrolment_opens_at,
        enrolment_closes_at=programme.enrolment_closes_at,
        award_event_on=programme.award_event_on,
    )


async def programme_view(
    session: AsyncSession, actor: Actor | None, programme_id: uuid.UUID
) -> ProgrammePublic:
    programme = await access.visible_programme(session, actor, programme_id)
    return await describe(session, actor, programme)


async def describe(
    session: AsyncSession, actor: Actor | None, programme: Programme
) -> ProgrammePublic:
    """A programme with its sessions and counts; its coordinators for those who run it."""
    sessions = await repository.sessions_of(session, programme.id)
    counts = await repository.status_counts(session, programme.id)
    runner = await access.runs(session, actor, programme)
    base = summary(programme, len(sessions))
    return ProgrammePublic(
        **base.model_dump(),
        description=programme.description,
        pilot_area=PilotArea(
            district_id=programme.pilot_district_id,
            district_name=await repository.district_name(session, programme.pilot_district_id)
            if programme.pilot_district_id
            else None,
            building_ids=await repository.pilot_building_ids(session, programme.id),
        ),
        allow_outsiders=programme.allow_outsiders,
        capacity=programme.capacity,
        enrolled=counts.get("enrolled", 0),
        waitlisted=counts.get("waitlisted", 0),
        award_event_place=programme.award_event_place,
        coordinator_ids=sorted(await repository.coordinator_ids(session, programme.id))
        if runner
        else None,
        published_at=programme.published_at,
        started_at=programme.started_at,
        finished_at=programme.finished_at,
        sessions=[session_public(s, i) for i, s in enumerate(sessions, start=1)],
    )


async def list_programmes(
    session: AsyncSession, actor: Actor | None, *, cursor: str | None, limit: int
) -> tuple[list[ProgrammeSummary], str | None]:
    """Programmes the caller may see, newest first."""
    everything = actor is not None and not actor.is_api_key and actor.is_admin
    drafts_of = actor.user_id if actor is not None and not actor.is_api_key else None
    rows, next_cursor = await keyset_page(
        session,
        repository.programmes_select(drafts_of, everything),
        col(Programme.created_at),
        col(Programme.id),
        cursor=cursor,
        limit=limit,
        ascending=False,
        key=lambda row: (row.Programme.created_at, row.Programme.id),
    )
    programmes: list[Programme] = [row.Programme for row in rows]
    counts = await repository.session_counts(session, [p.id for p in programmes])
    return [summary(p, counts.get(p.id, 0)) for p in programmes], next_cursor


async def session_position(session: AsyncSession, found: TrainingSession) -> int:
    sessions = await repository.sessions_of(session, found.programme_id)
    return next(i for i, s in enumerate(sessions, start=1) if s.id == found.id)

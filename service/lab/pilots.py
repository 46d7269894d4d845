"""Pilots: created by a lab manager (or the idea office), optionally for an idea its
committee decided to pilot or for a training programme, and moved through their life:

    draft ─(first draw)─► recruiting ─start─► running ─finish─► finished
      └──────────────┴──────────cancel──────────┴──► cancelled

Finishing completes the accepted testers' participations and lets unanswered invitations
lapse; cancelling ends every open participation.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit import service as audit
from service.auth.actor import Actor
from service.city.districts import service as districts
from service.errors import Conflict, InvalidInput
from service.ideas.models import Decision, Idea, IdeaState
from service.lab import access, repository
from service.lab.models import Participation, ParticipationStatus, Pilot, PilotState
from service.lab.schemas import PilotCreate, PilotPublic, PilotUpdate
from service.training.models import Programme

# action → (states it may leave, state it reaches), checked in one place.
TRANSITIONS: dict[str, tuple[frozenset[PilotState], PilotState]] = {
    "start": (frozenset({PilotState.recruiting}), PilotState.running),
    "finish": (frozenset({PilotState.running}), PilotState.finished),
    "cancel": (
        frozenset({PilotState.draft, PilotState.recruiting, PilotState.running}),
        PilotState.cancelled,
    ),
}
# What happens to open participations when a pilot reaches the state.
ENDINGS: dict[PilotState, dict[ParticipationStatus, ParticipationStatus]] = {
    PilotState.finished: {
        ParticipationStatus.accepted: ParticipationStatus.completed,
        ParticipationStatus.invited: ParticipationStatus.expired,
    },
    PilotState.cancelled: {
        ParticipationStatus.accepted: ParticipationStatus.cancelled,
        ParticipationStatus.invited: ParticipationStatus.cancelled,
    },
}


def describe(pilot: Pilot) -> PilotPublic:
    return PilotPublic.model_validate(pilot, from_attributes=True)


async def _check_links(session: AsyncSession, body: PilotCreate) -> None:
    if body.idea_id is not None:
        idea = await session.get(Idea, body.idea_id)
        if idea is None or idea.state != IdeaState.decided or idea.decision != Decision.pilot:
            raise InvalidInput("Only an idea decided `pilot` can be piloted.", field="idea_id")
    if body.programme_id is not None and await session.get(Programme, body.programme_id) is None:
        raise InvalidInput("No such training programme.", field="programme_id")
    for district_id in body.district_ids:
        if await districts.get_district(session, district_id) is None:
            raise InvalidInput("No such district.", field="district_ids")


async def create(session: AsyncSession, actor: Actor, body: PilotCreate, now: datetime) -> Pilot:
    await _check_links(session, body)
    if await session.scalar(select(col(Pilot.id)).where(col(Pilot.code) == body.code)):
        raise Conflict("A pilot with this code exists.", reason="code_taken")
    pilot = Pilot(
        **body.model_dump(exclude={"dimensions", "required_devices", "district_ids"}),
        dimensions=[str(d) for d in body.dimensions],
        required_devices=[str(d) for d in body.required_devices],
        district_ids=list(dict.fromkeys(body.district_ids)),
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(pilot)
    await session.flush()
    await audit.record(
        session,
        "lab.pilot.created",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="lab_pilot",
        subject_id=pilot.id,
    )
    return pilot


async def change(
    session: AsyncSession, actor: Actor, pilot_id: uuid.UUID, body: PilotUpdate, now: datetime
) -> Pilot:
    pilot = await access.managed_pilot(session, actor, pilot_id, lock=True)
    if pilot.state in (PilotState.finished, PilotState.cancelled):
        raise Conflict(f"The pilot is {pilot.state}.", reason="pilot_closed", state=pilot.state)
    # The draw counted on these: a longer period could overlap another pilot's testers.
    sampling = {"target_size", "quotas", "starts_on", "ends_on"} & body.model_fields_set
    if sampling and pilot.state != PilotState.draft:
        raise Conflict(
            "The period, the target and the quotas are fixed by the first draw.",
            reason="already_drawn",
        )
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None:
            raise InvalidInput(f"{name} cannot be null.", field=name)
        setattr(pilot, name, value)
    if pilot.ends_on < pilot.starts_on:
        raise InvalidInput("ends_on is before starts_on.", field="ends_on")
    pilot.updated_at = now
    await audit.record(
        session,
        "lab.pilot.changed",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="lab_pilot",
        subject_id=pilot.id,
        fields=sorted(body.model_fields_set),
    )
    await session.flush()
    return pilot


async def transition(
    session: AsyncSession, actor: Actor, pilot_id: uuid.UUID, action: str, now: datetime
) -> Pilot:
    pilot = await access.managed_pilot(session, actor, pilot_id, lock=True)
    sources, target = TRANSITIONS[action]
    if pilot.state not in sources:
        raise Conflict(
            f"A {pilot.state} pilot cannot {action}.",
            reason="illegal_transition",
            state=pilot.state,
        )
    pilot.state = target
    pilot.updated_at = now
    if target is PilotState.running:
        pilot.started_at = now
    if target in ENDINGS:
        pilot.finished_at = now
        for source, ending in ENDINGS[target].items():
            await session.execute(
                update(Participation)
                .where(col(Participation.pilot_id) == pilot.id, col(Participation.status) == source)
                .values(status=ending, ended_at=now)
            )
    await audit.record(
        session,
        f"lab.pilot.{action}",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="lab_pilot",
        subject_id=pilot.id,
    )
    await session.flush()
    return pilot


async def list_pilots(session: AsyncSession) -> list[Pilot]:
    return await repository.pilots(session, limit=200)

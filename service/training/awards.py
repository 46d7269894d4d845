"""Awards: every participant meeting the programme's rule becomes an ambassador of their
building (an ``ambassador`` record, the ``ambassador`` role scoped to the building, and a
diploma a worker renders as PDF). Awarding again creates nothing new: the record is unique
per programme and person, the grant per person, role and building, the diploma per record,
the PDF job per diploma. Revoking ends the ambassadorship, the grant (unless another
programme made the person an ambassador of the same building) and the diploma, audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.service import record as audit
from service.auth.actor import Actor
from service.auth.models import Role, RoleGrant
from service.city import service as city
from service.db import table_of
from service.errors import Conflict, NotFound
from service.outbox.service import add_job
from service.training import access, awards_repository, outreach, repository
from service.training.diplomas import DIPLOMA_JOB, new_diploma_code
from service.training.models import (
    Ambassador,
    Diploma,
    EnrolmentStatus,
    Programme,
    TrainingSession,
)
from service.training.schemas import AwardPublic
from service.training.states import AWARDING_STATES, refuse_unless


def qualifies(
    programme: Programme, sessions: list[TrainingSession], attended: set[uuid.UUID]
) -> bool:
    """The rule: at least ``min_sessions`` of the programme's sessions, the required ones
    among them."""
    required = {s.id for s in sessions if s.required}
    ours = attended & {s.id for s in sessions}
    return len(ours) >= programme.min_sessions and required <= ours


@dataclass(frozen=True)
class Awarded:
    new: list[tuple[Ambassador, Diploma]]
    already: int


async def award(
    session: AsyncSession, actor: Actor | None, programme: Programme, now: datetime
) -> Awarded:
    """Award everyone who qualifies and has not been awarded by this programme. The caller
    holds the programme's row lock (``access.run_programme(lock=True)``)."""
    refuse_unless(programme.state, AWARDING_STATES, "Awarding")
    sessions = await repository.sessions_of(session, programme.id)
    attended = await repository.attended_sessions(session, programme.id)
    awarded_before = await awards_repository.awarded_user_ids(session, programme.id)
    calendar = await city.load_working_calendar(session)
    awarded_on = programme.award_event_on or now.astimezone(calendar.zone).date()
    new: list[tuple[Ambassador, Diploma]] = []
    already = 0
    for row in await repository.participant_rows(session, programme.id):
        enrolment = row.Enrolment
        marks = attended.get(enrolment.user_id, set())
        if enrolment.status != EnrolmentStatus.enrolled or not qualifies(
            programme, sessions, marks
        ):
            continue
        if enrolment.user_id in awarded_before:
            already += 1
            continue
        ambassador = Ambassador(
            programme_id=programme.id,
            user_id=enrolment.user_id,
            building_id=enrolment.building_id,
            awarded_at=now,
            awarded_by_id=actor.user_id if actor else None,
        )
        session.add(ambassador)
        await session.flush()
        await session.execute(
            insert(table_of(RoleGrant))
            .values(
                id=uuid.uuid4(),
                user_id=enrolment.user_id,
                role=Role.ambassador,
                building_id=enrolment.building_id,
                granted_by_id=actor.user_id if actor else None,
                granted_at=now,
            )
            .on_conflict_do_nothing()
        )
        diploma = Diploma(
            ambassador_id=ambassador.id,
            code=new_diploma_code(),
            holder_name=row.display_name,
            programme_title=programme.title,
            building_address=row.address,
            sessions_attended=len(marks & {s.id for s in sessions}),
            sessions_total=len(sessions),
            awarded_on=awarded_on,
            created_at=now,
        )
        session.add(diploma)
        await session.flush()
        await add_job(session, DIPLOMA_JOB, str(diploma.id), str(diploma.id))
        await outreach.tell_awarded(session, diploma)
        new.append((ambassador, diploma))
    if new:
        await audit(
            session,
            "training.awarded",
            actor_user_id=actor.user_id if actor else None,
            ip=actor.ip if actor else None,
            subject_type="training_programme",
            subject_id=programme.id,
            users=[str(a.user_id) for a, _ in new],
        )
    return Awarded(new=new, already=already)


async def award_command(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID, now: datetime
) -> Awarded:
    """The coordinator's command (e.g. at the award event, before the programme closes)."""
    programme = await access.run_programme(session, actor, programme_id, lock=True)
    return await award(session, actor, programme, now)


async def revoke(
    session: AsyncSession, actor: Actor, ambassador_id: uuid.UUID, reason: str, now: datetime
) -> Ambassador:
    """End an ambassadorship: the record and the diploma say so, the role grant goes."""
    ambassador = await awards_repository.ambassador(session, ambassador_id, lock=True)
    if ambassador is None:
        raise NotFound("No such ambassador.")
    await access.run_programme(session, actor, ambassador.programme_id)
    if ambassador.revoked_at is not None:
        raise Conflict("This ambassadorship was revoked already.")
    ambassador.revoked_at = now
    ambassador.revoked_by_id = actor.user_id
    ambassador.revoke_reason = reason
    diploma = await awards_repository.diploma_of(session, ambassador.id)
    if diploma is not None:
        diploma.revoked_at = now
    if not await awards_repository.active_ambassadorship_elsewhere(session, ambassador):
        await session.execute(
            delete(RoleGrant).where(
                col(RoleGrant.user_id) == ambassador.user_id,
                col(RoleGrant.role) == Role.ambassador,
                col(RoleGrant.building_id) == ambassador.building_id,
            )
        )
    await audit(
        session,
        "training.ambassador_revoked",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="ambassador",
        subject_id=ambassador.id,
        user_id=str(ambassador.user_id),
        building_id=str(ambassador.building_id),
        reason=reason,
    )
    await session.flush()
    return ambassador


def award_public(
    row_ambassador: Ambassador, diploma: Diploma, display_name: str, address: str
) -> AwardPublic:
    return AwardPublic(
        ambassador_id=row_ambassador.id,
        user_id=row_ambassador.user_id,
        display_name=display_name,
        building_id=row_ambassador.building_id,
        building_address=address,
        awarded_at=row_ambassador.awarded_at,
        revoked_at=row_ambassador.revoked_at,
        diploma_code=diploma.code,
        diploma_ready=diploma.pdf_path is not None,
    )


async def list_awards(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID
) -> list[AwardPublic]:
    programme = await access.run_programme(session, actor, programme_id)
    return [
        award_public(row.Ambassador, row.Diploma, row.display_name, row.address)
        for row in await awards_repository.ambassadors_of(session, programme.id)
    ]

"""SQL of the living lab. No rules here: the services decide (``panel``, ``pilots``,
``recruiting``, ``tasks``, ``results``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.city.models import Building, District
from service.lab.models import (
    Answer,
    Draw,
    PanelMember,
    Participation,
    ParticipationStatus,
    Pilot,
    PilotState,
    Question,
    Task,
    TaskResponse,
)

# Participations that hold a person for their pilot's period.
HOLDING = (
    ParticipationStatus.invited,
    ParticipationStatus.accepted,
    ParticipationStatus.completed,
)


# Draws take this transaction-level advisory lock: two pilots of overlapping periods drawing
# at once would otherwise each see the same person free and both invite them.
DRAW_LOCK = 0x6C61_6264_7261_77  # "labdraw"


async def serialise_draws(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(DRAW_LOCK)))


async def member(
    session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False
) -> PanelMember | None:
    statement = select(PanelMember).where(col(PanelMember.user_id) == user_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def pilot(session: AsyncSession, pilot_id: uuid.UUID, *, lock: bool = False) -> Pilot | None:
    statement = select(Pilot).where(col(Pilot.id) == pilot_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def pilots(session: AsyncSession, limit: int) -> list[Pilot]:
    found = await session.execute(
        select(Pilot).order_by(col(Pilot.starts_on).desc(), col(Pilot.code)).limit(limit)
    )
    return list(found.scalars())


async def participation(
    session: AsyncSession, participation_id: uuid.UUID, *, lock: bool = False
) -> Participation | None:
    statement = select(Participation).where(col(Participation.id) == participation_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def participation_of(
    session: AsyncSession, pilot_id: uuid.UUID, user_id: uuid.UUID
) -> Participation | None:
    found = await session.execute(
        select(Participation).where(
            col(Participation.pilot_id) == pilot_id, col(Participation.user_id) == user_id
        )
    )
    return found.scalar_one_or_none()


async def participations_of(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Participation, Pilot]]:
    found = await session.execute(
        select(Participation, Pilot)
        .join(Pilot, col(Pilot.id) == col(Participation.pilot_id))
        .where(col(Participation.user_id) == user_id)
        .order_by(col(Participation.invited_at).desc())
    )
    return [(p, q) for p, q in found.all()]


async def eligible_pool(session: AsyncSession, pilot: Pilot, consent_version: int) -> list[Any]:
    """Rows (user id, district code, age band, household size) of the panellists the pilot
    may draw: verified, not erased or disabled, on the current consent, in its districts,
    buildings and devices, not yet in this pilot, and not held by another pilot of an
    overlapping period (unless both allow it)."""
    other = Pilot.__table__.alias("other")  # type: ignore[attr-defined]
    held = (
        select(col(Participation.id))
        .join(other, other.c.id == col(Participation.pilot_id))
        .where(
            col(Participation.user_id) == col(PanelMember.user_id),
            col(Participation.status).in_(HOLDING),
            other.c.id != pilot.id,
            other.c.state != PilotState.cancelled,
            other.c.starts_on <= pilot.ends_on,
            other.c.ends_on >= pilot.starts_on,
        )
    )
    if pilot.allow_overlap:
        held = held.where(not_(other.c.allow_overlap))
    already = select(col(Participation.id)).where(
        col(Participation.pilot_id) == pilot.id,
        col(Participation.user_id) == col(PanelMember.user_id),
    )
    statement = (
        select(
            col(PanelMember.user_id),
            col(District.code),
            col(PanelMember.age_band),
            col(PanelMember.household_size),
        )
        .join(User, col(User.id) == col(PanelMember.user_id))
        .outerjoin(District, col(District.id) == col(PanelMember.district_id))
        .outerjoin(Building, col(Building.id) == col(PanelMember.building_id))
        .where(
            col(User.email_verified_at).is_not(None),
            col(User.erased_at).is_(None),
            col(User.disabled_at).is_(None),
            not_(col(User.contact_only)),
            col(PanelMember.consent_version) == consent_version,
            not_(held.exists()),
            not_(already.exists()),
        )
    )
    if pilot.district_ids:
        statement = statement.where(col(PanelMember.district_id).in_(pilot.district_ids))
    if pilot.pilot_buildings_only:
        statement = statement.where(col(Building.is_pilot_area).is_(True))
    if pilot.required_devices:
        statement = statement.where(col(PanelMember.devices).contains(pilot.required_devices))
    return list((await session.execute(statement)).all())


async def draws(session: AsyncSession, pilot_id: uuid.UUID) -> list[Draw]:
    found = await session.execute(
        select(Draw).where(col(Draw.pilot_id) == pilot_id).order_by(col(Draw.number))
    )
    return list(found.scalars())


async def status_counts(session: AsyncSession, pilot_id: uuid.UUID) -> dict[tuple[str, str], int]:
    """(stratum, status) → participations."""
    found = await session.execute(
        select(col(Participation.stratum), col(Participation.status), func.count())
        .where(col(Participation.pilot_id) == pilot_id)
        .group_by(col(Participation.stratum), col(Participation.status))
    )
    return {(stratum, str(status)): int(count) for stratum, status, count in found.all()}


async def tasks(session: AsyncSession, pilot_id: uuid.UUID) -> list[Task]:
    found = await session.execute(
        select(Task)
        .where(col(Task.pilot_id) == pilot_id)
        .order_by(col(Task.position), col(Task.opens_at))
    )
    return list(found.scalars())


async def task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    return await session.get(Task, task_id)


async def questions(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> list[Question]:
    if not task_ids:
        return []
    found = await session.execute(
        select(Question)
        .where(col(Question.task_id).in_(task_ids))
        .order_by(col(Question.task_id), col(Question.position))
    )
    return list(found.scalars())


async def entries(session: AsyncSession, participation_id: uuid.UUID) -> list[TaskResponse]:
    found = await session.execute(
        select(TaskResponse).where(col(TaskResponse.participation_id) == participation_id)
    )
    return list(found.scalars())


async def answers_of_pilot(session: AsyncSession, pilot_id: uuid.UUID) -> list[Any]:
    """Every answer of the pilot with what results group it by: (task id, question id,
    participation id, stratum, value, share_text). Never the person."""
    found = await session.execute(
        select(
            col(TaskResponse.task_id),
            col(Answer.question_id),
            col(TaskResponse.participation_id),
            col(Participation.stratum),
            col(Answer.value),
            col(TaskResponse.share_text),
        )
        .join(TaskResponse, col(TaskResponse.id) == col(Answer.response_id))
        .join(Participation, col(Participation.id) == col(TaskResponse.participation_id))
        .where(col(Participation.pilot_id) == pilot_id)
    )
    return list(found.all())


async def users(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    found = await session.execute(select(User).where(col(User.id).in_(user_ids)))
    return list(found.scalars())


async def claim_expired_invitations(
    session: AsyncSession, now: datetime, batch: int
) -> list[Participation]:
    found = await session.execute(
        select(Participation)
        .where(
            col(Participation.status) == ParticipationStatus.invited,
            col(Participation.respond_by) <= now,
        )
        .order_by(col(Participation.respond_by))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return list(found.scalars())


async def claim_tasks(
    session: AsyncSession, now: datetime, batch: int, *, reminder: bool
) -> list[Task]:
    """Tasks of running pilots due for their opening notice, or (``reminder``) for the
    reminder a day before they are due."""
    if reminder:
        due = and_(
            col(Task.reminded_at).is_(None),
            col(Task.due_at) > now,
            col(Task.due_at) <= now + timedelta(days=1),
            col(Task.opens_at) <= now,
        )
    else:
        due = and_(
            col(Task.announced_at).is_(None), col(Task.opens_at) <= now, col(Task.due_at) > now
        )
    found = await session.execute(
        select(Task)
        .join(Pilot, col(Pilot.id) == col(Task.pilot_id))
        .where(due, col(Pilot.state) == PilotState.running)
        .order_by(col(Task.opens_at))
        .limit(batch)
        .with_for_update(of=Task, skip_locked=True)
    )
    return list(found.scalars())


async def owing_testers(
    session: AsyncSession, task: Task, *, entry_on: date | None = None
) -> list[User]:
    """Accepted testers of the task's pilot who have not answered it (a diary: not on
    ``entry_on``)."""
    answered = select(col(TaskResponse.id)).where(
        col(TaskResponse.task_id) == task.id,
        col(TaskResponse.participation_id) == col(Participation.id),
    )
    if entry_on is not None:
        answered = answered.where(col(TaskResponse.entry_on) == entry_on)
    found = await session.execute(
        select(User)
        .join(Participation, col(Participation.user_id) == col(User.id))
        .where(
            col(Participation.pilot_id) == task.pilot_id,
            col(Participation.status) == ParticipationStatus.accepted,
            not_(answered.exists()),
        )
    )
    return list(found.scalars())


async def accepted_testers(session: AsyncSession, pilot_id: uuid.UUID) -> list[User]:
    found = await session.execute(
        select(User)
        .join(Participation, col(Participation.user_id) == col(User.id))
        .where(
            col(Participation.pilot_id) == pilot_id,
            col(Participation.status) == ParticipationStatus.accepted,
        )
    )
    return list(found.scalars())


async def panel_counts(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    """Members by district code and by age band (``unknown`` for none)."""
    district = func.coalesce(col(District.code), "unknown")
    by_district = await session.execute(
        select(district, func.count())
        .select_from(PanelMember)
        .outerjoin(District, col(District.id) == col(PanelMember.district_id))
        .group_by(district)
    )
    age_band = func.coalesce(col(PanelMember.age_band), "unknown")
    by_age = await session.execute(select(age_band, func.count()).group_by(age_band))
    return (
        {str(k): int(v) for k, v in by_district.all()},
        {str(k): int(v) for k, v in by_age.all()},
    )

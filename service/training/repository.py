"""SQL for training programmes. No rules here: the services decide, this module asks.

(Over 400 lines: all SQL of the training package, which its services share.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.city.models import Building, District
from service.db import table_of
from service.training.models import (
    Attendance,
    Enrolment,
    EnrolmentStatus,
    Programme,
    ProgrammeBuilding,
    ProgrammeCoordinator,
    TrainingSession,
)

# --- programmes ---------------------------------------------------------------------------


async def programme(
    session: AsyncSession, programme_id: uuid.UUID, *, lock: bool = False
) -> Programme | None:
    statement = select(Programme).where(col(Programme.id) == programme_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def programme_by_code(session: AsyncSession, code: str) -> Programme | None:
    statement = select(Programme).where(col(Programme.code) == code)
    return (await session.execute(statement)).scalar_one_or_none()


def programmes_select(include_drafts_of: uuid.UUID | None, everything: bool) -> Any:
    """Programmes the caller may see: published ones, their own drafts, or all (admins)."""
    statement = select(Programme)
    if not everything:
        visible = col(Programme.state) != "draft"
        if include_drafts_of is not None:
            visible = or_(
                visible,
                exists().where(
                    col(ProgrammeCoordinator.programme_id) == Programme.id,
                    col(ProgrammeCoordinator.user_id) == include_drafts_of,
                ),
            )
        statement = statement.where(visible)
    return statement


async def coordinator_ids(session: AsyncSession, programme_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(ProgrammeCoordinator.user_id)).where(
            col(ProgrammeCoordinator.programme_id) == programme_id
        )
    )
    return set(rows.scalars())


async def set_coordinators(
    session: AsyncSession, programme_id: uuid.UUID, user_ids: set[uuid.UUID]
) -> None:
    await session.execute(
        delete(ProgrammeCoordinator).where(
            col(ProgrammeCoordinator.programme_id) == programme_id,
            col(ProgrammeCoordinator.user_id).not_in(user_ids),
        )
    )
    if user_ids:
        await session.execute(
            insert(table_of(ProgrammeCoordinator))
            .values([{"programme_id": programme_id, "user_id": u} for u in user_ids])
            .on_conflict_do_nothing()
        )


async def set_pilot_buildings(
    session: AsyncSession, programme_id: uuid.UUID, building_ids: set[uuid.UUID]
) -> None:
    await session.execute(
        delete(ProgrammeBuilding).where(col(ProgrammeBuilding.programme_id) == programme_id)
    )
    if building_ids:
        await session.execute(
            insert(table_of(ProgrammeBuilding)).values(
                [{"programme_id": programme_id, "building_id": b} for b in building_ids]
            )
        )


async def pilot_building_ids(session: AsyncSession, programme_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(ProgrammeBuilding.building_id))
        .where(col(ProgrammeBuilding.programme_id) == programme_id)
        .order_by(col(ProgrammeBuilding.building_id))
    )
    return list(rows.scalars())


async def existing_buildings(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.execute(select(col(Building.id)).where(col(Building.id).in_(ids)))
    return set(rows.scalars())


def pilot_condition(programme: Programme) -> Any:
    """SQL true for the ``Building`` rows in the programme's pilot area."""
    if programme.pilot_district_id is not None:
        return exists().where(
            col(District.id) == programme.pilot_district_id,
            func.ST_Covers(District.geom, Building.point),
        )
    return exists().where(
        col(ProgrammeBuilding.programme_id) == programme.id,
        col(ProgrammeBuilding.building_id) == Building.id,
    )


def city_pilot_condition() -> Any:
    """SQL true for the city's pilot-area buildings (the buildings' own flag)."""
    return col(Building.is_pilot_area)


async def in_pilot_area(
    session: AsyncSession, programme: Programme, building_id: uuid.UUID
) -> bool:
    found = await session.execute(
        select(col(Building.id)).where(col(Building.id) == building_id, pilot_condition(programme))
    )
    return found.first() is not None


async def district_name(session: AsyncSession, district_id: uuid.UUID) -> str | None:
    return await session.scalar(select(col(District.name)).where(col(District.id) == district_id))


# --- sessions -----------------------------------------------------------------------------


async def sessions_of(session: AsyncSession, programme_id: uuid.UUID) -> list[TrainingSession]:
    rows = await session.execute(
        select(TrainingSession)
        .where(col(TrainingSession.programme_id) == programme_id)
        .order_by(col(TrainingSession.starts_at), col(TrainingSession.id))
    )
    return list(rows.scalars())


async def session_counts(
    session: AsyncSession, programme_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not programme_ids:
        return {}
    rows = await session.execute(
        select(col(TrainingSession.programme_id), func.count())
        .where(col(TrainingSession.programme_id).in_(programme_ids))
        .group_by(col(TrainingSession.programme_id))
    )
    return dict(rows.all())


async def training_session(session: AsyncSession, session_id: uuid.UUID) -> TrainingSession | None:
    return await session.get(TrainingSession, session_id)


# --- enrolments ---------------------------------------------------------------------------


async def enrolment(
    session: AsyncSession, programme_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> Enrolment | None:
    statement = select(Enrolment).where(
        col(Enrolment.programme_id) == programme_id, col(Enrolment.user_id) == user_id
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def status_counts(session: AsyncSession, programme_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(col(Enrolment.status), func.count())
        .where(col(Enrolment.programme_id) == programme_id)
        .group_by(col(Enrolment.status))
    )
    return {str(status): count for status, count in rows.all()}


async def first_waiting(
    session: AsyncSession, programme_id: uuid.UUID, count: int
) -> list[Enrolment]:
    rows = await session.execute(
        select(Enrolment)
        .where(
            col(Enrolment.programme_id) == programme_id,
            col(Enrolment.status) == EnrolmentStatus.waitlisted,
        )
        .order_by(col(Enrolment.queue_number))
        .limit(count)
        .with_for_update()
    )
    return list(rows.scalars())


async def waitlist_position(session: AsyncSession, enrolment: Enrolment) -> int:
    ahead = await session.scalar(
        select(func.count()).where(
            col(Enrolment.programme_id) == enrolment.programme_id,
            col(Enrolment.status) == EnrolmentStatus.waitlisted,
            col(Enrolment.queue_number) < enrolment.queue_number,
        )
    )
    return int(ahead or 0) + 1


async def enrolments_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[Enrolment]:
    rows = await session.execute(
        select(Enrolment)
        .where(col(Enrolment.user_id) == user_id)
        .order_by(col(Enrolment.requested_at).desc())
    )
    return list(rows.scalars())


async def enrolled_user_ids(
    session: AsyncSession, programme_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(Enrolment.user_id)).where(
            col(Enrolment.programme_id) == programme_id,
            col(Enrolment.status) == EnrolmentStatus.enrolled,
            col(Enrolment.user_id).in_(user_ids),
        )
    )
    return set(rows.scalars())


async def participant_rows(session: AsyncSession, programme_id: uuid.UUID) -> list[Any]:
    """Every enrolment of the programme with the person's name, the building's address and
    the sessions the person attended."""
    attended = (
        select(func.count())
        .select_from(Attendance)
        .join(TrainingSession, col(TrainingSession.id) == Attendance.session_id)
        .where(
            col(TrainingSession.programme_id) == programme_id,
            col(Attendance.user_id) == Enrolment.user_id,
        )
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Enrolment,
            col(User.display_name).label("display_name"),
            col(Building.address).label("address"),
            attended.label("attended"),
        )
        .join(User, col(User.id) == Enrolment.user_id)
        .join(Building, col(Building.id) == Enrolment.building_id)
        .where(col(Enrolment.programme_id) == programme_id)
        .order_by(col(Enrolment.queue_number))
    )
    return list(rows.all())


# --- attendance ---------------------------------------------------------------------------


async def attendance_of_session(session: AsyncSession, session_id: uuid.UUID) -> list[Any]:
    rows: Any = await session.execute(
        select(Attendance, col(User.display_name).label("display_name"))
        .join(User, col(User.id) == Attendance.user_id)
        .where(col(Attendance.session_id) == session_id)
        .order_by(col(User.display_name), col(Attendance.user_id))
    )
    return list(rows.all())


async def attendance(
    session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
) -> Attendance | None:
    return await session.get(Attendance, (session_id, user_id))


async def add_attendance(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert attendance rows (a repeated one is skipped); returns how many were new."""
    if not rows:
        return 0
    result = await session.execute(
        insert(table_of(Attendance))
        .values(rows)
        .on_conflict_do_nothing()
        .returning(table_of(Attendance).c.user_id)
    )
    return len(result.all())


async def remove_attendance(
    session: AsyncSession, session_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> None:
    if user_ids:
        await session.execute(
            delete(Attendance).where(
                col(Attendance.session_id) == session_id, col(Attendance.user_id).in_(user_ids)
            )
        )


async def attendance_of_user(
    session: AsyncSession, programme_id: uuid.UUID, user_id: uuid.UUID
) -> dict[uuid.UUID, Attendance]:
    rows = await session.execute(
        select(Attendance)
        .join(TrainingSession, col(TrainingSession.id) == Attendance.session_id)
        .where(
            col(TrainingSession.programme_id) == programme_id,
            col(Attendance.user_id) == user_id,
        )
    )
    return {row.session_id: row for row in rows.scalars()}


async def attended_sessions(
    session: AsyncSession, programme_id: uuid.UUID
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """For each enrolled participant, the sessions of the programme they attended."""
    rows = await session.execute(
        select(col(Enrolment.user_id), col(Attendance.session_id))
        .select_from(Enrolment)
        .outerjoin(
            Attendance,
            and_(
                col(Attendance.user_id) == Enrolment.user_id,
                col(Attendance.session_id).in_(
                    select(col(TrainingSession.id)).where(
                        col(TrainingSession.programme_id) == programme_id
                    )
                ),
            ),
        )
        .where(
            col(Enrolment.programme_id) == programme_id,
            col(Enrolment.status) == EnrolmentStatus.enrolled,
        )
    )
    attended: dict[uuid.UUID, set[uuid.UUID]] = {}
    for user_id, session_id in rows.all():
        marks = attended.setdefault(user_id, set())
        if session_id is not None:
            marks.add(session_id)
    return attended


async def attendance_per_session(
    session: AsyncSession, programme_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(col(Attendance.session_id), func.count())
        .join(TrainingSession, col(TrainingSession.id) == Attendance.session_id)
        .where(col(TrainingSession.programme_id) == programme_id)
        .group_by(col(Attendance.session_id))
    )
    return dict(rows.all())

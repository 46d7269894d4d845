"""The read model of training: a participant's progress, a programme's participants (for
its coordinators) and its statistics and coverage (for everyone)."""

from __future__ import annotations

import uuid

from geojson_pydantic import Feature, FeatureCollection, Point
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.service import record_personal_data_read
from service.auth.actor import Actor
from service.config import Settings
from service.training import access, awards_repository, repository
from service.training.awards import qualifies
from service.training.diplomas import verify_url
from service.training.models import EnrolmentStatus, Programme
from service.training.programmes import summary
from service.training.schemas import (
    AmbassadorSelf,
    BuildingAmbassador,
    BuildingRef,
    Coverage,
    HistogramBin,
    MyTraining,
    Participant,
    ProgrammeProgress,
    ProgrammeStats,
    SessionProgress,
    SessionStats,
)


async def my_training(session: AsyncSession, settings: Settings, actor: Actor) -> MyTraining:
    """Every programme the caller enrolled in: sessions attended of those needed, what is
    still required, and the ambassadorship and diploma it brought."""
    ambassadorships = {
        row.Ambassador.programme_id: row
        for row in await awards_repository.ambassadorships_of_user(session, actor.user_id)
    }
    items: list[ProgrammeProgress] = []
    for enrolment in await repository.enrolments_of_user(session, actor.user_id):
        programme = await repository.programme(session, enrolment.programme_id)
        assert programme is not None
        sessions = await repository.sessions_of(session, programme.id)
        marks = await repository.attendance_of_user(session, programme.id, actor.user_id)
        attended = set(marks)
        award = ambassadorships.get(programme.id)
        items.append(
            ProgrammeProgress(
                programme=summary(programme, len(sessions)),
                status=enrolment.status,
                waitlist_position=await repository.waitlist_position(session, enrolment)
                if enrolment.status == EnrolmentStatus.waitlisted
                else None,
                building_id=enrolment.building_id,
                sessions_total=len(sessions),
                sessions_attended=len(attended),
                sessions_needed=programme.min_sessions,
                required_missing=[s.id for s in sessions if s.required and s.id not in attended],
                qualified=qualifies(programme, sessions, attended),
                sessions=[
                    SessionProgress(
                        session_id=s.id,
                        position=position,
                        topic=s.topic,
                        starts_at=s.starts_at,
                        required=s.required,
                        attended=s.id in attended,
                        method=marks[s.id].method if s.id in marks else None,
                    )
                    for position, s in enumerate(sessions, start=1)
                ],
                ambassador=AmbassadorSelf(
                    id=award.Ambassador.id,
                    building_id=award.Ambassador.building_id,
                    awarded_at=award.Ambassador.awarded_at,
                    revoked=award.Ambassador.revoked_at is not None,
                    public=award.Ambassador.public,
                    diploma_code=award.Diploma.code,
                    diploma_ready=award.Diploma.pdf_path is not None,
                    diploma_url=f"/v1/diplomas/{award.Diploma.code}/pdf",
                    verify_url=verify_url(settings, award.Diploma.code),
                )
                if award is not None
                else None,
            )
        )
    member = await awards_repository.mailing_list_member(session, actor.user_id)
    return MyTraining(
        programmes=items, mailing_list_building_id=member.building_id if member else None
    )


async def participants(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID
) -> list[Participant]:
    """Everyone who enrolled, for the programme's coordinators: names and buildings, the
    sessions attended and whether they qualify; no contact details."""
    programme = await access.run_programme(session, actor, programme_id)
    sessions = await repository.sessions_of(session, programme.id)
    attended = await repository.attended_sessions(session, programme.id)
    rows = await repository.participant_rows(session, programme.id)
    await record_personal_data_read(
        session,
        actor,
        "user",
        [row.Enrolment.user_id for row in rows],
        ["display_name", "building", "attendance"],
    )
    return [
        Participant(
            user_id=row.Enrolment.user_id,
            display_name=row.display_name,
            building_id=row.Enrolment.building_id,
            building_address=row.address,
            status=row.Enrolment.status,
            requested_at=row.Enrolment.requested_at,
            sessions_attended=row.attended,
            qualified=row.Enrolment.status == EnrolmentStatus.enrolled
            and qualifies(programme, sessions, attended.get(row.Enrolment.user_id, set())),
        )
        for row in rows
    ]


async def stats(
    session: AsyncSession, actor: Actor | None, programme_id: uuid.UUID
) -> ProgrammeStats:
    """Counts only, for anyone: participants, attendance per session, how many attended
    0, 1, … sessions, who qualified, the ambassadors and what they did."""
    programme = await access.visible_programme(session, actor, programme_id)
    sessions = await repository.sessions_of(session, programme.id)
    counts = await repository.status_counts(session, programme.id)
    attended = await repository.attended_sessions(session, programme.id)
    per_session = await repository.attendance_per_session(session, programme.id)
    histogram = [0] * (len(sessions) + 1)
    session_ids = {s.id for s in sessions}
    for marks in attended.values():
        histogram[len(marks & session_ids)] += 1
    awards = await awards_repository.ambassadors_of(session, programme.id)
    helped, confirmed = await awards_repository.programme_engagement(session, programme.id)
    return ProgrammeStats(
        programme_id=programme.id,
        participants=counts.get("enrolled", 0),
        waitlisted=counts.get("waitlisted", 0),
        withdrawn=counts.get("withdrawn", 0),
        sessions=[
            SessionStats(
                session_id=s.id,
                position=position,
                topic=s.topic,
                starts_at=s.starts_at,
                attended=per_session.get(s.id, 0),
            )
            for position, s in enumerate(sessions, start=1)
        ],
        histogram=[HistogramBin(sessions=n, participants=c) for n, c in enumerate(histogram)],
        qualified=sum(1 for marks in attended.values() if qualifies(programme, sessions, marks)),
        ambassadors=sum(1 for row in awards if row.Ambassador.revoked_at is None),
        reports_helped=helped,
        reports_confirmed=confirmed,
    )


async def coverage(
    session: AsyncSession, actor: Actor | None, programme_id: uuid.UUID | None
) -> Coverage:
    """Pilot buildings with at least one active ambassador ÷ all pilot buildings, of a
    programme's pilot area or (``programme_id`` None) of the whole city."""
    programme: Programme | None = None
    if programme_id is not None:
        programme = await access.visible_programme(session, actor, programme_id)
        area = repository.pilot_condition(programme)
    else:
        area = repository.city_pilot_condition()
    rows = await awards_repository.coverage_rows(session, area)
    covered = sum(1 for row in rows if row.covered)
    return Coverage(
        programme_id=programme.id if programme else None,
        pilot_buildings=len(rows),
        covered=covered,
        ratio=round(covered / len(rows), 4) if rows else 0.0,
        uncovered=[
            BuildingRef(id=row.id, address=row.address, lat=row.lat, lon=row.lon)
            for row in rows
            if not row.covered
        ],
    )


def uncovered_geojson(result: Coverage) -> FeatureCollection[Feature[Point, dict[str, str]]]:
    """The pilot buildings still without an ambassador, as points for a map."""
    return FeatureCollection(
        type="FeatureCollection",
        features=[
            Feature(
                type="Feature",
                id=str(building.id),
                geometry=Point(type="Point", coordinates=(building.lon, building.lat)),
                properties={"address": building.address},
            )
            for building in result.uncovered
        ],
    )


async def building_ambassadors(
    session: AsyncSession, building_id: uuid.UUID
) -> list[BuildingAmbassador]:
    """The building's active ambassadors who agreed to be named in public."""
    return [
        BuildingAmbassador(
            display_name=row.display_name,
            since=row.since,
            programme_title=row.programme_title,
        )
        for row in await awards_repository.public_ambassadors_of_building(session, building_id)
    ]

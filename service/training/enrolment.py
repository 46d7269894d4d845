"""Enrolment: a resident takes a place with their building, or a place on the waiting list
when the programme is full; a place given up goes to the first person waiting.

Decisions on places are serialised by locking the programme's row, so two people can never
both take the last place."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.calendar import zoned_iso
from service.city import service as city
from service.city.models import Building
from service.errors import Conflict, InvalidInput, NotFound
from service.readable import error_time
from service.training import access, outreach, repository
from service.training.models import Enrolment, EnrolmentStatus, Programme, ProgrammeState
from service.training.schemas import EnrolmentCreate, EnrolmentPublic
from service.training.states import ENROLLING_STATES, refuse_unless


class EnrolmentClosed(Conflict):
    slug, title = "enrolment-closed", "Enrolment is closed"


async def _check_window(session: AsyncSession, programme: Programme, now: datetime) -> None:
    if programme.enrolment_opens_at and now < programme.enrolment_opens_at:
        zone = await city.city_timezone(session)
        raise EnrolmentClosed(
            f"Enrolment opens at {error_time(programme.enrolment_opens_at, zone)}.",
            opens_at=zoned_iso(programme.enrolment_opens_at, zone),
        )
    if programme.enrolment_closes_at and now >= programme.enrolment_closes_at:
        zone = await city.city_timezone(session)
        raise EnrolmentClosed(
            f"Enrolment closed at {error_time(programme.enrolment_closes_at, zone)}.",
            closed_at=zoned_iso(programme.enrolment_closes_at, zone),
        )


async def enrol(
    session: AsyncSession,
    actor: Actor,
    programme_id: uuid.UUID,
    body: EnrolmentCreate,
    now: datetime,
) -> Enrolment:
    """Enrol the caller with their building (in the pilot area unless the programme takes
    outsiders): a place while there is one, the waiting list after."""
    programme = await access.visible_programme(session, actor, programme_id, lock=True)
    refuse_unless(programme.state, ENROLLING_STATES, "Enrolling")
    await _check_window(session, programme, now)
    if await session.get(Building, body.building_id) is None:
        raise InvalidInput("No such building.", field="building_id")
    if not programme.allow_outsiders and not await repository.in_pilot_area(
        session, programme, body.building_id
    ):
        raise InvalidInput(
            "The programme is for residents of its pilot area; this building is outside it.",
            field="building_id",
            reason="outside_pilot_area",
        )
    enrolment = await repository.enrolment(session, programme.id, actor.user_id, lock=True)
    if enrolment is not None and enrolment.status != EnrolmentStatus.withdrawn:
        raise Conflict(
            f"You are {enrolment.status} in this programme already.", status_now=enrolment.status
        )
    if enrolment is not None:
        # Enrolling again after withdrawing: to the back of the queue, as a new request.
        await session.delete(enrolment)
        await session.flush()
    counts = await repository.status_counts(session, programme.id)
    full = programme.capacity is not None and counts.get("enrolled", 0) >= programme.capacity
    enrolment = Enrolment(
        programme_id=programme.id,
        user_id=actor.user_id,
        building_id=body.building_id,
        status=EnrolmentStatus.waitlisted if full else EnrolmentStatus.enrolled,
        requested_at=now,
        enrolled_at=None if full else now,
    )
    session.add(enrolment)
    await session.flush()
    await session.refresh(enrolment, ["queue_number"])
    return enrolment


async def withdraw(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID, now: datetime
) -> Enrolment:
    """Give up a place (or a place in the queue); the first person waiting gets it."""
    programme = await access.visible_programme(session, actor, programme_id, lock=True)
    if programme.state == ProgrammeState.finished:
        raise Conflict("The programme has finished.", state=programme.state)
    enrolment = await repository.enrolment(session, programme.id, actor.user_id, lock=True)
    if enrolment is None or enrolment.status == EnrolmentStatus.withdrawn:
        raise NotFound("You are not enrolled in this programme.")
    had_place = enrolment.status == EnrolmentStatus.enrolled
    enrolment.status = EnrolmentStatus.withdrawn
    enrolment.withdrawn_at = now
    await session.flush()
    if had_place:
        await promote_waiting(session, programme, now)
    return enrolment


async def promote_waiting(
    session: AsyncSession, programme: Programme, now: datetime
) -> list[Enrolment]:
    """Give free places to the people waiting longest, and tell them. The caller holds the
    programme's row lock."""
    counts = await repository.status_counts(session, programme.id)
    if programme.capacity is None:
        free = counts.get("waitlisted", 0)
    else:
        free = programme.capacity - counts.get("enrolled", 0)
    if free <= 0 or not counts.get("waitlisted"):
        return []
    promoted = await repository.first_waiting(session, programme.id, free)
    for enrolment in promoted:
        enrolment.status = EnrolmentStatus.enrolled
        enrolment.enrolled_at = now
    await session.flush()
    for enrolment in promoted:
        await outreach.tell_place_given(session, programme, enrolment)
    return promoted


async def enrolment_public(session: AsyncSession, enrolment: Enrolment) -> EnrolmentPublic:
    building = await session.get(Building, enrolment.building_id)
    return EnrolmentPublic(
        programme_id=enrolment.programme_id,
        status=enrolment.status,
        building_id=enrolment.building_id,
        building_address=building.address if building else "",
        requested_at=enrolment.requested_at,
        enrolled_at=enrolment.enrolled_at,
        waitlist_position=await repository.waitlist_position(session, enrolment)
        if enrolment.status == EnrolmentStatus.waitlisted
        else None,
    )

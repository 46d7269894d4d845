"""Outreach: the pilot area's mailing list (residents who opted in with their building),
announcements of new programmes to it, and messages to participants (a session changed, a
place came free, an award). Requests only write an outbox job; the job tells the people
through ``notify`` (inbox, email in each recipient's language, webhooks, preferences), once
per event."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import User
from service.city import service as city
from service.city.models import Building
from service.config import Settings
from service.errors import InvalidInput, NotFound
from service.notifications.dispatch import Notice, notify
from service.outbox.service import add_job
from service.readable import lines_value, span_value
from service.training import awards_repository, repository
from service.training.diplomas import verify_url
from service.training.models import (
    Diploma,
    Enrolment,
    EnrolmentStatus,
    MailingListMember,
    Programme,
    TrainingSession,
)

OUTREACH_JOB = "training_outreach"
PROGRAMME_PUBLISHED = "programme_published"
SESSION_CHANGED = "session_changed"
PLACE_GIVEN = "place_given"
AWARDED = "awarded"


async def announce_programme(session: AsyncSession, programme: Programme) -> None:
    await add_job(
        session,
        OUTREACH_JOB,
        f"{PROGRAMME_PUBLISHED}:{programme.id}",
        PROGRAMME_PUBLISHED,
        str(programme.id),
    )


async def announce_session_change(session: AsyncSession, changed: TrainingSession) -> None:
    """Tell the participants about a session added or changed (once per version)."""
    await add_job(
        session,
        OUTREACH_JOB,
        f"{SESSION_CHANGED}:{changed.id}:{changed.version}",
        SESSION_CHANGED,
        str(changed.id),
    )


async def tell_place_given(
    session: AsyncSession, programme: Programme, enrolment: Enrolment
) -> None:
    assert enrolment.enrolled_at is not None
    await add_job(
        session,
        OUTREACH_JOB,
        f"{PLACE_GIVEN}:{enrolment.id}:{enrolment.enrolled_at.timestamp()}",
        PLACE_GIVEN,
        str(enrolment.id),
    )


async def tell_awarded(session: AsyncSession, diploma: Diploma) -> None:
    await add_job(session, OUTREACH_JOB, f"{AWARDED}:{diploma.id}", AWARDED, str(diploma.id))


# --- the mailing list ---------------------------------------------------------------------


async def join_mailing_list(
    session: AsyncSession, actor: Actor, building_id: uuid.UUID, now: datetime
) -> MailingListMember:
    """Hear about programmes whose pilot area holds ``building_id`` (one building a person;
    joining again moves the membership)."""
    if await session.get(Building, building_id) is None:
        raise InvalidInput("No such building.", field="building_id")
    member = await awards_repository.mailing_list_member(session, actor.user_id)
    if member is None:
        member = MailingListMember(user_id=actor.user_id, building_id=building_id, joined_at=now)
        session.add(member)
    else:
        member.building_id = building_id
        member.joined_at = now
    await session.flush()
    return member


async def leave_mailing_list(session: AsyncSession, actor: Actor) -> None:
    member = await awards_repository.mailing_list_member(session, actor.user_id)
    if member is None:
        raise NotFound("You are not on the mailing list.")
    await session.delete(member)


# --- the job ------------------------------------------------------------------------------


def _programme_link(settings: Settings, programme_id: uuid.UUID) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v1/training/programmes/{programme_id}"


async def send(
    session: AsyncSession, settings: Settings, kind: str, subject_id: uuid.UUID, now: datetime
) -> int:
    """Queue the emails of one outreach event at ``now``; returns how many. Run once per
    event (the outbox job's key), in one transaction: all of them or none."""
    senders = {
        PROGRAMME_PUBLISHED: _programme_published,
        SESSION_CHANGED: _session_changed,
        PLACE_GIVEN: _place_given,
        AWARDED: _awarded,
    }
    if kind not in senders:
        raise ValueError(f"unknown outreach {kind!r}")
    return await senders[kind](session, settings, subject_id, now)


async def _programme_published(
    session: AsyncSession, settings: Settings, programme_id: uuid.UUID, now: datetime
) -> int:
    programme = await repository.programme(session, programme_id)
    if programme is None:
        return 0
    zone = (await city.load_working_calendar(session)).zone
    sessions = await repository.sessions_of(session, programme.id)
    # Written out in each reader's language when the message is rendered.
    schedule = lines_value(
        [
            [f"{i}.", span_value(s.starts_at, s.ends_at, zone), s.topic]
            for i, s in enumerate(sessions, 1)
        ]
    )
    recipients = await awards_repository.mailing_list_of(session, programme)
    values: dict[str, object] = {
        "title": programme.title,
        "schedule": schedule,
        "link": _programme_link(settings, programme.id),
    }
    return await notify(
        session,
        Notice(
            "training_programme_announced",
            f"training_programme_announced:{programme.id}",
            "training_programme_announced",
            values,
        ),
        recipients,
        now=now,
    )


async def _session_changed(
    session: AsyncSession, settings: Settings, session_id: uuid.UUID, now: datetime
) -> int:
    found = await repository.training_session(session, session_id)
    programme = await repository.programme(session, found.programme_id) if found else None
    if found is None or programme is None:
        return 0
    zone = (await city.load_working_calendar(session)).zone
    people = await awards_repository.participants_to_tell(session, programme.id)
    values: dict[str, object] = {
        "title": programme.title,
        "topic": found.topic,
        "when": span_value(found.starts_at, found.ends_at, zone),
        "venue": found.venue or "–",
        "link": _programme_link(settings, programme.id),
    }
    return await notify(
        session,
        Notice(
            "training_session_changed",
            f"training_session_changed:{found.id}:{found.version}",
            "training_session_changed",
            values,
        ),
        people,
        now=now,
    )


async def _place_given(
    session: AsyncSession, settings: Settings, enrolment_id: uuid.UUID, now: datetime
) -> int:
    enrolment = await session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.status != EnrolmentStatus.enrolled:
        return 0
    programme = await repository.programme(session, enrolment.programme_id)
    user = await session.get(User, enrolment.user_id)
    if programme is None or user is None:
        return 0
    assert enrolment.enrolled_at is not None
    return await notify(
        session,
        Notice(
            "training_place_given",
            f"training_place_given:{enrolment.id}:{enrolment.enrolled_at.timestamp()}",
            "training_place_given",
            {"title": programme.title, "link": _programme_link(settings, programme.id)},
        ),
        [user],
        now=now,
    )


async def _awarded(
    session: AsyncSession, settings: Settings, diploma_id: uuid.UUID, now: datetime
) -> int:
    diploma = await session.get(Diploma, diploma_id)
    if diploma is None or diploma.revoked_at is not None:
        return 0
    ambassador = await awards_repository.ambassador(session, diploma.ambassador_id)
    user = await session.get(User, ambassador.user_id) if ambassador else None
    if user is None:
        return 0
    return await notify(
        session,
        Notice(
            "training_awarded",
            f"training_awarded:{diploma.id}",
            "training_awarded",
            {
                "title": diploma.programme_title,
                "address": diploma.building_address,
                "code": diploma.code,
                "link": verify_url(settings, diploma.code),
            },
        ),
        [user],
        now=now,
    )

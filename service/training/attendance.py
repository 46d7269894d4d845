"""Attendance: the coordinator's roster of a session (the list replaces what was recorded,
every correction in the audit log), or a participant's own check-in with the session's
short code, only while the session runs (± 30 minutes) and once.

Check-in codes are six characters of an alphabet without look-alikes (30⁶ ≈ 7·10⁸ codes);
wrong codes are counted per person in a Redis window, so guessing one is hopeless.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from limits import RateLimitItemPerHour
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.service import record as audit
from service.audit.service import record_personal_data_read
from service.auth.actor import Actor
from service.calendar import zoned_iso
from service.city import service as city
from service.errors import Conflict, Forbidden, InvalidInput
from service.ratelimit import RateLimiter
from service.readable import error_time
from service.training import access, repository
from service.training.models import (
    Attendance,
    AttendanceMethod,
    EnrolmentStatus,
    TrainingSession,
)
from service.training.schemas import Attendee, SessionAttendance
from service.training.states import ENROLLING_STATES, ROSTER_STATES, refuse_unless

CHECKIN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECKIN_LENGTH = 6
CHECKIN_MARGIN = timedelta(minutes=30)
# Wrong codes one person may send in an hour, over all sessions.
WRONG_CODES_PER_HOUR = 10
_WRONG_CODES = RateLimitItemPerHour(WRONG_CODES_PER_HOUR)


class OutsideWindow(Conflict):
    slug, title = "check-in-closed", "Check-in is not open"


class WrongCode(InvalidInput):
    slug, title = "wrong-check-in-code", "Wrong check-in code"


def new_checkin_code() -> str:
    return "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(CHECKIN_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def checkin_window(found: TrainingSession) -> tuple[datetime, datetime]:
    return found.starts_at - CHECKIN_MARGIN, found.ends_at + CHECKIN_MARGIN


async def check_in(
    session: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    code: str,
    now: datetime,
    limiter: RateLimiter,
) -> Attendance:
    """Record the caller at a session they are enrolled for, with its code, in its window."""
    found, programme = await access.visible_session(session, actor, session_id)
    refuse_unless(programme.state, ENROLLING_STATES, "Checking in")
    enrolment = await repository.enrolment(session, programme.id, actor.user_id)
    if enrolment is None or enrolment.status != EnrolmentStatus.enrolled:
        raise Forbidden(
            "Only participants with a place check in.",
            reason="waitlisted"
            if enrolment and enrolment.status == "waitlisted"
            else "not_enrolled",
        )
    opens, closes = checkin_window(found)
    if not opens <= now <= closes:
        zone = await city.city_timezone(session)
        raise OutsideWindow(
            f"Check-in is open from {error_time(opens, zone)} to {error_time(closes, zone)}.",
            opens_at=zoned_iso(opens, zone),
            closes_at=zoned_iso(closes, zone),
        )
    key = ("training-checkin", str(actor.user_id))
    await limiter.refuse_when_full(
        _WRONG_CODES, *key, detail="Too many wrong check-in codes; try again later."
    )
    if not secrets.compare_digest(normalise_code(code), found.checkin_code):
        await limiter.hit(_WRONG_CODES, *key)
        raise WrongCode("This is not the session's code.", field="code")
    added = await repository.add_attendance(
        session,
        [
            {
                "session_id": found.id,
                "user_id": actor.user_id,
                "method": AttendanceMethod.check_in,
                "recorded_by_id": actor.user_id,
                "recorded_at": now,
            }
        ],
    )
    if not added:
        raise Conflict("You are recorded at this session already.", reason="already_checked_in")
    mark = await repository.attendance(session, found.id, actor.user_id)
    assert mark is not None
    return mark


async def set_roster(
    session: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    user_ids: list[uuid.UUID],
    now: datetime,
) -> SessionAttendance:
    """Make ``user_ids`` the session's attendance: add who is missing, remove who is not
    on the list (check-ins included). Every change is audited."""
    found, programme = await access.run_session(session, actor, session_id, lock=True)
    refuse_unless(programme.state, ROSTER_STATES, "Marking attendance")
    if now < checkin_window(found)[0]:
        raise Conflict("The session has not begun.", reason="not_started")
    enrolled = await repository.enrolled_user_ids(session, programme.id, user_ids)
    strangers = [str(u) for u in user_ids if u not in enrolled]
    if strangers:
        raise InvalidInput(
            "Only participants with a place can be marked present.",
            field="user_ids",
            users=strangers,
        )
    before = {
        row.Attendance.user_id for row in await repository.attendance_of_session(session, found.id)
    }
    wanted = set(user_ids)
    added = sorted(wanted - before)
    removed = sorted(before - wanted)
    await repository.remove_attendance(session, found.id, removed)
    await repository.add_attendance(
        session,
        [
            {
                "session_id": found.id,
                "user_id": user_id,
                "method": AttendanceMethod.roster,
                "recorded_by_id": actor.user_id,
                "recorded_at": now,
            }
            for user_id in added
        ],
    )
    if added or removed:
        await audit(
            session,
            "training.attendance_corrected" if before else "training.attendance_recorded",
            actor_user_id=actor.user_id,
            ip=actor.ip,
            subject_type="training_session",
            subject_id=found.id,
            added=[str(u) for u in added],
            removed=[str(u) for u in removed],
        )
    return await session_attendance(session, actor, session_id)


async def session_attendance(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID
) -> SessionAttendance:
    """Who attended a session, and its check-in code, for its coordinators."""
    found, _ = await access.run_session(session, actor, session_id)
    rows = await repository.attendance_of_session(session, found.id)
    await record_personal_data_read(
        session,
        actor,
        "user",
        [row.Attendance.user_id for row in rows],
        ["display_name", "attendance"],
    )
    return SessionAttendance(
        session_id=found.id,
        checkin_code=found.checkin_code,
        attendees=[
            Attendee(
                user_id=row.Attendance.user_id,
                display_name=row.display_name,
                method=row.Attendance.method,
                recorded_at=row.Attendance.recorded_at,
            )
            for row in rows
        ],
    )

"""A person's part of the training programmes: enrolments, attendance, ambassadorships,
diplomas, the mailing list and confirmations of reports.

Erasure keeps enrolments, attendance and confirmations, held by the anonymised account, so a
programme's statistics (participants, attendance per session, qualified count) stay true. It
leaves the mailing list, ends the person's ambassadorships (a building's ambassador is a
person neighbours can reach; an erased one no longer is), and revokes their diplomas with the
name removed: the public verification then answers that the code was issued and revoked, and
names nobody. The diploma's PDF, which prints the name, is deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.privacy.registry import (
    REDACTED,
    Erasure,
    Export,
    Owned,
    Person,
    PersonalData,
    rows,
)
from service.reports.photos import MediaStore
from service.training.models import (
    Ambassador,
    Attendance,
    Diploma,
    Enrolment,
    MailingListMember,
    Programme,
    ReportConfirmation,
    TrainingSession,
)

ERASED_REASON = "the ambassador erased their account"


async def _enrolments(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(Programme.code).label("programme"),
                col(Programme.title),
                col(Enrolment.building_id),
                col(Enrolment.status),
                col(Enrolment.requested_at),
                col(Enrolment.enrolled_at),
                col(Enrolment.withdrawn_at),
            )
            .join(Programme, col(Programme.id) == Enrolment.programme_id)
            .where(col(Enrolment.user_id) == person.id)
        )
    )


async def _attendance(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(TrainingSession.topic),
                col(TrainingSession.starts_at),
                col(Attendance.method),
                col(Attendance.recorded_at),
            )
            .join(TrainingSession, col(TrainingSession.id) == Attendance.session_id)
            .where(col(Attendance.user_id) == person.id)
            .order_by(col(TrainingSession.starts_at))
        )
    )


async def _ambassadorships(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(Ambassador.programme_id),
                col(Ambassador.building_id),
                col(Ambassador.awarded_at),
                col(Ambassador.public),
                col(Ambassador.revoked_at),
                col(Diploma.code).label("diploma_code"),
                col(Diploma.holder_name),
            )
            .outerjoin(Diploma, col(Diploma.ambassador_id) == Ambassador.id)
            .where(col(Ambassador.user_id) == person.id)
        )
    )


EXPORT: dict[str, Owned | Export] = {
    "enrolments": _enrolments,
    "attendance": _attendance,
    "ambassadorships": _ambassadorships,
    "mailing_lists": Owned(
        MailingListMember, owner="user_id", columns=("building_id", "joined_at")
    ),
    "report_confirmations": Owned(
        ReportConfirmation, owner="user_id", columns=("report_id", "created_at")
    ),
}


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    changed = 0
    left = await session.execute(
        delete(MailingListMember).where(col(MailingListMember.user_id) == person.id)
    )
    changed += int(getattr(left, "rowcount", 0) or 0)
    ambassador_ids = select(col(Ambassador.id)).where(col(Ambassador.user_id) == person.id)
    ended = await session.execute(
        update(Ambassador)
        .where(col(Ambassador.user_id) == person.id)
        .where(col(Ambassador.revoked_at).is_(None))
        .values(revoked_at=erasure.now, revoke_reason=ERASED_REASON, public=False)
    )
    changed += int(getattr(ended, "rowcount", 0) or 0)
    held = col(Diploma.ambassador_id).in_(ambassador_ids)
    paths = list(
        (
            await session.execute(select(col(Diploma.pdf_path)).where(held).with_for_update())
        ).scalars()
    )
    redacted = await session.execute(
        update(Diploma)
        .where(held)
        .values(
            holder_name=REDACTED,
            revoked_at=func.coalesce(col(Diploma.revoked_at), erasure.now),
            pdf_path=None,
        )
    )
    diplomas = int(getattr(redacted, "rowcount", 0) or 0)
    # The files go only once the erasure has committed: a rolled-back erasure keeps them.
    store = MediaStore(erasure.settings.media_dir)

    def delete_files(_: Any) -> None:
        for path in paths:
            if path:
                store.delete(path)

    if any(paths):
        event.listen(session.sync_session, "after_commit", delete_files, once=True)
    return changed + diplomas


PERSONAL_DATA = PersonalData(section="training", export=EXPORT, erase=erase)

"""A person's ratings of answers. Erasure keeps the score and the "resolved?" answer (the
departments' average rating and reopen rate stay true) and removes the comment, which is
the person's own words."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.feedback.models import ReportRating
from service.privacy.registry import Erasure, Owned, Person, PersonalData

EXPORT = Owned(
    ReportRating,
    owner="user_id",
    columns=(
        "report_id",
        "round_number",
        "score",
        "resolved",
        "comment",
        "created_at",
        "updated_at",
    ),
    order_by="created_at",
)


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    result = await session.execute(
        update(ReportRating)
        .where(col(ReportRating.user_id) == person.id)
        .where(col(ReportRating.comment).is_not(None))
        .values(comment=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


PERSONAL_DATA = PersonalData(section="ratings", export=EXPORT, erase=erase)

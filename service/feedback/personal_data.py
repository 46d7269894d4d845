"""A person's ratings of answers. Erasure keeps the score and the "resolved?" answer (the
departments' average rating and reopen rate stay true) and removes the comment, which is
the person's own words."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.feedback.models import ReportRating
from service.privacy.registry import Erasure, Person, PersonalData, rows


async def export(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(ReportRating.report_id),
                col(ReportRating.round_number),
                col(ReportRating.score),
                col(ReportRating.resolved),
                col(ReportRating.comment),
                col(ReportRating.created_at),
                col(ReportRating.updated_at),
            )
            .where(col(ReportRating.user_id) == person.id)
            .order_by(col(ReportRating.created_at))
        )
    )


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    result = await session.execute(
        update(ReportRating)
        .where(col(ReportRating.user_id) == person.id)
        .where(col(ReportRating.comment).is_not(None))
        .values(comment=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


PERSONAL_DATA = PersonalData(section="ratings", export=export, erase=erase)

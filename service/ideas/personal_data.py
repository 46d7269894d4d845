"""A person's part of the idea bank: the ideas they proposed (with their attachments), the
ideas they supported, the reviews they wrote as an expert and their places in expert pools.

Erasure keeps the ideas (the stage counts and the committees' decisions are the city's
record) but takes the author out of them, as for reports: their name and address redacted
from the idea's own text and from the texts written about it (the office's comments, the
committee's reasoning, the timeline); their attachments are deleted (the rows at once, the
files by the worker's media sweep within the hour): a photo or a plan may show their home,
and nothing in the city's record of the idea needs it. Supports stay, held by the
anonymised account, so support counts stay true. Reviews stay with their scores (the
ideas' means stay true), their comments redacted; a review still open is lapsed, so that
the sweep hands it to another expert. Pool memberships are deleted: nobody assigns the
erased person anything again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.ideas.models import (
    Idea,
    IdeaAttachment,
    IdeaEvent,
    IdeaExpert,
    IdeaReview,
    IdeaSupport,
)
from service.privacy.registry import Erasure, Export, Owned, Person, PersonalData, redact, rows

# The free-text columns of an idea and their lengths.
IDEA_TEXTS = {
    "title": 200,
    "summary": 2000,
    "problem": 4000,
    "solution": 4000,
    "benefit": 4000,
    "organisation": 200,
    "design_comment": 4000,
    "decision_reason": 4000,
}
TAG_LENGTH = 40


def _clean(text: str | None, person: Person, limit: int) -> str | None:
    redacted = redact(text, person)
    return redacted[:limit] if redacted is not None else None


def _clean_details(details: dict[str, Any], person: Person) -> dict[str, Any]:
    return {
        key: redact(value, person) if isinstance(value, str) else value
        for key, value in details.items()
    }


async def _attachments(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(IdeaAttachment.id),
                col(IdeaAttachment.idea_id),
                col(IdeaAttachment.kind),
                col(IdeaAttachment.content_type),
                col(IdeaAttachment.size_bytes),
                col(IdeaAttachment.width),
                col(IdeaAttachment.height),
                col(IdeaAttachment.pages),
                col(IdeaAttachment.created_at),
            )
            .join(Idea, col(Idea.id) == col(IdeaAttachment.idea_id))
            .where(col(Idea.author_id) == person.id)
            .order_by(col(IdeaAttachment.created_at))
        )
    )


EXPORT: dict[str, Owned | Export] = {
    "proposed": Owned(
        Idea,
        owner="author_id",
        columns=(
            "id",
            "area_id",
            "state",
            "organisation",
            "title",
            "summary",
            "problem",
            "solution",
            "benefit",
            "cost_band",
            "tags",
            func.ST_Y(col(Idea.location)).label("lat"),
            func.ST_X(col(Idea.location)).label("lon"),
            "district_id",
            "check_failures",
            "design_comment",
            "decision",
            "decision_reason",
            "support_count",
            "created_at",
            "submitted_at",
            "published_at",
            "decided_at",
        ),
        order_by="created_at",
    ),
    "attachments": _attachments,
    "supported": Owned(
        IdeaSupport, owner="user_id", columns=("idea_id", "created_at"), order_by="created_at"
    ),
    "reviews": Owned(
        IdeaReview,
        owner="expert_id",
        columns=(
            "id",
            "idea_id",
            "attempt",
            "assigned_at",
            "due_at",
            "submitted_at",
            "lapsed_at",
            "scores",
            "score",
            "comment",
        ),
        order_by="assigned_at",
    ),
    "expert_pools": Owned(
        IdeaExpert, owner="user_id", columns=("area_id", "organisation", "active", "added_at")
    ),
}


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    changed = 0
    authored = list(
        (await session.execute(select(Idea).where(col(Idea.author_id) == person.id))).scalars()
    )
    for idea in authored:
        values: dict[str, Any] = {
            name: _clean(getattr(idea, name), person, limit) for name, limit in IDEA_TEXTS.items()
        }
        values["tags"] = sorted({(redact(tag, person) or tag)[:TAG_LENGTH] for tag in idea.tags})
        values["attachment_count"] = 0
        await session.execute(update(Idea).where(col(Idea.id) == idea.id).values(**values))
        changed += 1
    attachments = await session.execute(
        delete(IdeaAttachment).where(col(IdeaAttachment.idea_id).in_([i.id for i in authored]))
    )
    changed += int(getattr(attachments, "rowcount", 0) or 0)
    # The timeline of their ideas (what others wrote about them) and what they wrote elsewhere.
    events = list(
        await session.execute(
            select(col(IdeaEvent.id), col(IdeaEvent.details)).where(
                or_(
                    col(IdeaEvent.idea_id).in_([idea.id for idea in authored]),
                    col(IdeaEvent.actor_id) == person.id,
                )
            )
        )
    )
    for event_id, details in events:
        cleaned = _clean_details(details, person)
        if cleaned != details:
            await session.execute(
                update(IdeaEvent).where(col(IdeaEvent.id) == event_id).values(details=cleaned)
            )
            changed += 1
    reviewed = list(
        await session.execute(
            select(col(IdeaReview.id), col(IdeaReview.comment)).where(
                col(IdeaReview.expert_id) == person.id, col(IdeaReview.comment).is_not(None)
            )
        )
    )
    for review_id, comment in reviewed:
        cleaned_comment = _clean(comment, person, 4000)
        if cleaned_comment != comment:
            await session.execute(
                update(IdeaReview)
                .where(col(IdeaReview.id) == review_id)
                .values(comment=cleaned_comment)
            )
            changed += 1
    # Open reviews lapse now: the sweep assigns another expert.
    lapsed = await session.execute(
        update(IdeaReview)
        .where(
            col(IdeaReview.expert_id) == person.id,
            col(IdeaReview.submitted_at).is_(None),
            col(IdeaReview.lapsed_at).is_(None),
        )
        .values(lapsed_at=erasure.now)
    )
    pools = await session.execute(delete(IdeaExpert).where(col(IdeaExpert.user_id) == person.id))
    return (
        changed + int(getattr(lapsed, "rowcount", 0) or 0) + int(getattr(pools, "rowcount", 0) or 0)
    )


PERSONAL_DATA = PersonalData(section="ideas", export=EXPORT, erase=erase)

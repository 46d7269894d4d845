"""Ideas as each audience sees them (``schemas``): the public, the author, an assigned
expert, the project office and the committee. Loads what a page needs in a few queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.ideas import expert_repository, repository
from service.ideas.models import Idea, IdeaArea, IdeaAttachment, IdeaReview
from service.ideas.schemas import (
    AttachmentRef,
    CheckFailure,
    IdeaForReview,
    IdeaOwn,
    IdeaPublic,
    IdeaStaff,
    Point,
    ReviewAssignment,
    ReviewStaff,
    ReviewStatus,
)


def attachment_ref(attachment: IdeaAttachment) -> AttachmentRef:
    return AttachmentRef(
        id=attachment.id,
        kind=attachment.kind,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        width=attachment.width,
        height=attachment.height,
        pages=attachment.pages,
        url=f"/v1/ideas/{attachment.idea_id}/attachments/{attachment.id}",
    )


def review_status(review: IdeaReview) -> ReviewStatus:
    if review.submitted_at is not None:
        return ReviewStatus.submitted
    if review.lapsed_at is not None:
        return ReviewStatus.lapsed
    return ReviewStatus.open


class Loaded:
    """Attachments and points of a set of ideas, loaded once."""

    def __init__(
        self,
        attachments: dict[uuid.UUID, list[IdeaAttachment]],
        points: dict[uuid.UUID, tuple[float, float]],
    ) -> None:
        self.attachments = attachments
        self.points = points

    @classmethod
    async def of(cls, session: AsyncSession, ideas: Sequence[Idea]) -> Loaded:
        ids = [idea.id for idea in ideas]
        return cls(
            await repository.attachments_of(session, ids), await repository.points_of(session, ids)
        )

    def content(self, idea: Idea) -> dict[str, object]:
        point = self.points.get(idea.id)
        return {
            "id": idea.id,
            "area_id": idea.area_id,
            "title": idea.title,
            "summary": idea.summary,
            "problem": idea.problem,
            "solution": idea.solution,
            "benefit": idea.benefit,
            "cost_band": idea.cost_band,
            "location": Point(lat=point[0], lon=point[1]) if point else None,
            "district_id": idea.district_id,
            "tags": list(idea.tags),
            "attachments": [attachment_ref(a) for a in self.attachments.get(idea.id, [])],
        }

    def public(self, idea: Idea) -> IdeaPublic:
        return IdeaPublic(**self.content(idea), **_public_fields(idea))

    def for_review(self, idea: Idea) -> IdeaForReview:
        return IdeaForReview(**self.content(idea))


def _public_fields(idea: Idea) -> dict[str, object]:
    return {
        "state": idea.state,
        "round": idea.round,
        "support_count": idea.support_count,
        "published_at": idea.published_at,
        "decision": idea.decision,
        "decision_reason": idea.decision_reason,
        "rank": idea.rank,
        "decided_at": idea.decided_at,
    }


def _own_fields(idea: Idea, area: IdeaArea, reviews: list[IdeaReview]) -> dict[str, object]:
    return {
        "organisation": idea.organisation,
        "attempt": idea.attempt,
        "check_failures": [CheckFailure.model_validate(f) for f in idea.check_failures],
        "design_comment": idea.design_comment,
        "reviews_received": sum(
            1 for r in reviews if r.attempt == idea.attempt and r.submitted_at is not None
        ),
        "reviews_needed": area.min_reviews,
        "created_at": idea.created_at,
        "updated_at": idea.updated_at,
        "submitted_at": idea.submitted_at,
    }


async def public_views(session: AsyncSession, ideas: Sequence[Idea]) -> list[IdeaPublic]:
    loaded = await Loaded.of(session, ideas)
    return [loaded.public(idea) for idea in ideas]


async def own_views(session: AsyncSession, ideas: Sequence[Idea]) -> list[IdeaOwn]:
    loaded = await Loaded.of(session, ideas)
    reviews = await expert_repository.reviews_of(session, [idea.id for idea in ideas])
    areas = await _areas(session, ideas)
    return [
        IdeaOwn(
            **loaded.content(idea),
            **_public_fields(idea),
            **_own_fields(idea, areas[idea.area_id], reviews.get(idea.id, [])),
        )
        for idea in ideas
    ]


async def staff_views(
    session: AsyncSession, ideas: Sequence[Idea], *, with_reviewers: bool
) -> list[IdeaStaff]:
    """The office's view (``with_reviewers``) or the committee's (reviews without names)."""
    loaded = await Loaded.of(session, ideas)
    reviews = await expert_repository.reviews_of(session, [idea.id for idea in ideas])
    areas = await _areas(session, ideas)
    authors = await repository.users(session, [idea.author_id for idea in ideas])
    views = []
    for idea in ideas:
        own = reviews.get(idea.id, [])
        author = authors.get(idea.author_id)
        views.append(
            IdeaStaff(
                **loaded.content(idea),
                **_public_fields(idea),
                **_own_fields(idea, areas[idea.area_id], own),
                author_id=idea.author_id,
                author_name=author.display_name if author is not None else "",
                score_mean=idea.score_mean,
                score_spread=idea.score_spread,
                reviews=[_review_staff(r, with_reviewers) for r in own],
            )
        )
    return views


def _review_staff(review: IdeaReview, with_reviewer: bool) -> ReviewStaff:
    return ReviewStaff(
        id=review.id,
        attempt=review.attempt,
        expert_id=review.expert_id if with_reviewer else None,
        status=review_status(review),
        assigned_at=review.assigned_at,
        due_at=review.due_at,
        submitted_at=review.submitted_at,
        scores=dict(review.scores),
        score=review.score,
        comment=review.comment,
    )


async def assignments(
    session: AsyncSession, reviews: Sequence[IdeaReview]
) -> list[ReviewAssignment]:
    ideas: list[Idea] = []
    for idea_id in dict.fromkeys(r.idea_id for r in reviews):
        idea = await repository.get_idea(session, idea_id)
        if idea is not None:
            ideas.append(idea)
    by_id = {idea.id: idea for idea in ideas}
    loaded = await Loaded.of(session, ideas)
    areas = await _areas(session, ideas)
    return [
        ReviewAssignment(
            id=review.id,
            status=review_status(review),
            criteria=list(areas[by_id[review.idea_id].area_id].criteria),
            assigned_at=review.assigned_at,
            due_at=review.due_at,
            submitted_at=review.submitted_at,
            scores=dict(review.scores),
            comment=review.comment,
            idea=loaded.for_review(by_id[review.idea_id]),
        )
        for review in reviews
        if review.idea_id in by_id
    ]


async def _areas(session: AsyncSession, ideas: Sequence[Idea]) -> dict[uuid.UUID, IdeaArea]:
    areas: dict[uuid.UUID, IdeaArea] = {}
    for area_id in {idea.area_id for idea in ideas}:
        area = await repository.get_area(session, area_id)
        if area is not None:
            areas[area_id] = area
    return areas

"""Experts' endpoints: the reviews assigned to me, and my scores. A signed-in person (an
API key never reviews); the service admits only the review's own expert (404 otherwise).
What an expert sees of an idea is ``IdeaForReview``: its content, never its author."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from service.auth.dependencies import PersonActor
from service.auth.policy import OWN
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS
from service.ideas import expert_repository, reviews, views
from service.ideas.schemas import AssignmentPage, ReviewAssignment, ReviewSubmit

router = APIRouter(tags=["ideas"])


@router.get("/v1/me/idea-reviews", summary="Reviews assigned to me, newest first", responses=ERRORS)
async def my_reviews(actor: PersonActor, session: SessionDep) -> AssignmentPage:
    found = await expert_repository.reviews_of_expert(session, actor.user_id)
    return AssignmentPage(items=await views.assignments(session, found))


@router.get(
    "/v1/me/idea-reviews/{review_id}",
    summary="One review assigned to me",
    responses=ERRORS,
    dependencies=[OWN],
)
async def my_review(
    review_id: uuid.UUID, actor: PersonActor, session: SessionDep
) -> ReviewAssignment:
    review = await reviews.my_review(session, actor, review_id)
    return (await views.assignments(session, [review]))[0]


@router.post(
    "/v1/me/idea-reviews/{review_id}/scores",
    summary="Score the idea against each of its area's criteria (1–5), with a comment",
    responses=ERRORS,
    dependencies=[OWN],
)
async def submit_scores(
    review_id: uuid.UUID, body: ReviewSubmit, actor: PersonActor, session: SessionDep, now: NowDep
) -> ReviewAssignment:
    review = await reviews.submit_review(session, actor, review_id, body, now)
    return (await views.assignments(session, [review]))[0]

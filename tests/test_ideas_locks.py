"""The expert-review sweep and an expert's score, in two transactions at once: both lock the
idea before its review, so the sweep leaves an idea being scored alone instead of taking its
review and then waiting for the idea (while the score waits for the review: a deadlock).

The rows are committed (two connections must see them) and deleted at the end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col

from service.auth.models import User
from service.config import Settings
from service.ideas import repository, reviews
from service.ideas.models import Idea, IdeaArea, IdeaReview, IdeaState
from service.ideas.schemas import ReviewSubmit
from tests.factories import actor_of, make_user
from tests.feedback_setup import department_id

CRITERIA = ["relevance", "feasibility", "impact"]


async def test_a_score_and_a_lapse_at_once_neither_deadlock_nor_fail(
    engine: AsyncEngine, settings: Settings
) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    async with maker() as setup:
        # What the scoring writes besides (jobs, notices) is deleted at the end too.
        last_job = (
            await setup.execute(text("SELECT coalesce(max(id), 0) FROM outbox_job"))
        ).scalar()
        started = (await setup.execute(text("SELECT clock_timestamp()"))).scalar()
        author = await make_user(setup, settings)
        expert = await make_user(setup, settings)
        area = IdeaArea(
            code=f"locks-{uuid.uuid4().hex[:6]}",
            name="Locks",
            department_id=await department_id(setup, "roads"),
            min_reviews=1,
            criteria=CRITERIA,
        )
        setup.add(area)
        await setup.flush()
        idea = Idea(
            area_id=area.id,
            author_id=author.id,
            title="Benches along the promenade",
            state=IdeaState.experts,
            attempt=1,
            round=now.year,
            submitted_at=now - timedelta(days=10),
            published_at=now - timedelta(days=10),
        )
        setup.add(idea)
        await setup.flush()
        # Past its deadline: the sweep would lapse it.
        review = IdeaReview(
            idea_id=idea.id,
            attempt=1,
            expert_id=expert.id,
            assigned_at=now - timedelta(days=10),
            due_at=now - timedelta(minutes=1),
        )
        setup.add(review)
        await setup.commit()
    try:
        async with maker() as scoring, maker() as sweeping:
            # The score holds the idea (as submit_review does first) ...
            assert await repository.get_idea(scoring, idea.id, lock=True) is not None
            # ... the sweep, meanwhile, neither waits for it nor takes its review ...
            swept = await asyncio.wait_for(reviews.sweep(sweeping, now), timeout=10)
            assert swept.lapsed == 0
            held = await sweeping.execute(
                text("SELECT 1 FROM idea_review WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": review.id},
            )
            assert held.first() is not None  # nobody holds the review
            await sweeping.rollback()
            # ... and the two run at once: the expert's score and a sweep lapsing it.
            scored, lapsed = await asyncio.wait_for(
                asyncio.gather(
                    reviews.submit_review(
                        scoring,
                        actor_of(expert),
                        review.id,
                        ReviewSubmit(scores=dict.fromkeys(CRITERIA, 4), comment="Good."),
                        now,
                    ),
                    reviews.sweep(sweeping, now),
                ),
                timeout=10,
            )
            await scoring.commit()
            await sweeping.commit()
            assert scored.submitted_at is not None and lapsed.lapsed == 0
        async with maker() as check:
            final = await check.get(IdeaReview, review.id)
            moved = await check.get(Idea, idea.id)
            assert final is not None and final.score == 4.0 and final.lapsed_at is None
            assert moved is not None and moved.state == IdeaState.design
            # The sweep, on its own, lapses an open review past its deadline.
            final.submitted_at = None
            await check.commit()
            assert (await reviews.sweep(check, now)).lapsed == 1
            await check.rollback()
    finally:
        async with maker() as cleanup:
            await cleanup.execute(text("DELETE FROM outbox_job WHERE id > :id"), {"id": last_job})
            await cleanup.execute(
                text("DELETE FROM notification_event WHERE created_at >= :at"), {"at": started}
            )
            await cleanup.execute(delete(Idea).where(col(Idea.id) == idea.id))
            await cleanup.execute(delete(IdeaArea).where(col(IdeaArea.id) == area.id))
            await cleanup.execute(delete(User).where(col(User.id).in_([author.id, expert.id])))
            await cleanup.commit()

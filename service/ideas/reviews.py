"""Stage 2: expert assessment. Assigning experts from the area's pool (never the author,
their department colleagues or anyone of their organisation; the least loaded first), the
expert's scores, closing the stage when enough reviews are in, and the sweep that reminds
experts before their deadline and hands a lapsed review to another expert.

Deadlines are counted on the working calendar of the area's department. The sweep is the
source of truth (``FOR UPDATE SKIP LOCKED``, any number of workers); each reminder and lapse
is a column set once, so it happens once. Every writer locks an idea before its reviews
(scoring, withdrawing, the sweep), so none waits for another in a circle.
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.auth.models import Role
from service.calendar import (
    TimeUnit,
    add_working_time,
    subtract_working_time,
)
from service.city import service as city
from service.errors import Conflict, InvalidInput, NotFound
from service.ideas import expert_repository, repository
from service.ideas.models import Idea, IdeaArea, IdeaReview, IdeaState
from service.ideas.schemas import ReviewSubmit
from service.ideas.states import IdeaAction, transition
from service.ideas.timeline import move, record_event, tell_author, tell_people
from service.readable import time_value


async def assign(
    session: AsyncSession, idea: Idea, area: IdeaArea, now: datetime, *, note_short: bool = True
) -> int:
    """Assign experts until the idea's current submission has ``min_reviews`` live reviews
    (open or in); returns how many were assigned now. The idea must be locked. When the
    pool has too few, an internal event says so (``note_short``); the sweep tries again."""
    already = await expert_repository.reviews_of(session, [idea.id])
    live = [
        r for r in already.get(idea.id, []) if r.attempt == idea.attempt and r.lapsed_at is None
    ]
    needed = area.min_reviews - len(live)
    if needed <= 0:
        return 0
    # One assignment of an area at a time: two ideas checked at once (the worker runs jobs
    # side by side) would otherwise both read the same loads and pick the same experts.
    await expert_repository.lock_area_assignments(session, area.id)
    excluded = await expert_repository.assigned_experts(session, idea.id, idea.attempt)
    excluded |= {idea.author_id} | await expert_repository.colleagues_of(session, idea.author_id)
    organisations = await expert_repository.organisations_of(session, idea.author_id)
    if idea.organisation:
        organisations.add(idea.organisation.lower())
    candidates = [
        (load, user.id, user)
        for member, user, load in await expert_repository.pool(session, area.id)
        if member.active
        and user.disabled_at is None
        and user.id not in excluded
        and (member.organisation or "").lower() not in organisations
    ]
    candidates.sort(key=lambda c: (c[0], str(c[1])))
    calendar = await city.load_working_calendar(session, area.department_id)
    due = add_working_time(now, area.review_days, TimeUnit.working_days, calendar)
    remind = subtract_working_time(due, 1, TimeUnit.working_days, calendar)
    chosen = candidates[:needed]
    for _, user_id, user in chosen:
        review = IdeaReview(
            idea_id=idea.id,
            attempt=idea.attempt,
            expert_id=user_id,
            assigned_at=now,
            due_at=due,
            remind_at=remind if remind > now else None,
        )
        session.add(review)
        await session.flush()
        record_event(
            session, idea, None, "expert_assigned", now, public=False, review_id=str(review.id)
        )
        await tell_people(
            session,
            [user],
            "idea_review_assigned",
            f"idea_review_assigned:{review.id}",
            now,
            title=idea.title,
            due=time_value(due, calendar.zone),
        )
    if note_short and len(chosen) < needed:
        record_event(
            session, idea, None, "experts_short", now, public=False, missing=needed - len(chosen)
        )
    return len(chosen)


async def my_review(
    session: AsyncSession, actor: Actor, review_id: uuid.UUID, *, lock: bool = False
) -> IdeaReview:
    review = await expert_repository.get_review(session, review_id, lock=lock)
    if review is None or review.expert_id != actor.user_id:
        raise NotFound("No such review.")
    return review


async def submit_review(
    session: AsyncSession, actor: Actor, review_id: uuid.UUID, body: ReviewSubmit, now: datetime
) -> IdeaReview:
    """Score an assigned idea against each of its area's criteria (1–5) with a comment."""
    review = await my_review(session, actor, review_id)
    idea = await repository.get_idea(session, review.idea_id, lock=True)
    review = await my_review(session, actor, review_id, lock=True)
    if idea is None:
        raise NotFound("No such review.")
    if review.submitted_at is not None:
        raise Conflict("This review is already in.", state="submitted")
    if review.lapsed_at is not None:
        raise Conflict(
            "The deadline of this review passed; another expert has it now.", state="lapsed"
        )
    if idea.state != IdeaState.experts or review.attempt != idea.attempt:
        raise Conflict("The idea is no longer in expert assessment.", state=str(idea.state))
    area = await repository.get_area(session, idea.area_id)
    assert area is not None
    if set(body.scores) != set(area.criteria):
        raise InvalidInput(
            f"Score each of the area's criteria: {', '.join(area.criteria)}.",
            field="scores",
            criteria=list(area.criteria),
        )
    review.scores = dict(body.scores)
    review.score = round(statistics.fmean(body.scores.values()), 3)
    review.comment = body.comment or None
    review.submitted_at = now
    record_event(
        session,
        idea,
        actor.user_id,
        "review_submitted",
        now,
        public=False,
        review_id=str(review.id),
    )
    await session.flush()
    await _close_if_complete(session, idea, area, now)
    return review


async def _close_if_complete(
    session: AsyncSession, idea: Idea, area: IdeaArea, now: datetime
) -> None:
    found = await expert_repository.reviews_of(session, [idea.id])
    scores = [
        r.score
        for r in found.get(idea.id, [])
        if r.attempt == idea.attempt and r.submitted_at is not None and r.score is not None
    ]
    if len(scores) < area.min_reviews:
        return
    previous = move(idea, transition(idea.state, IdeaAction.close_reviews), now)
    idea.score_mean = round(statistics.fmean(scores), 2)
    idea.score_spread = round(statistics.pstdev(scores), 2)
    record_event(
        session, idea, None, "reviews_closed", now, from_state=previous, reviews=len(scores)
    )
    await tell_author(session, idea, "idea_reviews_closed", now)
    office = await repository.people_with_role(session, Role.idea_office)
    await tell_people(
        session,
        office,
        "idea_design_waiting",
        f"idea_design_waiting:{idea.id}:{idea.attempt}",
        now,
        title=idea.title,
        score=idea.score_mean,
    )


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    lapsed: int
    assigned: int


async def sweep(session: AsyncSession, now: datetime, batch: int = 100) -> SweepResult:
    """Remind experts whose review is due within a working day, lapse reviews past their
    deadline and assign replacements, and top up ideas still short of experts."""
    reminders = await expert_repository.claim_reminders(session, now, batch)
    for review in reminders:
        review.reminded_at = now
        idea = await repository.get_idea(session, review.idea_id)
        experts = await repository.users(session, [review.expert_id])
        area = await repository.get_area(session, idea.area_id) if idea is not None else None
        if idea is not None and area is not None and idea.state == IdeaState.experts:
            calendar = await city.load_working_calendar(session, area.department_id)
            await tell_people(
                session,
                list(experts.values()),
                "idea_review_reminder",
                f"idea_review_reminder:{review.id}",
                now,
                title=idea.title,
                due=time_value(review.due_at, calendar.zone),
            )
    lapsed = await expert_repository.claim_lapsed(session, now, batch)
    replace: set[uuid.UUID] = set()
    for review in lapsed:
        review.lapsed_at = now
        idea = await repository.get_idea(session, review.idea_id)
        if idea is None:
            continue
        record_event(
            session, idea, None, "review_lapsed", now, public=False, review_id=str(review.id)
        )
        experts = await repository.users(session, [review.expert_id])
        replace.add(idea.id)
        await tell_people(
            session,
            list(experts.values()),
            "idea_review_lapsed",
            f"idea_review_lapsed:{review.id}",
            now,
            title=idea.title,
        )
    await session.flush()
    assigned = 0
    # Ideas whose review lapsed now first (noted when the pool is exhausted), then any idea
    # still short of experts (a pool that grew since).
    short = [*sorted(replace), *await expert_repository.ideas_short_of_experts(session, batch)]
    for idea_id in dict.fromkeys(short):
        # An idea another transaction holds (a score, another sweep) waits for the next run.
        idea = await repository.get_idea(session, idea_id, lock=True, skip_locked=True)
        if idea is None or idea.state != IdeaState.experts:
            continue
        area = await repository.get_area(session, idea.area_id)
        if area is not None:
            assigned += await assign(session, idea, area, now, note_short=idea_id in replace)
    return SweepResult(reminded=len(reminders), lapsed=len(lapsed), assigned=assigned)

"""Stage 1: the automatic checks of a submitted idea, run by a worker (``idea_checks``).

The rules are configured per area (``AreaRules``): required fields, length bounds, the
location inside the city, and no near-duplicate of a public idea (PostgreSQL trigram
similarity of title or summary). Failures go back to the author with every reason at once;
a pass makes the idea public and assigns its experts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.city import service as city
from service.ideas import repository, reviews
from service.ideas.models import Idea, IdeaArea, IdeaState
from service.ideas.schemas import AreaRules
from service.ideas.states import IdeaAction, transition
from service.ideas.timeline import move, record_event, tell_author

TEXT_FIELDS = ("problem", "solution", "benefit")


async def failures_of(session: AsyncSession, idea: Idea, rules: AreaRules) -> list[dict[str, Any]]:
    """Every rule the idea breaks, as ``CheckFailure`` dictionaries."""
    failures: list[dict[str, Any]] = []

    def fail(rule: str, field: str | None, detail: str, **extra: Any) -> None:
        failures.append({"rule": rule, "field": field, "detail": detail, **extra})

    point = (await repository.points_of(session, [idea.id])).get(idea.id)
    present = {
        "summary": bool(idea.summary),
        "problem": bool(idea.problem),
        "solution": bool(idea.solution),
        "benefit": bool(idea.benefit),
        "cost_band": idea.cost_band is not None,
        "location": point is not None or idea.district_id is not None,
    }
    for name in rules.required_fields:
        if not present[name]:
            fail("required", name, f"The {name.replace('_', ' ')} is required in this area.")
    if not rules.title_min <= len(idea.title) <= rules.title_max:
        fail(
            "length",
            "title",
            f"The title has {len(idea.title)} characters; "
            f"{rules.title_min}–{rules.title_max} are expected.",
        )
    if idea.summary and not rules.summary_min <= len(idea.summary) <= rules.summary_max:
        fail(
            "length",
            "summary",
            f"The summary has {len(idea.summary)} characters; "
            f"{rules.summary_min}–{rules.summary_max} are expected.",
        )
    for text_field in TEXT_FIELDS:
        value: str = getattr(idea, text_field)
        if value and len(value) < rules.text_min:
            fail(
                "length",
                text_field,
                f"The {text_field} needs at least {rules.text_min} characters.",
            )
    if point is not None and await city.locate(session, point[0], point[1]) is None:
        fail("location", "location", "The location is outside the city.")
    for similar_id, title, similarity in await repository.similar_public(
        session, idea, rules.similarity_threshold
    ):
        fail(
            "duplicate",
            "title",
            f"A public idea is very similar ({similarity:.0%}): “{title}”. "
            "Support it, or say how yours differs.",
            similar_idea_id=str(similar_id),
        )
    return failures


async def run_checks(
    session: AsyncSession, idea_id: uuid.UUID, attempt: int, now: datetime
) -> bool:
    """Check one submission; False when there is nothing to do (already checked, withdrawn,
    or a newer submission exists)."""
    idea = await repository.get_idea(session, idea_id, lock=True)
    if idea is None or idea.state != IdeaState.submitted or idea.attempt != attempt:
        return False
    area = await repository.get_area(session, idea.area_id)
    assert area is not None  # an idea's area is never deleted (RESTRICT)
    failures = await failures_of(session, idea, AreaRules.model_validate(area.rules))
    if failures:
        previous = move(idea, transition(idea.state, IdeaAction.fail_checks), now)
        idea.check_failures = failures
        record_event(
            session,
            idea,
            None,
            "checks_failed",
            now,
            from_state=previous,
            public=False,
            rules=sorted({f["rule"] for f in failures}),
        )
        await tell_author(
            session,
            idea,
            "idea_checks_failed",
            now,
            reasons="\n".join(f"- {f['detail']}" for f in failures),
        )
        return True
    await pass_checks(session, idea, area, now)
    return True


async def pass_checks(session: AsyncSession, idea: Idea, area: IdeaArea, now: datetime) -> None:
    previous = move(idea, transition(idea.state, IdeaAction.pass_checks), now)
    idea.check_failures = []
    idea.published_at = now  # (again, after a return for revision)
    record_event(session, idea, None, "checks_passed", now, from_state=previous)
    await tell_author(session, idea, "idea_checks_passed", now)
    await reviews.assign(session, idea, area, now)

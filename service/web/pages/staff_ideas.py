"""The idea bank's staff side: the project office, the experts and the committees.

* ``/staff/ideas`` — the project office's list of submitted ideas with their reviews and
  reviewers, and per idea the design decision (``/v1/idea-office/…``, the same repository
  read, views and ``decisions.decide_design``).
* ``/my/reviews`` — an expert's assigned reviews with the criteria form. Experts are
  residents in an area's pool, not a role: any signed-in person, the service admitting only
  the review's own expert (404 otherwise). What they see of an idea is the API's
  ``IdeaForReview``: its content, never its author.
* ``/staff/ideas/committee/{area_id}`` — an area's committee (the supervisors of its
  department, ``access.committee_area``): the ideas waiting for it, best scored first, with
  scores but no reviewer, and the ranked decisions (``decisions.decide_round``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.models import Role
from service.errors import AppError, NotFound
from service.ideas import access, decisions, expert_repository, repository, reviews, views
from service.ideas.models import CostBand, Decision, IdeaState
from service.ideas.schemas import CommitteeDecisions, DesignDecision, ReviewSubmit
from service.web.dependencies import CSRF, PageContext, PersonPage, role_page
from service.web.forms import (
    MESSAGES,
    FormErrors,
    app_error,
    field_errors,
    parse,
    text_fields,
)
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# The roles of the API's office and committee routes.
OfficePage = Depends(role_page(Role.idea_office, Role.admin))
CommitteePage = Depends(role_page(Role.supervisor, Role.admin))

IDEA_STATES = {
    IdeaState.submitted: N_("Waiting for the checks"),
    IdeaState.returned: N_("Returned to the author"),
    IdeaState.experts: N_("With the experts"),
    IdeaState.design: N_("Waiting for the design decision"),
    IdeaState.committee: N_("With the committee"),
    IdeaState.rejected: N_("Rejected"),
    IdeaState.decided: N_("Decided"),
    IdeaState.withdrawn: N_("Withdrawn"),
}
REVIEW_STATES = {
    "open": N_("Waiting for scores"),
    "submitted": N_("Scored"),
    "lapsed": N_("Deadline passed"),
}
COST_BANDS = {
    CostBand.under_10k: N_("under 10,000 euros"),
    CostBand.from_10k_to_50k: N_("10,000–50,000 euros"),
    CostBand.from_50k_to_250k: N_("50,000–250,000 euros"),
    CostBand.from_250k_to_1m: N_("250,000–1,000,000 euros"),
    CostBand.over_1m: N_("over 1,000,000 euros"),
}
DESIGN_CHOICES = (
    ("approve", N_("Approve for the committee")),
    ("return", N_("Return to the author for revision")),
    ("reject", N_("Reject")),
)
DECISIONS = {
    Decision.implement: N_("Implement"),
    Decision.pilot: N_("Pilot"),
    Decision.declined: N_("Declined"),
}
DONE = {
    "design": N_("The design decision was recorded; the author is told."),
    "scored": N_("Your scores were sent. Thank you."),
    "decided": N_("The decisions were recorded and published."),
}
# The idea services' refusals a form may meet, said in the reader's language.
REFUSALS = (
    N_("This review is already in."),
    N_("The deadline of this review passed; another expert has it now."),
    N_("The idea is no longer in expert assessment."),
    N_("Each idea must be one of this area's."),
)
COMMENT_NEEDED = N_("Say why the idea is returned or rejected.")
SCORE_EACH = N_("Score each criterion from 1 to 5.")
PICK_ONE = N_("Choose at least one idea to decide.")
RANKS_ONCE = N_("Give each idea its own rank.")
STATE_CHANGED = N_("The idea has moved on meanwhile; it is shown as it is now.")


def _refusal(exc: AppError, page: PageContext, field: str) -> FormErrors:
    if exc.status == 409 and not exc.extensions.get("state") and "field" not in exc.extensions:
        return FormErrors({field: translate(page.language, STATE_CHANGED)})
    return app_error(exc, page.language, str(exc.extensions.get("field") or field))


# --- the project office ---------------------------------------------------------------------


@router.get("/staff/ideas")
async def office_list(
    page: PageContext = OfficePage,
    state: IdeaState | None = Query(default=None),
    area: uuid.UUID | None = Query(default=None),
) -> Response:
    ideas = await repository.ideas_for_office(
        page.session, state, [area] if area is not None else None, 200
    )
    found = await views.staff_views(page.session, ideas, with_reviewers=True)
    areas = {a.id: a.name for a in await repository.list_areas(page.session, active_only=False)}
    return render(
        page,
        "staff/ideas/index.html",
        ideas=found,
        state=state,
        area=area,
        areas=areas,
        idea_states=IDEA_STATES,
        review_states=REVIEW_STATES,
    )


# --- committees -------------------------------------------------------------------------------


@router.get("/staff/ideas/committee")
async def committee_areas(page: PageContext = CommitteePage) -> Response:
    every = await repository.list_areas(page.session, active_only=True)
    return render(
        page,
        "staff/ideas/committees.html",
        areas=[area for area in every if access.on_committee(page.person, area)],
    )


async def _committee(
    page: PageContext,
    area_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    area = await access.committee_area(page.session, page.person, area_id)
    ideas = await decisions.committee_ideas(page.session, page.person, area_id)
    found = await views.staff_views(page.session, ideas, with_reviewers=False)
    done = page.request.query_params.get("done", "")
    rounds = sorted({idea.round for idea in found if idea.round is not None})
    return render(
        page,
        "staff/ideas/committee.html",
        status_code=status_code,
        area=area,
        ideas=found,
        rounds=rounds,
        decisions=DECISIONS,
        cost_bands=COST_BANDS,
        errors=errors or FormErrors(),
        values=values or {},
        done=DONE.get(done, "") if not errors else "",
    )


@router.get("/staff/ideas/committee/{area_id}")
async def committee(area_id: uuid.UUID, page: PageContext = CommitteePage) -> Response:
    return await _committee(page, area_id)


@router.post("/staff/ideas/committee/{area_id}", dependencies=[CSRF])
async def committee_decide(
    area_id: uuid.UUID, request: Request, page: PageContext = CommitteePage
) -> Response:
    await access.committee_area(page.session, page.person, area_id)
    form = await request.form()
    count = min(len(form.getlist("idea")), 500)
    names = ["round"]
    for row in range(count):
        names.extend(f"{name}-{row}" for name in ("include", "rank", "decision", "reasoning"))
    values = text_fields(form, *names)
    ideas = [str(value) for value in form.getlist("idea")][:count]
    for row, idea_id in enumerate(ideas):
        values[f"idea-{row}"] = idea_id
    chosen = [row for row in range(count) if values.get(f"include-{row}") == "yes"]
    items = [
        {
            "idea_id": ideas[row],
            "rank": values.get(f"rank-{row}", "").strip(),
            "decision": values.get(f"decision-{row}", ""),
            "reasoning": values.get(f"reasoning-{row}", ""),
        }
        for row in chosen
    ]
    errors = FormErrors()
    body = None
    try:
        body = parse(
            CommitteeDecisions, {"round": values.get("round", "").strip(), "decisions": items}
        )
    except ValidationError as exc:
        for item in exc.errors():
            location = list(item.get("loc", ()))
            if len(location) >= 3 and location[0] == "decisions" and isinstance(location[1], int):
                row = chosen[location[1]]
                name = str(location[2])
                message = MESSAGES.get(item.get("type", ""), N_("This value is not valid."))
                errors.setdefault(f"{name}-{row}", translate(page.language, message))
            elif location == ["decisions"]:
                errors.setdefault("", translate(page.language, PICK_ONE))
            elif location == ["round"]:
                errors.setdefault("round", field_errors(exc, page.language).get("round", ""))
            elif not location:
                errors.setdefault("", translate(page.language, RANKS_ONCE))
    if errors or body is None:
        return await _committee(page, area_id, errors=errors, values=values, status_code=422)
    try:
        async with page.session.begin_nested():
            await decisions.decide_round(page.session, page.person, area_id, body, page.now)
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _committee(
            page, area_id, errors=_refusal(exc, page, ""), values=values, status_code=exc.status
        )
    return RedirectResponse(f"/staff/ideas/committee/{area_id}?done=decided", status_code=303)


async def _office_idea(
    page: PageContext,
    idea_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    idea = await repository.get_idea(page.session, idea_id)
    if idea is None or idea.state == IdeaState.draft:
        raise NotFound("No such idea.")
    (view,) = await views.staff_views(page.session, [idea], with_reviewers=True)
    reviewers = await repository.users(
        page.session, [r.expert_id for r in view.reviews if r.expert_id is not None]
    )
    area = await repository.get_area(page.session, idea.area_id)
    done = page.request.query_params.get("done", "")
    return render(
        page,
        "staff/ideas/idea.html",
        status_code=status_code,
        idea=view,
        area=area,
        reviewers={uid: user.display_name for uid, user in reviewers.items()},
        idea_states=IDEA_STATES,
        review_states=REVIEW_STATES,
        cost_bands=COST_BANDS,
        design_choices=DESIGN_CHOICES,
        errors=errors or FormErrors(),
        values=values or {},
        done=DONE.get(done, "") if not errors else "",
    )


@router.get("/staff/ideas/{idea_id}")
async def office_idea(idea_id: uuid.UUID, page: PageContext = OfficePage) -> Response:
    return await _office_idea(page, idea_id)


@router.post("/staff/ideas/{idea_id}/design", dependencies=[CSRF])
async def design_decision(
    idea_id: uuid.UUID, request: Request, page: PageContext = OfficePage
) -> Response:
    values = text_fields(await request.form(), "decision", "comment")
    try:
        body = parse(DesignDecision, values)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "" in errors:
            del errors[""]
            errors["comment"] = translate(page.language, COMMENT_NEEDED)
        return await _office_idea(page, idea_id, errors=errors, values=values, status_code=422)
    try:
        async with page.session.begin_nested():
            await decisions.decide_design(page.session, page.person, idea_id, body, page.now)
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _office_idea(
            page,
            idea_id,
            errors=_refusal(exc, page, "decision"),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(f"/staff/ideas/{idea_id}?done=design", status_code=303)


# --- experts ----------------------------------------------------------------------------------


@router.get("/my/reviews")
async def my_reviews(page: PersonPage) -> Response:
    found = await expert_repository.reviews_of_expert(page.session, page.person.user_id)
    return render(
        page,
        "staff/ideas/reviews.html",
        assignments=await views.assignments(page.session, found),
        review_states=REVIEW_STATES,
    )


async def _review(
    page: PageContext,
    review_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    review = await reviews.my_review(page.session, page.person, review_id)
    (assignment,) = await views.assignments(page.session, [review])
    done = page.request.query_params.get("done", "")
    return render(
        page,
        "staff/ideas/review.html",
        status_code=status_code,
        review=assignment,
        idea=assignment.idea,
        review_states=REVIEW_STATES,
        cost_bands=COST_BANDS,
        errors=errors or FormErrors(),
        values=values or {},
        done=DONE.get(done, "") if not errors else "",
    )


@router.get("/my/reviews/{review_id}")
async def my_review(review_id: uuid.UUID, page: PersonPage) -> Response:
    return await _review(page, review_id)


@router.post("/my/reviews/{review_id}", dependencies=[CSRF])
async def submit_scores(review_id: uuid.UUID, request: Request, page: PersonPage) -> Response:
    review = await reviews.my_review(page.session, page.person, review_id)
    (assignment,) = await views.assignments(page.session, [review])
    form = await request.form()
    names = [f"score-{number}" for number in range(len(assignment.criteria))]
    values = text_fields(form, "comment", *names)
    errors = FormErrors()
    scores: dict[str, Any] = {}
    for name, criterion in zip(names, assignment.criteria, strict=True):
        given = values.get(name, "").strip()
        if given:
            scores[criterion] = given
        else:
            errors[name] = translate(page.language, SCORE_EACH)
    body = None
    try:
        body = parse(ReviewSubmit, {"scores": scores, "comment": values.get("comment", "")})
    except ValidationError as exc:
        for item in exc.errors():
            location = [str(part) for part in item.get("loc", ())]
            if location[:1] == ["scores"]:
                criterion = location[1] if len(location) > 1 else ""
                index = (
                    assignment.criteria.index(criterion) if criterion in assignment.criteria else 0
                )
                errors.setdefault(f"score-{index}", translate(page.language, SCORE_EACH))
            else:
                message = MESSAGES.get(item.get("type", ""), N_("This value is not valid."))
                errors.setdefault(
                    location[-1] if location else "", translate(page.language, message)
                )
    if errors or body is None:
        return await _review(page, review_id, errors=errors, values=values, status_code=422)
    try:
        async with page.session.begin_nested():
            await reviews.submit_review(page.session, page.person, review_id, body, page.now)
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return await _review(
            page,
            review_id,
            errors=_refusal(exc, page, "score-0"),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(f"/my/reviews/{review_id}?done=scored", status_code=303)

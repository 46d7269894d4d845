"""A report's page: what the API shows the caller of ``GET /v1/reports/by-code/{code}``
(the public, the reporter or staff view), its photos, timeline and published answers; and
the forms of what the caller may do to it, each through the service its API route calls:

* the reporter answers the department's question (``POST …/clarifications``), rates the
  answer (``POST …/rating``: resolved closes the report, not resolved reopens it within
  the API's rules) and withdraws it (``POST …/withdraw``);
* other signed-in people support it and subscribe to it (``PUT/DELETE …/support`` and
  ``…/subscription``), under the same hourly limit.

A report the caller may not see is a 404 page, exactly where the API answers 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth.actor import Actor
from service.auth.dependencies import require_scope
from service.auth.scopes import Scope
from service.errors import AppError, NotFound, TooManyRequests
from service.feedback import ratings, responses
from service.feedback.schemas import RatingCreate, RatingView
from service.fields import PlainText
from service.queues import clarification
from service.queues.schemas import ClarificationAnswer
from service.ratelimit import RateLimitItemPerHour
from service.reports import engagement, lifecycle, photos, repository, views
from service.reports.models import ReportSubscription, ReportSupport
from service.reports.schemas import ReportView
from service.reports.states import Action, ReportState, is_public, legal_pairs
from service.web.dependencies import CSRF, Page, PageContext, PersonPage
from service.web.forms import FormErrors, app_error, field_errors, filled, parse, text_fields
from service.web.i18n import N_, translate
from service.web.pages.report_words import (
    EVENT_NAMES,
    OUTCOME_NAMES,
    STATE_NAMES,
    STATE_TONES,
    WAITING_FOR,
)
from service.web.templating import render

router = APIRouter(include_in_schema=False)

TrackingCode = Annotated[str, Path(max_length=16), PlainText]
# The API's filing, reporter and rating routes admit a verified person (or a key): the same
# check, on the page's signed-in person.
_verified_writer = require_scope(Scope.reports_write, verified=True)
WITHDRAWABLE = frozenset(s for s, action, _ in legal_pairs() if action is Action.withdraw)
TOO_MANY = N_("Too many changes in a short time; wait a while and try again.")
# What a finished action says on the page it returns to.
DONE = {
    "answered": N_("Your answer was sent to the department."),
    "rated": N_("Thank you: your rating was saved."),
    "withdrawn": N_("The report is withdrawn."),
    "supported": N_("You support this report and follow its changes."),
    "unsupported": N_("You no longer support this report."),
    "subscribed": N_("You will be told of this report's changes."),
    "unsubscribed": N_("You no longer follow this report."),
}


async def writer(page: PageContext) -> Actor:
    """The signed-in person, if they may file and change reports (a verified email)."""
    return await _verified_writer(page.person)


async def report_of(page: PageContext, code: str) -> ReportView:
    """The report as the API shows this caller (404 when they may not know of it)."""
    return await views.view(
        page.session, page.actor, page.now, str(page.language), tracking_code=code
    )


def _rateable(report: ReportView, answers: list[Any], page: PageContext) -> bool:
    if report.state not in ratings.RATEABLE_STATES or not answers:
        return False
    latest = answers[-1]
    ends = latest.rating_window_ends_at
    return bool(latest.published_at) and ends is not None and page.now < ends


async def show_report(
    page: PageContext,
    code: str,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
    done: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    report = await report_of(page, code)
    actor = page.actor
    timeline = await views.timeline(page.session, actor, report.id)
    answers = await responses.responses_of(page.session, actor, report.id, page.settings)
    is_reporter = (
        actor is not None
        and report.private is not None
        and report.private.reporter.id == actor.user_id
    )
    supporting = subscribed = False
    may_engage = (
        actor is not None and not is_reporter and is_public(report.state, report.accepted_at)
    )
    if may_engage and actor is not None:
        supporting, subscribed = await repository.is_engaged(page.session, report.id, actor.user_id)
    may_rate = (is_reporter or supporting) and _rateable(report, answers, page)
    my_rating: RatingView | None = None
    if may_rate and actor is not None:
        try:
            my_rating = await ratings.my_rating(page.session, actor, report.id, page.settings)
        except NotFound:
            my_rating = None
    return render(
        page,
        "report.html",
        status_code=status_code,
        report=report,
        timeline=timeline,
        answers=answers,
        is_reporter=is_reporter,
        may_engage=may_engage,
        supporting=supporting,
        subscribed=subscribed,
        may_rate=may_rate,
        my_rating=my_rating,
        may_withdraw=is_reporter and report.state in WITHDRAWABLE,
        may_answer=is_reporter
        and report.state == ReportState.awaiting_info
        and report.private is not None
        and report.private.question is not None,
        errors=errors or FormErrors(),
        values=values or {},
        done=DONE.get(done or ""),
        state_names=STATE_NAMES,
        state_tones=STATE_TONES,
        event_names=EVENT_NAMES,
        outcome_names=OUTCOME_NAMES,
        waiting_for=WAITING_FOR,
    )


@router.get("/reports/{tracking_code}")
async def report_page(
    page: Page,
    tracking_code: TrackingCode,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return await show_report(page, tracking_code, done=done)


@router.get("/reports/{tracking_code}/photos/{photo_id}")
async def report_photo(
    page: Page,
    tracking_code: TrackingCode,
    photo_id: uuid.UUID,
    variant: Annotated[str, Query(pattern="^(full|thumbnail)$")] = "full",
) -> FileResponse:
    """A photo of a report the caller may see (the API's photo, read with the page's
    session: the reporter sees the photos of their report before it is public)."""
    report = await report_of(page, tracking_code)
    path = await photos.photo_file(
        page.session, page.settings, page.actor, report.id, photo_id, variant == "thumbnail"
    )
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


def _back(code: str, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/reports/{code}?done={done}{anchor}", status_code=303)


async def _refused(
    page: PageContext, code: str, exc: AppError, field: str, values: dict[str, str]
) -> Response:
    """A service's refusal next to ``field`` of the report page's form; a report the
    caller may not know of stays a 404 page."""
    if isinstance(exc, NotFound):
        raise exc
    if isinstance(exc, TooManyRequests):
        errors = FormErrors({"": translate(page.language, TOO_MANY)})
    else:
        errors = app_error(exc, page.language, field)
    return await show_report(page, code, errors=errors, status_code=exc.status, values=values)


@router.post("/reports/{tracking_code}/clarification", dependencies=[CSRF])
async def answer_question(
    page: PersonPage, tracking_code: TrackingCode, request: Request
) -> Response:
    actor = await writer(page)
    report = await report_of(page, tracking_code)
    values = text_fields(await request.form(), "answer")
    try:
        body = parse(ClarificationAnswer, filled(values))
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await show_report(page, tracking_code, errors=errors, status_code=422, values=values)
    try:
        async with page.session.begin_nested():
            await clarification.answer(page.session, actor, report.id, body.answer, page.now)
    except AppError as exc:
        return await _refused(page, tracking_code, exc, "answer", values)
    return _back(report.tracking_code, "answered", "#timeline")


@router.post("/reports/{tracking_code}/rating", dependencies=[CSRF])
async def rate(page: PersonPage, tracking_code: TrackingCode, request: Request) -> Response:
    actor = await writer(page)
    report = await report_of(page, tracking_code)
    values = text_fields(await request.form(), "resolved", "score", "comment")
    fields: dict[str, Any] = filled(values)
    try:
        body = parse(RatingCreate, fields)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await show_report(page, tracking_code, errors=errors, status_code=422, values=values)
    try:
        async with page.session.begin_nested():
            await ratings.rate(page.session, actor, report.id, body, page.now, page.settings)
    except AppError as exc:
        return await _refused(page, tracking_code, exc, "resolved", values)
    return _back(report.tracking_code, "rated")


@router.post("/reports/{tracking_code}/withdraw", dependencies=[CSRF])
async def withdraw(page: PersonPage, tracking_code: TrackingCode) -> Response:
    actor = await writer(page)
    report = await report_of(page, tracking_code)
    try:
        async with page.session.begin_nested():
            await lifecycle.withdraw(page.session, actor, report.id, page.now)
    except AppError as exc:
        return await _refused(page, tracking_code, exc, "", {})
    return _back(report.tracking_code, "withdrawn")


async def _engage(
    page: PageContext,
    request: Request,
    code: str,
    kind: type[ReportSupport] | type[ReportSubscription],
) -> Response:
    actor = await writer(page)
    report = await report_of(page, code)
    on = text_fields(await request.form(), "on").get("on") == "1"
    settings = page.settings
    try:
        async with page.session.begin_nested():
            await request.app.state.rate_limiter.enforce(
                RateLimitItemPerHour(settings.engagement_changes_per_hour),
                "engagement",
                str(actor.user_id),
                detail=f"At most {settings.engagement_changes_per_hour} support or "
                "subscription changes an hour.",
            )
            await engagement.set_engagement(page.session, actor, report.id, kind, on, page.now)
    except AppError as exc:
        return await _refused(page, code, exc, "", {})
    if kind is ReportSupport:
        done = "supported" if on else "unsupported"
    else:
        done = "subscribed" if on else "unsubscribed"
    return _back(report.tracking_code, done)


@router.post("/reports/{tracking_code}/support", dependencies=[CSRF])
async def support(page: PersonPage, tracking_code: TrackingCode, request: Request) -> Response:
    return await _engage(page, request, tracking_code, ReportSupport)


@router.post("/reports/{tracking_code}/subscription", dependencies=[CSRF])
async def subscribe(page: PersonPage, tracking_code: TrackingCode, request: Request) -> Response:
    return await _engage(page, request, tracking_code, ReportSubscription)

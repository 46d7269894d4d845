"""Official responses: the department answers a report; where the reason asks for it, a
moderator approves the answer (or returns it with a comment, ``answer_moderation.py``) before
it is published.

Publication is one step (:func:`publish`): the ``answer`` transition, the round's answer time
and working time (pauses excluded) and whether it was on time, the response made public,
the reporter, supporters and subscribers emailed through the outbox, and the rating window
opened (``MEIELINN_RATING_WINDOW_DAYS`` from the publication).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.catalog.models import Reason
from service.city import service as city
from service.city.models import Department
from service.config import Settings
from service.errors import Conflict, InvalidInput, NotFound
from service.feedback import repository, templates
from service.feedback.models import Outcome, ReportResponse, ResponseState
from service.feedback.schemas import (
    ResponseCreate,
    ResponseInternal,
    ResponseView,
    RoundRating,
)
from service.languages import Language
from service.queues.access import require_power
from service.readable import day_value, readable_day
from service.reports import lifecycle
from service.reports import repository as reports
from service.reports.access import STAFF, check_visible
from service.reports.models import Report, ReportEvent
from service.reports.states import Action, transition

OUTCOME_LINES: dict[Outcome, dict[str, str]] = {
    Outcome.fixed: {
        "et": "Tulemus: korda tehtud.",
        "en": "Outcome: fixed.",
        "ru": "Результат: исправлено.",
    },
    Outcome.scheduled: {
        "et": "Tulemus: töö on kavas {date}.",
        "en": "Outcome: the work is scheduled for {date}.",
        "ru": "Результат: работы запланированы на {date}.",
    },
    Outcome.not_ours: {
        "et": "Tulemus: see ei ole linna hallata.",
        "en": "Outcome: this is not the city's to handle.",
        "ru": "Результат: это не в ведении города.",
    },
    Outcome.no_action: {
        "et": "Tulemus: midagi ei tehta. Põhjus: {justification}",
        "en": "Outcome: no action. Why: {justification}",
        "ru": "Результат: меры не принимаются. Причина: {justification}",
    },
}


def rating_window_end(response: ReportResponse, settings: Settings) -> datetime | None:
    if response.published_at is None:
        return None
    return response.published_at + timedelta(days=settings.rating_window_days)


def response_view(
    response: ReportResponse,
    settings: Settings,
    *,
    staff: bool,
    rating: RoundRating | None = None,
) -> ResponseView:
    return ResponseView(
        id=response.id,
        report_id=response.report_id,
        round=response.round_number,
        outcome=response.outcome,
        scheduled_for=response.scheduled_for,
        justification=response.justification,
        text=response.text,
        state=response.state,
        created_at=response.created_at,
        published_at=response.published_at,
        rating_window_ends_at=rating_window_end(response, settings),
        rating=rating,
        internal=ResponseInternal(
            author_id=response.author_id,
            template_id=response.template_id,
            moderated_by_id=response.moderated_by_id,
            moderated_at=response.moderated_at,
            moderation_comment=response.moderation_comment,
        )
        if staff
        else None,
    )


# --- answering ------------------------------------------------------------------------------


async def _outcome_and_text(
    session: AsyncSession, report: Report, body: ResponseCreate, now: datetime
) -> tuple[Outcome, str, uuid.UUID | None]:
    """The outcome, text and template of an answer, checked against the report."""
    template = None
    if body.template_id is not None:
        template = await repository.get_template(session, body.template_id)
        if template is None or not template.active or not templates.fits(template, report):
            raise InvalidInput("No such template for this report.", field="template_id")
    outcome = body.outcome or (Outcome(template.outcome) if template and template.outcome else None)
    if outcome is None:
        raise InvalidInput("Say the outcome (the template names none).", field="outcome")
    calendar = await city.load_working_calendar(session, report.department_id)
    today = now.astimezone(calendar.zone).date()
    if outcome == Outcome.scheduled:
        if body.scheduled_for is None:
            raise InvalidInput("A scheduled answer needs its date.", field="scheduled_for")
        if body.scheduled_for < today:
            raise InvalidInput("The scheduled date is in the past.", field="scheduled_for")
    elif body.scheduled_for is not None:
        raise InvalidInput("Only a scheduled answer has a date.", field="scheduled_for")
    if outcome == Outcome.no_action and body.justification is None:
        raise InvalidInput("Say why nothing will be done.", field="justification")
    text = body.text
    if text is None:
        assert template is not None
        _, text = await templates.render_for(
            session, template, report, scheduled_for=body.scheduled_for
        )
        if len(text) > 4000:
            raise InvalidInput(
                "The rendered template is longer than 4,000 characters.", field="template_id"
            )
    return outcome, text, template.id if template else None


async def answer(
    session: AsyncSession,
    actor: Actor,
    report_id: uuid.UUID,
    body: ResponseCreate,
    now: datetime,
    settings: Settings,
    *,
    access_checked: bool = False,
    event_data: dict[str, Any] | None = None,
) -> tuple[ReportResponse, ReportEvent]:
    """The department's answer to the report's current round: published at once, or
    waiting for a moderator when the reason needs answer moderation; returns it with the
    timeline event it wrote (``event_data`` joins that event). ``access_checked``: the
    caller holds a city-wide right already checked (the city's case system through Open311
    ``servicerequestupdates``), not a department's staff."""
    report = await lifecycle.lock(session, report_id)
    if not access_checked:
        await require_power(session, actor, report.department_id)
    transition(report.state, Action.answer)
    if await repository.waiting_response(session, report.id, report.round) is not None:
        raise Conflict(
            "An answer of this round waits for moderation; it is approved or returned first.",
            reason="answer_waiting",
        )
    outcome, text, template_id = await _outcome_and_text(session, report, body, now)
    reason = await session.get(Reason, report.reason_id)
    assert reason is not None
    response = ReportResponse(
        report_id=report.id,
        round_number=report.round,
        author_id=actor.user_id,
        template_id=template_id,
        outcome=outcome,
        scheduled_for=body.scheduled_for,
        justification=body.justification,
        text=text,
        created_at=now,
    )
    session.add(response)
    if reason.needs_answer_moderation:
        event = lifecycle.record_event(
            session,
            report,
            actor,
            "answer_submitted",
            now,
            public=False,
            response_id=str(response.id),
            outcome=outcome.value,
            **(event_data or {}),
        )
    else:
        event = await publish(
            session, report, response, actor, now, settings, event_data=event_data
        )
    await session.flush()
    return response, event


async def publish(
    session: AsyncSession,
    report: Report,
    response: ReportResponse,
    actor: Actor | None,
    now: datetime,
    settings: Settings,
    *,
    event_data: dict[str, Any] | None = None,
) -> ReportEvent:
    """Publish ``response`` through the life cycle (the report is answered, the round
    records when and how fast, the audience is told, the rating window opens), then post the
    state's automatic status note."""
    response.state = ResponseState.published
    response.published_at = now
    department = await session.get(Department, report.department_id)
    assert department is not None
    calendar = await city.load_working_calendar(session, report.department_id)
    until = (now + timedelta(days=settings.rating_window_days)).astimezone(calendar.zone).date()
    event = await lifecycle.publish_answer(
        session,
        report,
        actor,
        now,
        # The published answer's text is public on the timeline (Open311's update
        # description); an answer waiting for moderation is not public yet.
        event_data={
            "response_id": str(response.id),
            "outcome": str(response.outcome),
            "text": response.text,
            **(
                {"scheduled_for": response.scheduled_for.isoformat()}
                if response.scheduled_for
                else {}
            ),
            **(event_data or {}),
        },
        notice_key=str(response.id),
        notice_values={
            "department": department.name,
            "text": response.text,
            **{f"outcome_{language}": outcome_line(response, language) for language in Language},
            "until": day_value(until),
        },
    )
    await templates.on_state_entered(session, report, now, scheduled_for=response.scheduled_for)
    return event


def outcome_line(response: ReportResponse, language: str) -> str:
    lines = OUTCOME_LINES[response.outcome]
    line = lines.get(language) or lines["en"]
    scheduled = response.scheduled_for
    return line.format(
        date=readable_day(scheduled, language, "UTC") if scheduled else "",
        justification=response.justification or "",
    )


# --- reading --------------------------------------------------------------------------------


async def responses_of(
    session: AsyncSession, actor: Actor | None, report_id: uuid.UUID, settings: Settings
) -> list[ResponseView]:
    """A report's responses as the caller may see them: published ones with their ratings;
    for the department, moderators and admins also those waiting or returned."""
    report = await reports.get(session, report_id)
    if report is None:
        raise NotFound("No such report.")
    staff = check_visible(actor, report) >= STAFF
    ratings = await repository.round_ratings(session, report.id)
    views = []
    for response in await repository.responses_of(session, report.id, published_only=not staff):
        rating = None
        if response.state == ResponseState.published:
            row = ratings.get(response.round_number)
            rating = RoundRating(
                reporter_score=row.reporter_score if row else None,
                reporter_resolved=row.resolved if row else None,
                supporters_count=row.supporters if row else 0,
                supporters_average=round(float(row.supporters_avg), 2)
                if row is not None and row.supporters_avg is not None
                else None,
            )
        views.append(response_view(response, settings, staff=staff, rating=rating))
    return views

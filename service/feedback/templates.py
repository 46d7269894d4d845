"""Response templates: per reason, or for any reason of a department, in the city's
languages, with placeholders filled from the report.

A template's texts are checked when it is written: every ``{name}`` must be one of
:data:`PLACEHOLDERS`, without a format spec or conversion, and braces must balance (``{{``
and ``}}`` are literal). Rendering then fills exactly those names with ``str.format_map``,
so a stored template cannot fail at rendering.

A template with ``apply_on_state`` is posted as a public status note when a report of its
reason (or department) enters that state: :func:`on_state_entered`, which every service
that changes a report's state calls after the transition.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from string import Formatter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.catalog.models import Reason
from service.catalog.service import localized_name
from service.city import service as city
from service.city.models import Department
from service.errors import Conflict, InvalidInput, NotFound
from service.feedback import repository
from service.feedback.models import Outcome, ResponseTemplate
from service.feedback.schemas import (
    TemplateCreate,
    TemplateForReport,
    TemplatePublic,
    TemplateTexts,
    TemplateUpdate,
)
from service.readable import readable_day
from service.reports import repository as reports
from service.reports.lifecycle import record_event
from service.reports.models import Report
from service.reports.states import ReportState

PLACEHOLDERS = frozenset(
    {"tracking_code", "address", "due_date", "reason", "department", "scheduled_date"}
)
UNKNOWN = "—"  # a value the report does not have (yet): no address, no scheduled date


# --- placeholders ---------------------------------------------------------------------------


def placeholders_in(text: str, *, where: str = "texts") -> set[str]:
    """The placeholders ``text`` uses; 422 naming the problem when one is not allowed."""
    found: set[str] = set()
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise InvalidInput(
            "A brace is not closed; write {{ and }} for literal braces.", field=where
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise InvalidInput(
                f"Unknown placeholder {{{name}}}; use {', '.join(sorted(PLACEHOLDERS))}.",
                field=where,
                placeholder=name,
            )
        if spec or conversion:
            raise InvalidInput(f"Write {{{name}}} without a format.", field=where)
        found.add(name)
    return found


def _check_texts(texts: TemplateTexts, outcome: Outcome | None) -> dict[str, str]:
    stored: dict[str, str] = {}
    for language, value in texts.model_dump().items():
        if value is None:
            continue
        used = placeholders_in(value, where=f"texts.{language}")
        if "scheduled_date" in used and outcome != Outcome.scheduled:
            raise InvalidInput(
                "{scheduled_date} fits only a template whose outcome is scheduled.",
                field=f"texts.{language}",
            )
        stored[language] = value
    return stored


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with its placeholders filled; ``values`` holds every allowed name."""
    placeholders_in(text)
    return text.format_map(values)


def pick_text(template: ResponseTemplate, language: str) -> str:
    text = template.texts.get(language) or template.texts["et"]
    assert isinstance(text, str)
    return text


async def placeholder_values(
    session: AsyncSession,
    report: Report,
    language: str,
    *,
    scheduled_for: date | None = None,
) -> dict[str, str]:
    """Every placeholder's value for ``report`` in ``language``."""
    row = await reports.view_row(session, report_id=report.id)
    if row is None:
        raise NotFound("No such report.")
    calendar = await city.load_working_calendar(session, report.department_id)
    address = report.address_text or row.building_address or f"{row.lat:.5f}, {row.lon:.5f}"
    due = report.due_at.astimezone(calendar.zone).date() if report.due_at else None
    return {
        "tracking_code": report.tracking_code,
        "address": address,
        "due_date": readable_day(due, language, calendar.zone) if due else UNKNOWN,
        "reason": localized_name(row.reason_names, language),
        "department": row.department_name,
        "scheduled_date": (
            readable_day(scheduled_for, language, calendar.zone) if scheduled_for else UNKNOWN
        ),
    }


async def reporter_language(session: AsyncSession, report: Report) -> str:
    reporter = await session.get(User, report.reporter_id)
    return str(reporter.language) if reporter is not None else "et"


async def render_for(
    session: AsyncSession,
    template: ResponseTemplate,
    report: Report,
    *,
    language: str | None = None,
    scheduled_for: date | None = None,
) -> tuple[str, str]:
    """(language, text): the template rendered for the report, in the reporter's language
    unless ``language`` is given."""
    language = language or await reporter_language(session, report)
    values = await placeholder_values(session, report, language, scheduled_for=scheduled_for)
    return language, render(pick_text(template, language), values)


def _state(template: ResponseTemplate) -> ReportState | None:
    return ReportState(template.apply_on_state) if template.apply_on_state else None


def fits(template: ResponseTemplate, report: Report) -> bool:
    """Whether the template may answer the report: the report's reason, or any reason of the
    report's department."""
    return template.reason_id == report.reason_id or (
        template.reason_id is None and template.department_id == report.department_id
    )


# --- administration -------------------------------------------------------------------------


def template_public(template: ResponseTemplate) -> TemplatePublic:
    used: set[str] = set()
    for text in template.texts.values():
        used |= placeholders_in(text)
    return TemplatePublic(
        id=template.id,
        code=template.code,
        reason_id=template.reason_id,
        department_id=template.department_id,
        outcome=template.outcome,
        texts=template.texts,
        apply_on_state=_state(template),
        active=template.active,
        placeholders=sorted(used),
        created_at=template.created_at,
    )


async def list_templates(
    session: AsyncSession,
    *,
    reason_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> list[ResponseTemplate]:
    return await repository.list_templates(
        session, reason_id=reason_id, department_id=department_id
    )


async def get_template(session: AsyncSession, template_id: uuid.UUID) -> ResponseTemplate:
    template = await repository.get_template(session, template_id)
    if template is None:
        raise NotFound("No such template.")
    return template


async def _check_auto(session: AsyncSession, template: ResponseTemplate) -> None:
    if template.apply_on_state is None or not template.active:
        return
    if await repository.auto_template_taken(
        session,
        reason_id=template.reason_id,
        department_id=template.department_id,
        state=template.apply_on_state,
        other_than=template.id,
    ):
        raise Conflict(
            f"Another active template of this scope is posted on entering "
            f"{template.apply_on_state}; deactivate it first.",
            field="apply_on_state",
        )


async def create_template(session: AsyncSession, body: TemplateCreate) -> ResponseTemplate:
    if body.reason_id is not None and await session.get(Reason, body.reason_id) is None:
        raise InvalidInput("No such reason.", field="reason_id")
    if body.department_id is not None and await session.get(Department, body.department_id) is None:
        raise InvalidInput("No such department.", field="department_id")
    if await repository.template_code_taken(session, body.code):
        raise Conflict(f"A template with code {body.code} exists.", field="code")
    template = ResponseTemplate(
        code=body.code,
        reason_id=body.reason_id,
        department_id=body.department_id,
        outcome=body.outcome,
        texts=_check_texts(body.texts, body.outcome),
        apply_on_state=body.apply_on_state.value if body.apply_on_state else None,
        active=body.active,
    )
    await _check_auto(session, template)
    session.add(template)
    await session.flush()
    return template


async def update_template(
    session: AsyncSession, template_id: uuid.UUID, body: TemplateUpdate
) -> ResponseTemplate:
    template = await get_template(session, template_id)
    changes = body.model_dump(exclude_unset=True)
    if "texts" in changes and body.texts is None:
        raise InvalidInput("A template keeps its texts; change them instead.", field="texts")
    if "active" in changes and body.active is None:
        raise InvalidInput("active is true or false.", field="active")
    outcome = body.outcome if "outcome" in changes else template.outcome
    texts = body.texts or TemplateTexts.model_validate(template.texts)
    stored = _check_texts(texts, outcome)
    template.outcome = outcome
    template.texts = stored
    if "apply_on_state" in changes:
        template.apply_on_state = body.apply_on_state.value if body.apply_on_state else None
    if body.active is not None:
        template.active = body.active
    await _check_auto(session, template)
    await session.flush()
    return template


async def delete_template(session: AsyncSession, template_id: uuid.UUID) -> None:
    """Delete a template; responses written from it keep their text."""
    await session.delete(await get_template(session, template_id))
    await session.flush()


# --- for the department and the life cycle --------------------------------------------------


async def templates_for_report(session: AsyncSession, report: Report) -> list[TemplateForReport]:
    """The active templates that fit a report, rendered for it in the reporter's language."""
    language = await reporter_language(session, report)
    values = await placeholder_values(session, report, language)
    return [
        TemplateForReport(
            id=template.id,
            code=template.code,
            scope="reason" if template.reason_id is not None else "department",
            outcome=template.outcome,
            apply_on_state=_state(template),
            language=language,
            text=render(pick_text(template, language), values),
        )
        for template in await repository.templates_for(
            session, report.reason_id, report.department_id
        )
    ]


async def on_state_entered(
    session: AsyncSession, report: Report, now: datetime, **values: Any
) -> None:
    """Post the status note of the template for the state ``report`` has just entered (the
    reason's template, or else the department's), in the reporter's language. Call it after
    every transition; it does nothing when no template applies. ``scheduled_for`` may be
    given for the ``{scheduled_date}`` of an answer."""
    template = await repository.auto_template(
        session, report.reason_id, report.department_id, str(report.state)
    )
    if template is None:
        return
    language, text = await render_for(
        session, template, report, scheduled_for=values.get("scheduled_for")
    )
    record_event(
        session,
        report,
        None,
        "status_note",
        now,
        public=True,
        text=text,
        language=language,
        template=template.code,
        automatic=True,
    )

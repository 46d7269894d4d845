"""The reporter's own changes: edit until acceptance, send a draft, withdraw, and disown a
report filed for them. Every change a moderator or the department acts on raises the
report's ``version``; moderation takes the version the moderator saw and refuses with 412
when the report changed since, so no edit slips past moderation. Counters (supporters,
subscribers) do not change the version.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import email_tokens
from service.auth.actor import Actor
from service.auth.models import EmailToken, EmailTokenPurpose
from service.calendar import TimeUnit, WorkingCalendar, add_working_time
from service.catalog.attributes import validate_attribute_values
from service.catalog.models import Reason
from service.city import service as city
from service.errors import AppError, Conflict, InvalidInput, NotFound
from service.reports import repository
from service.reports.lifecycle.timeline import apply_transition, lock, record_event, touch
from service.reports.models import Report
from service.reports.schemas import ReportUpdate
from service.reports.states import EDITABLE_STATES, Action, transition


def mark_submitted(
    report: Report, reason: Reason, calendar: WorkingCalendar, now: datetime
) -> None:
    """Start the moderation clock."""
    report.submitted_at = now
    report.moderation_due_at = add_working_time(
        now, reason.moderation_sla_hours, TimeUnit.working_hours, calendar
    )


async def own_report(session: AsyncSession, actor: Actor, report_id: uuid.UUID) -> Report:
    """The caller's own report, locked; anyone else's answers 404 as if it did not exist."""
    report = await lock(session, report_id)
    if report.reporter_id != actor.user_id:
        raise NotFound("No such report.")
    return report


def not_editable(report: Report, what: str = "changed") -> AppError:
    return Conflict(
        f"A report that is {report.state} can no longer be {what}.",
        current_state=str(report.state),
    )


async def update_report(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, body: ReportUpdate, now: datetime
) -> Report:
    """The reporter's edit, until acceptance; consent to publishing the text in the open data
    may be given or withdrawn whatever the state."""
    report = await own_report(session, actor, report_id)
    changes = body.model_dump(exclude_unset=True)  # nulls are refused by the schema
    if set(changes) - {"text_in_open_data"} and report.state not in EDITABLE_STATES:
        raise not_editable(report)
    if "attributes" in changes:
        reason = await session.get(Reason, report.reason_id)
        assert reason is not None
        changes["attributes"] = validate_attribute_values(reason.attributes, changes["attributes"])
    for name, value in changes.items():
        setattr(report, name, value)
    touch(report, now)
    record_event(session, report, actor, "edited", now, public=False, fields=sorted(changes))
    await session.flush()
    return report


async def submit_draft(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> Report:
    """Send a draft (one that waited for its photo) to moderation."""
    report = await own_report(session, actor, report_id)
    await send_draft(session, actor, report, now)
    return report


async def send_draft(session: AsyncSession, actor: Actor, report: Report, now: datetime) -> None:
    """Send a draft the caller may send (its reporter's, or one an Open311 client has just
    filed with its photo) to moderation; 422 while its reason's photo is missing."""
    reason = await session.get(Reason, report.reason_id)
    assert reason is not None
    transition(report.state, Action.submit)
    if reason.requires_photo and report.photo_count == 0:
        raise InvalidInput(
            "This reason needs a photo before the report can be sent.", field="photos"
        )
    apply_transition(session, report, Action.submit, actor, now)
    mark_submitted(report, reason, await city.load_working_calendar(session), now)
    await session.flush()


async def withdraw(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> Report:
    report = await own_report(session, actor, report_id)
    apply_transition(session, report, Action.withdraw, actor, now)
    await session.flush()
    return report


async def _disown_token(
    session: AsyncSession, report_id: uuid.UUID, secret: str, now: datetime
) -> tuple[Report, EmailToken]:
    """The report a "filed for you" link names and its unused token, if the token was sent
    to the resident the report was filed for; 404 for anything else."""
    token = await email_tokens.redeemable(session, secret, EmailTokenPurpose.disown_report, now)
    report = await repository.get(session, report_id)
    if token is None or report is None or report.reporter_id != token.user_id:
        raise NotFound("This link is not valid, was used, or has expired.")
    return report, token


async def disownable(
    session: AsyncSession, report_id: uuid.UUID, secret: str, now: datetime
) -> Report:
    """The report a "filed for you" link may withdraw (nothing changes)."""
    report, _ = await _disown_token(session, report_id, secret, now)
    return report


async def disown(session: AsyncSession, report_id: uuid.UUID, secret: str, now: datetime) -> Report:
    """The resident a report was filed for says it is not theirs: it is withdrawn. The
    emailed one-time link is the credential; it works once."""
    report, token = await _disown_token(session, report_id, secret, now)
    report = await lock(session, report.id)
    apply_transition(session, report, Action.withdraw, None, now, disowned=True)
    email_tokens.spend(token, now)
    await session.flush()
    return report

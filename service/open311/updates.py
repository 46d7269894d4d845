"""mySociety's ``servicerequestupdates`` extension, both ways.

``GET servicerequestupdates`` lists the public timeline of public reports in a window (the
same 90 days and 1,000 items as ``GET requests``), oldest first: each public event is an
update whose ``status`` is the state the report was in after it, in the extension's
vocabulary (``service.open311.schemas``), and whose ``description`` is the text it carried
(a status note, an answer), if any.

``POST servicerequestupdates`` lets the city's case system (an API key with
``open311:updates``) act on a public report as its department would, through the report
life cycle (``service.reports.lifecycle`` and its transition table):

==================================  =====================================================
status sent                         what happens
==================================  =====================================================
OPEN                                a public status note (``description`` required)
IN_PROGRESS, INVESTIGATING,         work starts (accepted or reopened → in_progress); a
ACTION_SCHEDULED                    report already in progress gets a status note
FIXED, NOT_COUNCILS_RESPONSIBILITY, the department's answer with that outcome (fixed,
NO_FURTHER_ACTION                   not_ours, no_action) and ``description`` as its text:
                                    an official response, published at once, or waiting
                                    for answer moderation where the reason asks for it
CLOSED                              closes a report whose question went unanswered; an
                                    answered report is refused while its reporter may
                                    still rate (and reopen) it: it closes when the rating
                                    window ends, through the same life cycle as any other
DUPLICATE, INTERNAL_REFERRAL        refused (400): merging names the original and a
                                    transfer the department, which this extension cannot
==================================  =====================================================

A transition the table does not allow from the report's state answers 400 naming that
state. A ``description`` rides along on any change as its public text, except on a reason
that moderates answers: there only an answer carries text (it waits for moderation), and a
note or change with a description is refused (400), as the queue refuses public status notes
on such reasons. ``update_id`` (the
case system's own id) makes a repeated post answer the first answer again, without a
second update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.config import Settings
from service.feedback import responses
from service.feedback.models import Outcome
from service.feedback.schemas import ResponseCreate
from service.open311 import repository
from service.open311.formats import Open311Error, Open311NotFound, w3c
from service.open311.schemas import RequestUpdate, UpdateCreated, UpdateStatus, update_status
from service.reports import lifecycle
from service.reports.models import Report, ReportEvent
from service.reports.states import TRANSITIONS, Action, ReportState

U = UpdateStatus
ACTIONS: dict[UpdateStatus, Action | None] = {
    U.OPEN: None,
    U.IN_PROGRESS: Action.start_work,
    U.INVESTIGATING: Action.start_work,
    U.ACTION_SCHEDULED: Action.start_work,
    U.FIXED: Action.answer,
    U.NOT_COUNCILS_RESPONSIBILITY: Action.answer,
    U.NO_FURTHER_ACTION: Action.answer,
    U.CLOSED: Action.close,
}
OUTCOMES = {
    U.FIXED: Outcome.fixed,
    U.NOT_COUNCILS_RESPONSIBILITY: Outcome.not_ours,
    U.NO_FURTHER_ACTION: Outcome.no_action,
}
TARGETS = {rule.action: rule.target for rule in TRANSITIONS}
REFUSED = {
    U.DUPLICATE: "DUPLICATE is not taken here: moderators merge a report into its original "
    "through the native API.",
    U.INTERNAL_REFERRAL: "INTERNAL_REFERRAL is not taken here: a transfer names the "
    "department, through the department queue.",
}


async def list_updates(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    offset: int,
    limit: int,
    zone: Any,
) -> list[dict[str, Any]]:
    """Public updates of public reports between ``start`` and ``end``, oldest first."""
    rows = await repository.updates(session, start, end, offset, limit)
    found = []
    for row in rows:
        event: ReportEvent = row.ReportEvent
        updated = w3c(event.at, zone)
        assert updated is not None
        text = event.data.get("text")
        found.append(
            RequestUpdate(
                update_id=str(event.id),
                service_request_id=row.tracking_code,
                status=update_status(row.state, row.outcome),
                updated_datetime=updated,
                description=text if isinstance(text, str) else "",
                media_url=None,
            ).model_dump(mode="json")
        )
    return found


@dataclass(frozen=True)
class NewUpdate:
    """The parameters of ``POST servicerequestupdates``."""

    service_request_id: str | None = None
    status: str | None = None
    description: str | None = None
    update_id: str | None = None
    updated_datetime: datetime | None = None


async def _answer(
    session: AsyncSession,
    actor: Actor,
    report: Report,
    outcome: Outcome,
    text: str,
    now: datetime,
    settings: Settings,
    **data: Any,
) -> ReportEvent:
    """The department's answer of the current round, through the one answering service
    (published at once, or waiting for answer moderation where the reason wants it); the
    event it wrote carries the case system's update."""
    body = ResponseCreate(
        outcome=outcome,
        text=text,
        justification=text if outcome == Outcome.no_action else None,
    )
    _, event = await responses.answer(
        session, actor, report.id, body, now, settings, access_checked=True, event_data=data
    )
    return event


async def post_update(
    session: AsyncSession, actor: Actor, new: NewUpdate, now: datetime, settings: Settings
) -> list[dict[str, Any]]:
    """Apply one update of the city's case system to a public report (see the module's
    table); the answer names the update's id."""
    if new.service_request_id is None:
        raise Open311Error("service_request_id: required.")
    try:
        status = UpdateStatus((new.status or "").upper())
    except ValueError:
        raise Open311Error(f"status: one of {', '.join(s.value for s in UpdateStatus)}.") from None
    if status in REFUSED:
        raise Open311Error(REFUSED[status])
    report_id = await repository.report_for_update(session, new.service_request_id)
    if report_id is None:
        raise Open311NotFound(f"service_request_id {new.service_request_id} was not found.")
    report = await lifecycle.lock(session, report_id)
    data: dict[str, Any] = {"source": "open311"}
    if new.update_id is not None:
        data["external_update_id"] = new.update_id
    if new.updated_datetime is not None:
        data["external_updated_at"] = new.updated_datetime.isoformat()
    if new.description is not None:
        data["text"] = new.description
    action = ACTIONS[status]
    if new.description is not None and action is not Action.answer:
        # A note or a change of state puts the description on the public timeline: on a
        # reason that moderates answers, the case system answers instead.
        await lifecycle.refuse_unmoderated_text(session, report)
    event: ReportEvent
    if action is Action.answer:
        if new.description is None:
            raise Open311Error("description: the answer's text is required.")
        extra = {k: v for k, v in data.items() if k != "text"}
        event = await _answer(
            session, actor, report, OUTCOMES[status], new.description, now, settings, **extra
        )
    elif action is None or TARGETS[action] == report.state:
        if new.description is None:
            raise Open311Error("description: required when the status does not change.")
        event = await lifecycle.add_note(session, report, actor, now, public=True, **data)
    elif action is Action.close:
        if report.state == ReportState.answered:
            raise Open311Error(
                "status: an answered report closes when its reporter says it is solved or "
                "when the rating window ends; until then the reporter may reopen it."
            )
        event = await lifecycle.close(session, report, actor, now, **data)
    else:
        event = lifecycle.apply_transition(session, report, action, actor, now, **data)
    await session.flush()
    return [UpdateCreated(update_id=str(event.id)).model_dump(mode="json")]

"""The report row and its timeline: locking, versions, transitions and events.

Every event is written in the order the code writes it, and the database numbers it
(``report_event.seq``) at insert, so the events of one transaction (which share one
instant) keep their causal order: a rating before the reopen it causes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import PreconditionFailed
from service.reports import repository
from service.reports.access import actor_role
from service.reports.models import Report, ReportEvent
from service.reports.states import Action, transition


async def lock(session: AsyncSession, report_id: uuid.UUID) -> Report:
    """The report, locked (``FOR UPDATE``): the first lock of every change (see the
    package's lock order); 404 when there is none."""
    return await repository.lock(session, report_id)


def touch(report: Report, now: datetime) -> None:
    """Mark a change the department or a moderator must see: a new version."""
    report.updated_at = now
    report.version += 1


def check_version(report: Report, seen: int | None) -> None:
    """412 when the caller saw another version than the current one (None: not checked)."""
    if seen is not None and seen != report.version:
        raise PreconditionFailed(
            f"The report changed since you read it (you saw version {seen}, it is now "
            f"{report.version}); read it again.",
            current_version=report.version,
        )


def new_event(
    report: Report,
    actor: Actor | None,
    event_type: str,
    now: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    public: bool = True,
    **data: Any,
) -> ReportEvent:
    """A timeline event of ``report``, not yet stored."""
    return ReportEvent(
        id=uuid.uuid4(),
        report_id=report.id,
        at=now,
        actor_id=actor.user_id if actor else None,
        actor_role=actor_role(actor),
        type=event_type,
        from_state=from_state,
        to_state=to_state,
        public=public,
        data=data,
    )


def record_event(
    session: AsyncSession,
    report: Report,
    actor: Actor | None,
    event_type: str,
    now: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    public: bool = True,
    **data: Any,
) -> ReportEvent:
    """Append one timeline event (``public``: shown to everyone who may see the report).
    Events are inserted in the order they were recorded (the session keeps it), which is
    the order ``seq`` gives them."""
    event = new_event(
        report,
        actor,
        event_type,
        now,
        from_state=from_state,
        to_state=to_state,
        public=public,
        **data,
    )
    session.add(event)
    return event


def apply_transition(
    session: AsyncSession,
    report: Report,
    action: Action,
    actor: Actor | None,
    now: datetime,
    **data: Any,
) -> ReportEvent:
    """Move ``report`` by ``action`` (409 when illegal) and write the timeline event."""
    rule = transition(report.state, action)
    before = report.state
    report.state = rule.target
    touch(report, now)
    return record_event(
        session,
        report,
        actor,
        action.value,
        now,
        from_state=str(before),
        to_state=str(rule.target),
        public=rule.public,
        **data,
    )


@dataclass(frozen=True)
class SystemEvent:
    """A timeline event the system writes for many reports at once (the SLA engine)."""

    report_id: uuid.UUID
    type: str
    at: datetime
    public: bool
    data: dict[str, Any] = field(default_factory=dict)


async def add_system_events(session: AsyncSession, events: Sequence[SystemEvent]) -> None:
    """Timeline events of many reports in one statement, numbered in the order given. The
    caller holds the reports' locks (the SLA engine claims them with their timers)."""
    if not events:
        return
    await session.flush()  # events recorded before these come before them
    await session.execute(
        text(
            "INSERT INTO report_event (id, report_id, at, actor_id, actor_role, type, "
            "from_state, to_state, public, data) "
            "SELECT gen_random_uuid(), e.report_id, e.at, NULL, :role, e.type, NULL, NULL, "
            "e.public, CAST(e.data AS jsonb) "
            "FROM unnest(CAST(:reports AS uuid[]), CAST(:ats AS timestamptz[]), "
            "CAST(:types AS text[]), CAST(:publics AS boolean[]), CAST(:datas AS text[])) "
            "WITH ORDINALITY AS e (report_id, at, type, public, data, n) ORDER BY e.n"
        ),
        {
            "role": actor_role(None),
            "reports": [event.report_id for event in events],
            "ats": [event.at for event in events],
            "types": [event.type for event in events],
            "publics": [event.public for event in events],
            "datas": [json.dumps(event.data) for event in events],
        },
    )

"""Who is told of a report's changes, and how: every notice goes through
``notifications.dispatch.notify`` (event, inbox, email, webhooks, preferences, legal
notices), keyed so that a repeated call tells nobody twice.

| notice | who is told |
|---|---|
| ``report_accepted`` / ``report_rejected`` / ``report_duplicate`` | the reporter |
| ``clarification_requested`` | the reporter (legal: the report may close without an answer) |
| ``clarification_answered`` | the assignee, or else the department's staff |
| ``answer_published`` | the reporter (with the invitation to rate), supporters, subscribers |
| ``answer_returned`` | the answer's author |
| ``report_reopened`` | the assignee, or else the department's staff, and its supervisors |
| ``report_referred`` | the supervisors of the department, or of the nearest one above |
| ``report_transferred`` | the staff and supervisors of the department it moved to |
| ``transfer_requested`` / ``transfer_decided`` | the target department / the requester |
| ``extension_requested`` / ``extension_decided`` | the supervisors / the requester |
| ``sla_reminder`` / ``sla_breached`` / ``sla_escalated`` | see ``service.sla.engine`` |
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.notifications.dispatch import Notice, notify
from service.reports.lifecycle import repository
from service.reports.models import Report


async def department_people(session: AsyncSession, report: Report) -> list[User]:
    """Who works the report: its assignee, else the department's staff."""
    if report.assignee_id is not None:
        assignee = await session.get(User, report.assignee_id)
        if assignee is not None and assignee.disabled_at is None:
            return [assignee]
    return await department_staff(session, report.department_id)


async def department_staff(session: AsyncSession, department_id: uuid.UUID) -> list[User]:
    return await repository.holders(session, (Role.staff,), department_id)


async def department_team(session: AsyncSession, department_id: uuid.UUID) -> list[User]:
    """The department's staff and its supervisors (or those of the nearest one above)."""
    return [
        *await department_staff(session, department_id),
        *await department_heads(session, department_id),
    ]


async def department_heads(session: AsyncSession, department_id: uuid.UUID) -> list[User]:
    return await repository.nearest_supervisors(session, department_id)


async def tell(
    session: AsyncSession,
    report: Report,
    event_type: str,
    key: str,
    people: Iterable[User],
    *,
    now: datetime,
    template: str | None = None,
    template_for: dict[uuid.UUID, str] | None = None,
    **values: object,
) -> None:
    """Tell ``people`` of ``event_type`` about ``report``; ``key`` makes the event unique
    (a repeat tells nobody again). The report's tracking code is always a value."""
    await notify(
        session,
        Notice(
            event_type,
            f"{event_type}:{report.id}:{key}",
            template or event_type,
            {"code": report.tracking_code, **values},
            report.id,
            template_for=template_for or {},
        ),
        people,
        now=now,
    )


async def tell_user(
    session: AsyncSession,
    report: Report,
    event_type: str,
    key: str,
    user_id: uuid.UUID | None,
    *,
    now: datetime,
    template: str | None = None,
    **values: object,
) -> None:
    """:func:`tell` one person by id (the staff member who asked, an answer's author);
    nobody when the id is None or the account is gone."""
    person = await session.get(User, user_id) if user_id is not None else None
    await tell(
        session,
        report,
        event_type,
        key,
        [person] if person is not None else [],
        now=now,
        template=template,
        template_for=None,
        **values,
    )

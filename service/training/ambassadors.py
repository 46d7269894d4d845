"""What an ambassador may do beyond a resident, for the buildings they are ambassador of
(``Actor.buildings``): see the open reports about them, confirm a report ("confirmed by
your building's ambassador", once each), and file for a neighbour (``service.reports.
filing``, the helper path). They see reports as the public does: never a reporter's
personal data."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.db import table_of
from service.errors import Conflict, Forbidden, NotFound
from service.reports import lifecycle, views
from service.reports.schemas import ReportView
from service.reports.states import OPEN_STATES, is_public
from service.training import awards_repository
from service.training.models import Ambassador, ReportConfirmation
from service.training.schemas import Confirmation


async def confirm(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, now: datetime
) -> Confirmation:
    """Confirm an open public report about one of the caller's buildings; 409 the second
    time."""
    report = await lifecycle.lock(session, report_id)
    if not is_public(report.state, report.accepted_at):
        raise NotFound("No such report.")
    if not actor.ambassador_of(report.building_id):
        raise Forbidden(
            "Only an ambassador of the report's building confirms it.", reason="not_your_building"
        )
    if report.state not in OPEN_STATES:
        raise Conflict(
            f"The report is {report.state}; only open reports are confirmed.", state=report.state
        )
    assert report.building_id is not None
    inserted = await session.execute(
        insert(table_of(ReportConfirmation))
        .values(
            report_id=report.id,
            user_id=actor.user_id,
            building_id=report.building_id,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table_of(ReportConfirmation).c.report_id)
    )
    if inserted.first() is None:
        raise Conflict("You confirmed this report already.", reason="already_confirmed")
    lifecycle.confirm_by_ambassador(session, report, actor, now)
    await session.flush()
    return Confirmation(
        report_id=report.id,
        ambassador_confirmations=report.ambassador_confirmations,
        confirmed_at=now,
    )


async def building_reports(
    session: AsyncSession,
    actor: Actor,
    *,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReportView], str | None]:
    """Open reports about the caller's buildings, newest first, as the public sees them."""
    return await views.list_reports(
        session,
        actor,
        views.ReportFilters(states=sorted(OPEN_STATES), building_ids=sorted(actor.buildings)),
        now=now,
        language=str(actor.language),
        limit=limit,
        cursor=cursor,
    )


async def set_public(
    session: AsyncSession, actor: Actor, ambassador_id: uuid.UUID, public: bool
) -> Ambassador:
    """The ambassador's consent to be named on their building's public page."""
    ambassador = await awards_repository.ambassador(session, ambassador_id, lock=True)
    if ambassador is None or ambassador.user_id != actor.user_id:
        raise NotFound("No such ambassadorship.")
    ambassador.public = public
    return ambassador

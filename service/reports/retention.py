"""Retention: reporters' contact data leaves closed reports after a configurable period.

The public never sees a closed report's reporter (``reports.access``); this removes the
internal copies ``MEIELINN_CONTACT_RETENTION_DAYS`` after the report reached a final state
(closed, rejected, withdrawn or merged as a duplicate; its last change counts):

* the contact details an Open311 client sent with the request (name, phone, device id) are
  emptied in the timeline;
* a contact reporter — an address a report was filed for, on behalf or through Open311,
  that never became an account — is erased like an account (``service.privacy.erasure``) once
  none of their reports still needs it. A resident with an account keeps their reports in
  "my reports": that is their own data, which they may erase whenever they like.

Each run works in batches, each its own transaction, locking with ``SKIP LOCKED`` so several
workers can share the work, until nothing is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.auth.own_data import person_of
from service.config import Settings
from service.privacy.erasure import erase_person
from service.privacy.registry import Erasure
from service.reports.models import Report
from service.reports.personal_data import remove_contact_details
from service.reports.states import ReportState

FINAL_STATES = (
    ReportState.closed,
    ReportState.rejected,
    ReportState.withdrawn,
    ReportState.duplicate,
)


@dataclass(frozen=True)
class RetentionBatch:
    reports: int
    contacts_erased: int


async def remove_expired_contact_data(
    session: AsyncSession, settings: Settings, now: datetime, batch_size: int = 500
) -> RetentionBatch:
    """One batch: the contact data of up to ``batch_size`` reports past the period removed,
    and the contact reporters left with no report that needs them erased."""
    cutoff = now - timedelta(days=settings.contact_retention_days)
    due = list(
        await session.execute(
            select(col(Report.id), col(Report.reporter_id))
            .where(col(Report.contact_removed_at).is_(None))
            .where(col(Report.state).in_(FINAL_STATES))
            .where(col(Report.updated_at) < cutoff)
            .order_by(col(Report.updated_at))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return RetentionBatch(0, 0)
    erasure = Erasure(now=now, settings=settings)
    await remove_contact_details(session, [row[0] for row in due], erasure)
    still_needed = exists().where(
        (col(Report.reporter_id) == User.id) & col(Report.contact_removed_at).is_(None)
    )
    contacts = list(
        (
            await session.execute(
                select(User)
                .where(col(User.id).in_({row[1] for row in due}))
                .where(col(User.contact_only))
                .where(col(User.erased_at).is_(None))
                .where(~still_needed)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for user in contacts:
        await erase_person(session, person_of(user), erasure)
    return RetentionBatch(len(due), len(contacts))

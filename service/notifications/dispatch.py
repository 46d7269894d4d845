"""One way to tell people that something happened: :func:`notify`.

Callers (the SLA engine, answers, moderation) describe the event once — its type, a key that
is unique for the event, the template and its values — and name the recipients; this module
decides the channels each recipient gets it on and records every delivery, so nothing is sent
twice for the same event, recipient and channel:

* the event is one ``notification_event`` row per ``event_key``;
* each (event, recipient, channel) is one ``notification_delivery`` row, under a unique
  constraint: a repeated (or concurrent) ``notify`` of the same event finds its rows and
  sends nothing again;
* ``email`` goes through ``email_message`` and the outbox (``notifications.service``);
  ``inbox`` is the delivery row itself, read through ``/v1/me/notifications``; ``webhook``
  is an outbox job per subscribed endpoint (``notifications.webhooks.delivery``);
* a person's preferences turn ``email`` or ``inbox`` off per event type (the delivery is
  logged as ``skipped``), except for legal notices, which always go out.

Everything is written in the caller's transaction: if it rolls back, nothing was told.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.db import utcnow
from service.notifications import repository
from service.notifications.events import is_legal
from service.notifications.models import PERSONAL_CHANNELS, Channel, DeliveryStatus
from service.notifications.service import email_user
from service.outbox import service as outbox

DELIVER_WEBHOOK_JOB = "deliver_webhook"
TURNED_OFF = "turned off in the recipient's notification preferences"


@dataclass(frozen=True)
class Notice:
    """What happened. ``event_key`` is unique per event (e.g. ``breach:<report>:<round>:1``);
    ``legal`` notices (an answer published) cannot be turned off by preferences.

    ``values`` fill the template's placeholders (``notifications.templates``); they are kept
    as JSON, so pass times already formatted for people to read."""

    event_type: str
    event_key: str
    template: str
    values: dict[str, object] = field(default_factory=dict)
    report_id: uuid.UUID | None = None
    legal: bool = False


async def notify(
    session: AsyncSession,
    notice: Notice,
    recipients: Iterable[User],
    *,
    now: datetime | None = None,
) -> int:
    """Tell ``recipients`` (and the webhooks subscribed to the event type) about ``notice``,
    once per recipient and channel however often it is called for the same ``event_key``.

    Disabled accounts are left out; contact-only addresses (no account) get email only.
    Returns how many people got at least one new delivery (0 on a repeated call)."""
    when = now or utcnow()
    people = _distinct_active(recipients)
    values: dict[str, Any] = to_jsonable_python(notice.values, fallback=str)
    legal = notice.legal or is_legal(notice.event_type)
    event_id = await repository.record_event(
        session,
        {
            "event_key": notice.event_key,
            "event_type": notice.event_type,
            "template": notice.template,
            "values": values,
            "report_id": notice.report_id,
            "legal": legal,
            "created_at": when,
        },
    )
    turned_off = (
        set() if legal else await repository.turned_off(session, notice.event_type, list(people))
    )
    rows = [
        _delivery(
            event_id, channel, when, user_id=person.id, off=(person.id, channel) in turned_off
        )
        for person in people.values()
        for channel in PERSONAL_CHANNELS
        if channel is Channel.email or not person.contact_only
    ]
    rows += [
        _delivery(event_id, Channel.webhook, when, webhook_id=webhook_id)
        for webhook_id in await repository.subscribed_webhooks(session, notice.event_type)
    ]
    reached: set[uuid.UUID] = set()
    for row in await repository.insert_deliveries(session, rows):
        if row.status == DeliveryStatus.skipped:
            continue
        if row.channel == Channel.email:
            message = await email_user(session, people[row.user_id], notice.template, **values)
            await repository.link_email(session, row.id, message.id)
        elif row.channel == Channel.webhook:
            await outbox.add_job(session, DELIVER_WEBHOOK_JOB, str(row.id), str(row.id))
        if row.user_id is not None:
            reached.add(row.user_id)
    return len(reached)


def _distinct_active(recipients: Iterable[User]) -> dict[uuid.UUID, User]:
    people: dict[uuid.UUID, User] = {}
    for user in recipients:
        if user.disabled_at is None:
            people.setdefault(user.id, user)
    return people


def _delivery(
    event_id: uuid.UUID,
    channel: Channel,
    now: datetime,
    *,
    user_id: uuid.UUID | None = None,
    webhook_id: uuid.UUID | None = None,
    off: bool = False,
) -> dict[str, Any]:
    # The inbox entry is delivered by being written; email and webhooks wait for a worker.
    if off:
        status = DeliveryStatus.skipped
    elif channel is Channel.inbox:
        status = DeliveryStatus.sent
    else:
        status = DeliveryStatus.pending
    return {
        "id": uuid.uuid4(),
        "event_id": event_id,
        "channel": channel,
        "user_id": user_id,
        "webhook_id": webhook_id,
        "status": status,
        "attempts": 0,
        "last_error": TURNED_OFF if off else None,
        "created_at": now,
        "updated_at": now,
        "sent_at": now if status is DeliveryStatus.sent else None,
    }

"""One way to tell people that something happened: :func:`notify`.

Callers (the SLA engine, answers, moderation) describe the event once — its type, a key that
is unique for the event, the template and its values — and name the recipients; this module
decides the channels each recipient gets it on and records every delivery, so nothing is sent
twice for the same event, recipient and channel:

* the event is one ``notification_event`` row per ``event_key``;
* each (event, recipient, channel) is one ``notification_delivery`` row, under a unique
  constraint: a repeated (or concurrent) ``notify`` of the same event finds its rows and
  sends nothing again;
* ``email`` goes through ``email_message`` and the outbox (``mail.service`` queues it,
  ``notifications.service`` delivers it);
  ``inbox`` is the delivery row itself, read through ``/v1/me/notifications``; ``webhook``
  is an outbox job per subscribed endpoint (``notifications.webhooks.delivery``);
* a person's preferences turn ``email`` or ``inbox`` off per event type (the delivery is
  logged as ``skipped``), except for legal notices, which always go out.

Everything is written in the caller's transaction: if it rolls back, nothing was told.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.mail.models import DeliveryStatus
from service.mail.service import queue_notification_emails
from service.notifications import repository
from service.notifications.events import EVENT_TYPES, is_legal
from service.notifications.models import PERSONAL_CHANNELS, Channel
from service.outbox import service as outbox

DELIVER_WEBHOOK_JOB = "deliver_webhook"
TURNED_OFF = "turned off in the recipient's notification preferences"


@dataclass(frozen=True)
class Notice:
    """What happened. ``event_key`` is unique per event (e.g. ``breach:<report>:<round>:1``);
    ``legal`` notices (an answer published) cannot be turned off by preferences.

    ``values`` fill the template's placeholders (``mail.templates``); they are kept
    as JSON, and rendered per recipient, so pass times and days as readable values
    (``service.readable.time_value``/``day_value``), which each reader reads in their
    language and the city's time zone."""

    event_type: str
    event_key: str
    template: str
    values: dict[str, object] = field(default_factory=dict)
    report_id: uuid.UUID | None = None
    legal: bool = False
    # The template a recipient reads instead of ``template`` (by user id): the reporter's
    # answer notice invites a rating, a follower's does not. One event all the same: one
    # webhook delivery, one inbox entry each.
    template_for: dict[uuid.UUID, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = EVENT_TYPES.get(self.event_type)
        if declared is None:
            raise ValueError(f"Undeclared notification event type {self.event_type!r}.")
        for template in (self.template, *self.template_for.values()):
            if template not in declared.template_names():
                raise ValueError(f"{self.event_type} does not declare the template {template!r}.")

    def template_of(self, user_id: uuid.UUID) -> str:
        return self.template_for.get(user_id, self.template)


async def notify(
    session: AsyncSession,
    notice: Notice,
    recipients: Iterable[User],
    *,
    now: datetime,
) -> int:
    """Tell ``recipients`` (and the webhooks subscribed to the event type) about ``notice``,
    once per recipient and channel however often it is called for the same ``event_key``.

    Disabled accounts are left out; contact-only addresses (no account) get email only.
    Returns how many people got at least one new delivery (0 on a repeated call)."""
    return await notify_many(session, [(notice, recipients)], now=now)


async def notify_many(
    session: AsyncSession,
    notices: Sequence[tuple[Notice, Iterable[User]]],
    *,
    now: datetime,
) -> int:
    """:func:`notify` for many notices at once, in a fixed number of statements whatever
    their number (events, preferences, webhooks, deliveries, emails and their jobs: one
    or a few multi-row statements each). Returns how many (notice, person) pairs got at
    least one new delivery."""
    await session.flush()  # the caller's pending changes (a person's language) count
    # The first notice of each event key counts; a repeat in the same call adds nothing.
    items: dict[str, tuple[Notice, dict[uuid.UUID, User], dict[str, Any], bool]] = {}
    for notice, recipients in notices:
        if notice.event_key not in items:
            values: dict[str, Any] = to_jsonable_python(notice.values, fallback=str)
            legal = notice.legal or is_legal(notice.event_type)
            items[notice.event_key] = (notice, _distinct_active(recipients), values, legal)
    if not items:
        return 0
    event_ids = await repository.record_events(
        session,
        [
            {
                "event_key": key,
                "event_type": notice.event_type,
                "template": notice.template,
                "values": values,
                "report_id": notice.report_id,
                "legal": legal,
                "created_at": now,
            }
            for key, (notice, _, values, legal) in items.items()
        ],
    )
    everyone = {user_id for _, people, _, _ in items.values() for user_id in people}
    event_types = {notice.event_type for notice, _, _, _ in items.values()}
    turned_off = await repository.turned_off_many(session, event_types, list(everyone))
    webhooks = await repository.subscribed_webhooks_many(session, event_types)
    rows: list[dict[str, Any]] = []
    # Per delivery row: what an email of it needs (the person, the template, the values).
    wanted: dict[tuple[uuid.UUID, uuid.UUID | None], tuple[Notice, User, dict[str, Any]]] = {}
    for key, (notice, people, values, legal) in items.items():
        event_id = event_ids[key]
        for person in people.values():
            wanted[(event_id, person.id)] = (notice, person, values)
            for channel in PERSONAL_CHANNELS:
                if channel is Channel.inbox and person.contact_only:
                    continue
                off = not legal and (person.id, notice.event_type, channel) in turned_off
                rows.append(
                    _delivery(
                        event_id,
                        channel,
                        now,
                        user_id=person.id,
                        off=off,
                        template=notice.template_for.get(person.id),
                    )
                )
        rows += [
            _delivery(event_id, Channel.webhook, now, webhook_id=webhook_id)
            for webhook_id in webhooks.get(notice.event_type, [])
        ]
    reached: set[tuple[uuid.UUID, uuid.UUID]] = set()
    emails: list[tuple[uuid.UUID, User, str, dict[str, object]]] = []
    webhook_jobs: list[tuple[str, list[Any]]] = []
    for row in await repository.insert_deliveries(session, rows):
        if row.status == DeliveryStatus.skipped:
            continue
        if row.channel == Channel.email:
            notice, person, values = wanted[(row.event_id, row.user_id)]
            emails.append((row.id, person, notice.template_of(person.id), values))
        elif row.channel == Channel.webhook:
            webhook_jobs.append((str(row.id), [str(row.id)]))
        if row.user_id is not None:
            reached.add((row.event_id, row.user_id))
    # The message's id is the delivery's: one message per (event, recipient, channel).
    await queue_notification_emails(session, emails, now)
    await repository.link_emails(session, [delivery_id for delivery_id, *_ in emails])
    await outbox.add_jobs(session, DELIVER_WEBHOOK_JOB, webhook_jobs)
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
    template: str | None = None,
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
        "template": template,
        "status": status,
        "attempts": 0,
        "last_error": TURNED_OFF if off else None,
        "created_at": now,
        "updated_at": now,
        "sent_at": now if status is DeliveryStatus.sent else None,
    }

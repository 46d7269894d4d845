"""Delivering email, in a worker, through the outbox; messages are queued by
``service.mail.service``.

One-time codes are never at rest in clear. A message that carries one (email verification,
password reset) is stored with placeholders where the code and its link go, and with the id
of the ``email_token`` row it is for. At delivery the worker mints a fresh secret, stores
only its SHA-256 on that row (``auth.repository.rearm_email_token``), fills the placeholders
in memory and hands the message to SMTP. The secret thus exists in the worker's memory and
in the recipient's mailbox, nowhere else: not in ``email_message``, not in the outbox job
(which carries the message id only), not in Redis. A retried delivery mints another secret;
one that could not be armed (used, expired) gives the message up.

Messages are plain text with ``Content-Transfer-Encoding: 8bit`` (when the SMTP server takes
8BITMIME, as every current one does), so a printed message reads as written and a copied
link or code is intact: quoted-printable broke ``?token=`` into ``?token=3D``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from urllib.parse import urlencode

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository as auth_repository
from service.auth.tokens import digest, new_secret
from service.config import Settings
from service.mail.models import DeliveryStatus, EmailMessage
from service.mail.service import CODE_SLOT, LINK_SLOT
from service.notifications import repository

MAX_ATTEMPTS = 8
# SMTP's limit on a line (RFC 5321): longer lines need an encoding that wraps them.
MAX_LINE_BYTES = 998


def _with_token(settings: Settings, link_path: str | None, secret: str) -> str:
    path = link_path or "/"
    separator = "&" if "?" in path else "?"
    return f"{settings.public_base_url.rstrip('/')}{path}{separator}{urlencode({'token': secret})}"


async def _body_to_send(
    session: AsyncSession, settings: Settings, message: EmailMessage, now: datetime
) -> str | None:
    """The body with its one-time code minted and filled in; None when it cannot be armed."""
    if message.email_token_id is None and message.link_path is None:
        return message.body_text
    if message.email_token_id is None:  # the token row is gone (the account was deleted)
        return None
    secret = new_secret()
    if not await auth_repository.rearm_email_token(
        session, message.email_token_id, digest(secret), now
    ):
        return None
    link = _with_token(settings, message.link_path, secret)
    return message.body_text.replace(CODE_SLOT, secret).replace(LINK_SLOT, link)


# How long a worker may take to hand a message to the SMTP server before another may try:
# at least this, and three SMTP timeouts, so two sends of one message never overlap.
SEND_LEASE = timedelta(seconds=45)


def send_lease(settings: Settings) -> timedelta:
    return max(SEND_LEASE, timedelta(seconds=3 * settings.smtp_timeout_seconds))


@dataclass(frozen=True)
class Outgoing:
    """A message claimed for sending, ready for SMTP."""

    message_id: uuid.UUID
    mime: MimeMessage


async def claim_for_sending(
    session: AsyncSession, settings: Settings, message_id: uuid.UUID, now: datetime
) -> Outgoing | DeliveryStatus | None:
    """Claim a pending message for one send (committed before the send, so a crash or a
    cut database connection during the send cannot undo the claim and send it twice at
    once). Returns the message to send; ``failed`` when it cannot be sent; ``pending`` when
    another worker is sending it (retry after its claim); None when it was sent already."""
    message = (
        await session.execute(
            select(EmailMessage)
            .where(col(EmailMessage.id) == message_id)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if message is None:
        exists = await session.scalar(
            select(col(EmailMessage.id)).where(col(EmailMessage.id) == message_id)
        )
        # Locked by another worker right now: try again later. Gone: nothing to do.
        return DeliveryStatus.pending if exists is not None else None
    if message.status != DeliveryStatus.pending:
        return None
    if message.claimed_until is not None and message.claimed_until > now:
        return DeliveryStatus.pending
    message.attempts += 1
    message.claimed_until = now + send_lease(settings)
    body = await _body_to_send(session, settings, message, now)
    if body is None:
        message.status = DeliveryStatus.failed
        message.last_error = "the one-time code was used or expired before it could be sent"
        await _log_outcome(session, message, now)
        return DeliveryStatus.failed
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    # Deterministic: a message re-sent after a crash carries the same Message-ID, so the
    # receiving side can tell it is the same message.
    mime["Message-ID"] = f"<{message.id}@meielinn>"
    long_lines = any(len(line.encode()) > MAX_LINE_BYTES for line in body.splitlines())
    mime.set_content(body, cte="quoted-printable" if long_lines else "8bit")
    return Outgoing(message.id, mime)


async def send(settings: Settings, outgoing: Outgoing) -> str | None:
    """Hand a claimed message to the SMTP server; the error text when it failed."""
    try:
        await aiosmtplib.send(
            outgoing.mime,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


async def record_send(
    session: AsyncSession, message_id: uuid.UUID, error: str | None, now: datetime
) -> DeliveryStatus:
    """Record how a send went: sent, or pending for a retry (failed after the last)."""
    message = await session.get(EmailMessage, message_id, with_for_update=True)
    assert message is not None
    message.claimed_until = None
    if error is None:
        message.status = DeliveryStatus.sent
        message.sent_at = now
        message.last_error = None
    else:
        message.last_error = error
        if message.attempts >= MAX_ATTEMPTS:
            message.status = DeliveryStatus.failed
    await _log_outcome(session, message, now)
    return DeliveryStatus(message.status)


async def _log_outcome(session: AsyncSession, message: EmailMessage, now: datetime) -> None:
    """A notification's email: its delivery log follows the message."""
    await repository.log_email_outcome(
        session,
        message.id,
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        sent_at=message.sent_at,
        now=now,
    )


async def deliver(
    session: AsyncSession, settings: Settings, message_id: uuid.UUID, now: datetime
) -> DeliveryStatus | None:
    """Claim, send and record in one go (one session: for callers without a worker; the
    worker's job commits the claim before sending, see ``workers.notifications``).

    Returns the message's status afterwards: ``pending`` means this attempt failed and the
    caller should retry later; ``None`` means there was nothing to do."""
    claimed = await claim_for_sending(session, settings, message_id, now)
    if not isinstance(claimed, Outgoing):
        return claimed
    return await record_send(session, message_id, await send(settings, claimed), now)

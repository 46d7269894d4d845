"""Queuing and delivering email. Delivery happens in a worker, through the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Language, User
from service.config import Settings
from service.notifications.models import DeliveryStatus, EmailMessage
from service.notifications.templates import render
from service.outbox import service as outbox

DELIVER_EMAIL_JOB = "deliver_email"
MAX_ATTEMPTS = 8


async def queue_email(
    session: AsyncSession,
    *,
    recipient: str,
    language: Language,
    template: str,
    user_id: uuid.UUID | None = None,
    **values: object,
) -> EmailMessage:
    """Render and store a message; a worker sends it once this transaction commits."""
    subject, body = render(template, language, **values)
    message = EmailMessage(
        recipient=recipient, user_id=user_id, template=template, subject=subject, body_text=body
    )
    session.add(message)
    await session.flush()
    await outbox.add_job(session, DELIVER_EMAIL_JOB, str(message.id), str(message.id))
    return message


async def email_user(
    session: AsyncSession, user: User, template: str, **values: object
) -> EmailMessage:
    """Queue ``template`` to ``user`` in their language, greeting them by name."""
    return await queue_email(
        session,
        recipient=user.email,
        language=user.language,
        template=template,
        user_id=user.id,
        name=user.display_name,
        **values,
    )


async def deliver(
    session: AsyncSession, settings: Settings, message_id: uuid.UUID, now: datetime
) -> DeliveryStatus | None:
    """Send one stored message unless it was already sent (a duplicate job sends nothing).

    Returns the message's status afterwards: ``pending`` means this attempt failed and the
    caller should retry later; ``None`` means there was nothing to do."""
    message = (
        await session.execute(
            select(EmailMessage)
            .where(col(EmailMessage.id) == message_id)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if message is None or message.status != DeliveryStatus.pending:
        return None
    message.attempts += 1
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(idstring=str(message.id), domain="meielinn")
    mime.set_content(message.body_text)
    try:
        await aiosmtplib.send(
            mime,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = DeliveryStatus.failed
        return message.status
    message.status = DeliveryStatus.sent
    message.sent_at = now
    message.last_error = None
    return DeliveryStatus.sent

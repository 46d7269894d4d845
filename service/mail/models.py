"""Outgoing email: one row per message, sent by a worker through the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


# How far a message got: an email here, and each delivery of a notification
# (``notifications.models.NotificationDelivery``).
class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    # Not sent on purpose: the recipient turned the channel off, the webhook was disabled.
    skipped = "skipped"


class EmailMessage(SQLModel, table=True):
    """One outgoing message. A message that carries a one-time secret (``email_token_id``)
    stores its body with placeholders where the code and the link go; the secret is minted
    and filled in at delivery and never written here (see ``notifications.service``)."""

    __tablename__ = "email_message"

    id: uuid.UUID = uuid_pk()
    recipient: str = Field(max_length=320)
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    template: str = Field(max_length=64)
    subject: str = Field(max_length=300)
    body_text: str
    email_token_id: uuid.UUID | None = Field(
        default=None, foreign_key="email_token.id", index=True, ondelete="SET NULL"
    )
    link_path: str | None = Field(default=None, max_length=200)
    status: DeliveryStatus = enum_field(DeliveryStatus.pending, length=16)
    attempts: int = Field(default=0)
    # Set while a worker is sending it: another attempt waits until then (two workers never
    # send the same message at once; a send cut off by a crash is retried after it).
    claimed_until: datetime | None = timestamp(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp(default_now=True)
    sent_at: datetime | None = timestamp(nullable=True)

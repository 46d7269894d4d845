"""What was told to whom: notification events and their delivery log, people's
notification preferences, and the integrators' webhook endpoints. The outgoing email itself
is ``service.mail``'s."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk
from service.mail.models import DeliveryStatus


class Channel(StrEnum):
    email = "email"
    inbox = "inbox"
    webhook = "webhook"


# The channels a person chooses from (webhooks belong to integrators, not to people).
PERSONAL_CHANNELS: tuple[Channel, ...] = (Channel.email, Channel.inbox)


class NotificationEvent(SQLModel, table=True):
    """Something that happened and was told to people: one row per ``event_key``, so the
    same event notified twice is recorded (and delivered) once."""

    __tablename__ = "notification_event"

    id: uuid.UUID = uuid_pk()
    event_key: str = Field(max_length=200, unique=True)
    event_type: str = Field(max_length=64, index=True)
    template: str = Field(max_length=64)
    # The template's placeholders, as JSON: inbox entries are rendered from them on reading.
    values: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    report_id: uuid.UUID | None = Field(
        default=None, foreign_key="report.id", index=True, ondelete="SET NULL"
    )
    legal: bool = Field(default=False)
    created_at: datetime = timestamp(default_now=True)


class NotificationDelivery(SQLModel, table=True):
    """The delivery log: one row per event, recipient (a person or a webhook) and channel.

    The unique constraint is what makes delivery exactly-once: a second notification of the
    same event finds its rows there and sends nothing. An ``inbox`` row is the in-app
    notification itself (``read_at``); an ``email`` row follows its ``email_message``."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint(
            "event_id",
            "user_id",
            "webhook_id",
            "channel",
            name="uq_notification_delivery_recipient_channel",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint(
            "(channel = 'webhook') = (webhook_id IS NOT NULL) "
            "AND num_nonnulls(user_id, webhook_id) = 1",
            name="one_recipient",
        ),
        # The inbox, newest first, and its unread count.
        Index(
            "ix_notification_delivery_inbox",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("channel = 'inbox'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    event_id: uuid.UUID = Field(foreign_key="notification_event.id", ondelete="CASCADE")
    channel: Channel = enum_field(length=16)
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="CASCADE"
    )
    webhook_id: uuid.UUID | None = Field(
        default=None, foreign_key="webhook_endpoint.id", index=True, ondelete="CASCADE"
    )
    email_message_id: uuid.UUID | None = Field(
        default=None, foreign_key="email_message.id", index=True, ondelete="SET NULL"
    )
    status: DeliveryStatus = enum_field(DeliveryStatus.pending, length=16)
    attempts: int = Field(default=0)
    # The template this recipient reads, where it is not the event's (the reporter's answer
    # notice invites a rating, a follower's does not).
    template: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)
    # A webhook retry waits until then, even when its job is handed over again early.
    next_attempt_at: datetime | None = timestamp(nullable=True)
    sent_at: datetime | None = timestamp(nullable=True)
    read_at: datetime | None = timestamp(nullable=True)


class NotificationPreference(SQLModel, table=True):
    """A person's choice for one event type and channel; without a row the default (on)."""

    __tablename__ = "notification_preference"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    event_type: str = Field(max_length=64, primary_key=True)
    channel: Channel = Field(sa_type=String(16), primary_key=True)
    enabled: bool
    updated_at: datetime = timestamp(default_now=True)


class WebhookEndpoint(SQLModel, table=True):
    """An integrator's URL that receives the events it subscribed to, signed with its secret.

    The secret must be at hand to sign every delivery, so it is stored, encrypted
    (``service.encryption``); the API shows it once, when it is made (or rotated), and then
    only its first characters (``secret_hint``)."""

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = uuid_pk()
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(sa_column=Column(ARRAY(String(64)), nullable=False))
    secret_encrypted: str = Field(max_length=500)
    secret_hint: str = Field(max_length=16)
    active: bool = Field(default=True)
    consecutive_failures: int = Field(default=0)
    disabled_at: datetime | None = timestamp(nullable=True)
    disabled_reason: str | None = Field(default=None, max_length=300)
    last_success_at: datetime | None = timestamp(nullable=True)
    last_failure_at: datetime | None = timestamp(nullable=True)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)

"""What the notification endpoints take and return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.fields import PlainText
from service.mail.models import DeliveryStatus

EventTypeName = Annotated[str, StringConstraints(min_length=1, max_length=64), PlainText]


# --- the inbox ---------------------------------------------------------------------------


class NotificationPublic(BaseModel):
    id: uuid.UUID
    event_type: str
    report_id: uuid.UUID | None
    legal: bool = Field(description="A notice the city must deliver (cannot be turned off).")
    subject: str = Field(description="In the reader's language.")
    body: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    unread_count: int = Field(description="Unread notifications in the whole inbox.")


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications this marked read.")
    unread_count: int


# --- preferences -------------------------------------------------------------------------


class PreferencePublic(BaseModel):
    event_type: str
    description: str
    legal: bool = Field(description="Always delivered on every channel; cannot be turned off.")
    email: bool
    inbox: bool


class Preferences(BaseModel):
    items: list[PreferencePublic]


class PreferenceChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: EventTypeName
    email: bool | None = Field(default=None, description="On or off; unchanged when absent.")
    inbox: bool | None = Field(default=None, description="On or off; unchanged when absent.")


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[PreferenceChange] = Field(min_length=1, max_length=100)


# --- webhooks ----------------------------------------------------------------------------


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
    ]
    event_types: list[EventTypeName] = Field(
        min_length=1, max_length=50, description="The event types it receives."
    )
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200), PlainText
    ] = ""
    active: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
        ]
        | None
    ) = None
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=50)
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), PlainText] | None
    ) = None
    active: bool | None = Field(
        default=None,
        description="false stops deliveries; true starts them again and forgets the failures.",
    )


class WebhookPublic(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    secret_hint: str = Field(description="The start of the secret, to tell secrets apart.")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="The signing secret. Shown once: in this answer and when rotated."
    )


class WebhookDeliveryPublic(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryPublic]
    next_cursor: str | None

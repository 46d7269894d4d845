"""The security audit log: append-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlmodel import Column, Field, SQLModel

from service.db import timestamp


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    occurred_at: datetime = timestamp(default_now=True, index=True)
    action: str = Field(max_length=64, index=True)
    actor_user_id: uuid.UUID | None = Field(default=None, index=True)
    actor_api_key_id: uuid.UUID | None = Field(default=None)
    subject_type: str | None = Field(default=None, max_length=64)
    subject_id: str | None = Field(default=None, max_length=64, index=True)
    ip: str | None = Field(default=None, sa_column=Column(INET, nullable=True))
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )

"""The transactional outbox: jobs written in the business transaction, relayed to arq."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from service.db import timestamp


class OutboxJob(SQLModel, table=True):
    __tablename__ = "outbox_job"
    __table_args__ = (
        UniqueConstraint("job_name", "job_key", name="uq_outbox_job_name_key"),
        Index("ix_outbox_job_pending", "id", postgresql_where=text("enqueued_at IS NULL")),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    job_name: str = Field(max_length=64)
    job_key: str = Field(max_length=128)
    arguments: list[Any] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    created_at: datetime = timestamp(default_now=True)
    enqueued_at: datetime | None = timestamp(nullable=True)

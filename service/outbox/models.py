"""The transactional outbox: jobs written in the business transaction, relayed to arq."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from service.db import timestamp


class OutboxJob(SQLModel, table=True):
    """A job written in the business transaction. The relay enqueues it to arq (again when
    its lease runs out); it is done only when the job has done its work and marked it."""

    __tablename__ = "outbox_job"
    __table_args__ = (
        UniqueConstraint("job_name", "job_key", name="uq_outbox_job_name_key"),
        # What the relay looks at: rows not done, by when they may run.
        Index("ix_outbox_job_due", "run_at", "id", postgresql_where=text("done_at IS NULL")),
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
    # Deferred work waits until then (an arq deferred job is the fast path).
    run_at: datetime = timestamp(default_now=True)
    # The last time the relay handed it to arq, how often, and until when it trusts that.
    enqueued_at: datetime | None = timestamp(nullable=True)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    leased_until: datetime | None = timestamp(nullable=True)
    done_at: datetime | None = timestamp(nullable=True)

"""Tables the operations side needs: worker heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, func
from sqlmodel import Field, SQLModel


class WorkerHeartbeat(SQLModel, table=True):
    """The last sign of life of each worker process, written by its periodic heartbeat job."""

    __tablename__ = "worker_heartbeat"

    worker_name: str = Field(primary_key=True, max_length=200)
    first_beat_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    last_beat_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    beats: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))

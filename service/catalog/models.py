"""The category catalogue: object type → category → reason (what a report picks)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.calendar import TimeUnit
from service.db import enum_field, timestamp, uuid_pk


def _names() -> Any:
    """Translated names: {"et": …, "en": …, "ru": …}; "et" is required."""
    return Field(sa_column=Column(JSONB, nullable=False))


class ObjectType(SQLModel, table=True):
    __tablename__ = "object_type"

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    names: dict[str, str] = _names()
    position: int = Field(default=0)
    active: bool = Field(default=True)


class Category(SQLModel, table=True):
    __tablename__ = "category"

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    object_type_id: uuid.UUID = Field(foreign_key="object_type.id", index=True, ondelete="RESTRICT")
    names: dict[str, str] = _names()
    position: int = Field(default=0)
    active: bool = Field(default=True)


class Reason(SQLModel, table=True):
    __tablename__ = "reason"
    __table_args__ = (
        CheckConstraint("sla_amount > 0", name="sla_positive"),
        CheckConstraint("moderation_sla_hours > 0", name="moderation_sla_positive"),
        CheckConstraint(
            "(season_start_month IS NULL) = (season_end_month IS NULL)", name="season_complete"
        ),
        CheckConstraint("duplicate_radius_m BETWEEN 0 AND 5000", name="duplicate_radius_range"),
    )

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    category_id: uuid.UUID = Field(foreign_key="category.id", index=True, ondelete="RESTRICT")
    names: dict[str, str] = _names()
    sla_amount: float
    sla_unit: TimeUnit = enum_field(TimeUnit.working_days)
    moderation_sla_hours: float = Field(default=8.5, description="Working hours to moderate.")
    needs_answer_moderation: bool = Field(default=False)
    requires_photo: bool = Field(default=False)
    building_bound: bool = Field(
        default=False, description="Routed to the managing organisation of the nearest building."
    )
    season_start_month: int | None = Field(default=None, ge=1, le=12)
    season_start_day: int | None = Field(default=None, ge=1, le=31)
    season_end_month: int | None = Field(default=None, ge=1, le=12)
    season_end_day: int | None = Field(default=None, ge=1, le=31)
    duplicate_radius_m: int = Field(default=50)
    service_code: str = Field(max_length=64, unique=True, description="Open311 service_code.")
    attributes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    position: int = Field(default=0)
    active: bool = Field(default=True)
    created_at: datetime = timestamp(default_now=True)

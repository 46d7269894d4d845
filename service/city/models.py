"""City model tables: districts, departments, buildings, routing rules and the calendar."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class DepartmentKind(StrEnum):
    department = "department"
    managing_org = "managing_org"
    dispatcher = "dispatcher"


class District(SQLModel, table=True):
    __tablename__ = "district"

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    is_pilot_area: bool = Field(default=False)
    geom: Any = Field(
        sa_column=Column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    )
    created_at: datetime = timestamp(default_now=True)


class Calendar(SQLModel, table=True):
    """A working calendar: the city's (``is_city_default``) or a department's own."""

    __tablename__ = "calendar"
    __table_args__ = (
        Index(
            "uq_calendar_city_default",
            "is_city_default",
            unique=True,
            postgresql_where=text("is_city_default"),
        ),
        CheckConstraint("work_end > work_start", name="work_hours_order"),
    )

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=120)
    timezone: str = Field(default="Europe/Tallinn", max_length=64)
    work_start: time = Field(default=time(8, 30))
    work_end: time = Field(default=time(17, 0))
    country: str = Field(default="EE", max_length=2)
    is_city_default: bool = Field(default=False)


class CalendarExceptionKind(StrEnum):
    holiday = "holiday"
    working_day = "working_day"


class CalendarException(SQLModel, table=True):
    """An extra holiday or an extra working day of one calendar."""

    __tablename__ = "calendar_exception"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_calendar_exception_day"),)

    id: uuid.UUID = uuid_pk()
    calendar_id: uuid.UUID = Field(foreign_key="calendar.id", index=True, ondelete="CASCADE")
    day: date
    kind: CalendarExceptionKind = enum_field()
    note: str = Field(default="", max_length=200)


class CalendarVersion(SQLModel, table=True):
    """One row whose token changes with every change to the calendars or their exceptions
    (a trigger, TRUNCATE included): a process caches the working calendar and reloads it
    when the token it read differs from the one it cached (service.city.calendars)."""

    __tablename__ = "calendar_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True)
    token: uuid.UUID = Field(default_factory=uuid.uuid4)


class Department(SQLModel, table=True):
    """A city department, a building's managing organisation, or the dispatcher."""

    __tablename__ = "department"

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: DepartmentKind = enum_field(DepartmentKind.department)
    parent_id: uuid.UUID | None = Field(
        default=None, foreign_key="department.id", index=True, ondelete="RESTRICT"
    )
    email: str | None = Field(default=None, max_length=320)
    calendar_id: uuid.UUID | None = Field(
        default=None, foreign_key="calendar.id", ondelete="SET NULL"
    )
    active: bool = Field(default=True)
    created_at: datetime = timestamp(default_now=True)


class Building(SQLModel, table=True):
    __tablename__ = "building"
    __table_args__ = (
        # Metre distances (ST_DWithin, KNN) on geography use this index.
        Index(
            "ix_building_point_geography",
            text("(point::geography)"),
            postgresql_using="gist",
        ),
        Index(
            "ix_building_address_trgm",
            "address",
            postgresql_using="gin",
            postgresql_ops={"address": "gin_trgm_ops"},
        ),
    )

    id: uuid.UUID = uuid_pk()
    address: str = Field(max_length=200)
    point: Any = Field(
        sa_column=Column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    )
    footprint: Any = Field(
        default=None,
        sa_column=Column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=True),
    )
    year_built: int | None = Field(default=None, ge=1200, le=2100)
    floors: int | None = Field(default=None, ge=1, le=200)
    apartments: int | None = Field(default=None, ge=0, le=10000)
    heating: str | None = Field(default=None, max_length=64)
    managing_org_id: uuid.UUID | None = Field(
        default=None, foreign_key="department.id", index=True, ondelete="SET NULL"
    )
    is_pilot_area: bool = Field(default=False, index=True)
    passport: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    created_at: datetime = timestamp(default_now=True)


class RoutingRule(SQLModel, table=True):
    """(reason or category, district or any) → department. The most specific rule wins:
    a reason rule before a category rule, then a district rule before an any-district one."""

    __tablename__ = "routing_rule"
    __table_args__ = (
        CheckConstraint("(reason_id IS NULL) <> (category_id IS NULL)", name="reason_xor_category"),
        UniqueConstraint(
            "reason_id",
            "category_id",
            "district_id",
            name="uq_routing_rule_target",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: uuid.UUID = uuid_pk()
    reason_id: uuid.UUID | None = Field(
        default=None, foreign_key="reason.id", index=True, ondelete="CASCADE"
    )
    category_id: uuid.UUID | None = Field(
        default=None, foreign_key="category.id", index=True, ondelete="CASCADE"
    )
    district_id: uuid.UUID | None = Field(
        default=None, foreign_key="district.id", ondelete="CASCADE"
    )
    department_id: uuid.UUID = Field(foreign_key="department.id", ondelete="RESTRICT")
    created_at: datetime = timestamp(default_now=True)

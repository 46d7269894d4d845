"""City model tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class DepartmentKind(StrEnum):
    department = "department"
    managing_org = "managing_org"
    dispatcher = "dispatcher"


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
    created_at: datetime = timestamp(default_now=True)

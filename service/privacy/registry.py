"""What each package knows about a person: how to export it and how to erase it.

A package that stores personal data declares one :class:`PersonalData` (in its
``personal_data.py``), and the entry points register every one of them here
(``service.wiring``). The export (``GET /v1/me/export``) and the erasure (``DELETE /v1/me``,
the retention job) walk what is registered and nothing else (``service.privacy.erasure``),
so a package cannot be remembered by one and forgotten by the other.

This package is below every other one: it imports none of them, they register with it.

Erasure order: every step reads the person as they were (:class:`Person`), and the steps
that redact free text need the name and address the account's step blanks, so the step
that blanks them (``erased_last``) runs after all the others, whatever the order the
packages were registered in; the others run, and are exported, in that order.

Most of an export is a person's rows of a table, declared (:class:`Owned`): the table, the
column that holds the person's id, and the columns exported. What needs a join or a
condition of its own is a function.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from service.config import Settings

# The placeholder written where a person's name or email address stood in free text.
REDACTED = "[removed]"


@dataclass(frozen=True)
class Person:
    """The person being exported or erased, as they were before any step ran (the steps
    that redact text need the name and address the account step blanks)."""

    id: uuid.UUID
    email: str
    display_name: str


@dataclass(frozen=True)
class Erasure:
    """The circumstances of one erasure: when, and the settings (where files are)."""

    now: datetime
    settings: Settings


# JSON-ready data (dicts, lists, str, numbers, None; datetimes and UUIDs are encoded later).
Export = Callable[[AsyncSession, Person], Awaitable[Any]]
# Removes or anonymises what the package holds; returns how many rows it changed.
Erase = Callable[[AsyncSession, Person, Erasure], Awaitable[int]]


@dataclass(frozen=True)
class Owned:
    """A person's rows of one table: ``columns`` (names of the table's columns, or labelled
    SQL expressions) of the rows of ``table`` whose ``owner`` column holds the person's id,
    in the order of the ``order_by`` column when one is named. ``one``: the first row, or
    None, rather than a list (the account's own row)."""

    table: type[SQLModel]
    owner: str
    columns: tuple[str | ColumnElement[Any], ...]
    order_by: str | None = None
    one: bool = False

    def __post_init__(self) -> None:
        named = [self.owner, *(c for c in self.columns if isinstance(c, str))]
        for name in [*named, *([self.order_by] if self.order_by else [])]:
            if not hasattr(self.table, name):
                raise ValueError(f"{self.table.__name__} has no column {name!r}")

    def statement(self, person_id: uuid.UUID) -> Select[Any]:
        selected = [getattr(self.table, c) if isinstance(c, str) else c for c in self.columns]
        statement = select(*selected).where(getattr(self.table, self.owner) == person_id)
        if self.order_by is not None:
            statement = statement.order_by(getattr(self.table, self.order_by))
        return statement

    async def export(self, session: AsyncSession, person: Person) -> Any:
        found = rows(await session.execute(self.statement(person.id)))
        if self.one:
            return found[0] if found else None
        return found


# A package's export: one list of rows or function, or named parts, each one or the other.
ExportPlan = Owned | Export | Mapping[str, Owned | Export]


@dataclass(frozen=True)
class PersonalData:
    """One package's part of a person's data: ``section`` names it in the export.
    ``erased_last``: this step blanks the name and address the others redact with."""

    section: str
    export: ExportPlan
    erase: Erase
    erased_last: bool = False


_registered: list[PersonalData] = []


def register(*parts: PersonalData) -> None:
    """Add packages' personal data (again: nothing changes)."""
    for part in parts:
        if part in _registered:
            continue
        if any(known.section == part.section for known in _registered):
            raise ValueError(f"Two packages export the section {part.section!r}.")
        _registered.append(part)


def steps() -> tuple[PersonalData, ...]:
    """Everything registered, in erasure order (see the module's docstring). Empty is an
    error: an erasure that removed nothing must not look done."""
    if not _registered:
        raise RuntimeError("No personal data is registered; import service.wiring first.")
    return tuple(sorted(_registered, key=lambda part: part.erased_last))


async def export_section(session: AsyncSession, person: Person, part: PersonalData) -> Any:
    """One package's section of the export."""
    plan = part.export
    if isinstance(plan, Mapping):
        return {name: await _exported(session, person, item) for name, item in plan.items()}
    return await _exported(session, person, plan)


async def _exported(session: AsyncSession, person: Person, item: Owned | Export) -> Any:
    if isinstance(item, Owned):
        return await item.export(session, person)
    return await item(session, person)


def redact(text: str | None, person: Person) -> str | None:
    """``text`` with the person's email address and name (whole, and each part of three or
    more letters) replaced by :data:`REDACTED`, case-insensitively."""
    if not text:
        return text
    needles = {person.email} if person.email else set()
    name = person.display_name.strip()
    if name:
        needles.add(name)
        needles.update(part for part in name.split() if len(part) >= 3)
    for needle in sorted(needles, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(needle)}(?!\w)", REDACTED, text, flags=re.IGNORECASE)
    return text


def rows(result: Any) -> list[dict[str, Any]]:
    """The rows of a Core result as dicts (for an export section)."""
    return [dict(row._mapping) for row in result]

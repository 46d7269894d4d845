"""What each package knows about a person: how to export it and how to erase it.

A package that stores personal data contributes one :class:`PersonalData` (in its
``personal_data.py``) and one line in :data:`service.privacy.steps.STEPS`; the export
(``GET /v1/me/export``) and the erasure (``DELETE /v1/me``, the retention job) walk that list
and nothing else, so a package cannot be remembered by one and forgotten by the other.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
class PersonalData:
    """One package's part of a person's data: ``section`` names it in the export."""

    section: str
    export: Export
    erase: Erase


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

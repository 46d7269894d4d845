"""Keyset pagination with opaque cursors and bounded page sizes."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import StringConstraints
from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import InvalidInput
from service.fields import PlainText

MAX_PAGE_SIZE = 200
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
Cursor = Annotated[
    Annotated[str, StringConstraints(max_length=512), PlainText] | None,
    Query(description="The `next_cursor` of the previous page."),
]


def encode_cursor(*values: Any) -> str:
    """An opaque cursor for the position after ``values`` (the last item's sort key)."""
    raw = json.dumps([str(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    """The sort key a cursor stands for; 422 when it was not made by ``encode_cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The cursor is not valid.", field="cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("The cursor is not valid.", field="cursor")
    return [str(v) for v in values]


def decode_time_id_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) a cursor made by ``encode_cursor(at.isoformat(), id)`` stands for."""
    at_text, id_text = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except ValueError as exc:
        raise InvalidInput("The cursor is not valid.", field="cursor") from exc


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    time_column: Any,
    id_column: Any,
    *,
    cursor: str | None,
    limit: int,
    ascending: bool,
    key: Callable[[Any], tuple[datetime | None, uuid.UUID]],
) -> tuple[list[Any], str | None]:
    """One page of ``query`` ordered by (time, id), after ``cursor``; ``key`` reads the
    (time, id) of a result row for the next cursor (none when the page is the last)."""
    here = func.row(time_column, id_column)
    if cursor is not None:
        at, last = decode_time_id_cursor(cursor)
        there = func.row(at, last)
        query = query.where(here > there if ascending else here < there)
    order = (
        (time_column.asc(), id_column.asc())
        if ascending
        else (time_column.desc(), id_column.desc())
    )
    rows = list((await session.execute(query.order_by(*order).limit(limit + 1))).all())
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    last_at, last_id = key(page[-1])
    return page, encode_cursor(last_at.isoformat(), last_id) if last_at is not None else None


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern for LIKE, with the wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

"""The category catalogue: reading the tree, admin changes, and season checks."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from service import rawsql
from service.catalog.models import Category, ObjectType, Reason
from service.catalog.schemas import (
    Catalog,
    CategoryCreate,
    CategoryPublic,
    CategoryUpdate,
    ObjectTypeCreate,
    ObjectTypePublic,
    ObjectTypeUpdate,
    ReasonCreate,
    ReasonPublic,
    ReasonUpdate,
)
from service.errors import Conflict, InvalidInput, NotFound


def localized_name(names: dict[str, str], language: str) -> str:
    """A stored name in ``language``, falling back to Estonian (names are stored as
    :class:`Names` validated them: Estonian always there, empty texts left out; read per
    row of every list, so without validating them again)."""
    return names.get(language) or names["et"]


def stored_names(names: dict[str, str | None]) -> dict[str, str]:
    """Names as stored: only the languages that have a text."""
    return {language: text for language, text in names.items() if text}


def season_text(month: int | None, day: int | None) -> str | None:
    return f"{month:02d}-{day:02d}" if month is not None and day is not None else None


def _season_parts(value: str | None) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    month, day = (int(part) for part in value.split("-"))
    return month, day


def in_season(reason: Reason, day: date) -> bool:
    """Whether ``day`` falls in the reason's seasonal window (inclusive; a window may wrap
    the new year, e.g. 11-01 … 03-31 for snow). No window: always in season."""
    if reason.season_start_month is None or reason.season_end_month is None:
        return True
    start = (reason.season_start_month, reason.season_start_day or 1)
    end = (reason.season_end_month, reason.season_end_day or 31)
    today = (day.month, day.day)
    if start <= end:
        return start <= today <= end
    return today >= start or today <= end


def reason_public(reason: Reason, language: str) -> ReasonPublic:
    return ReasonPublic(
        id=reason.id,
        code=reason.code,
        category_id=reason.category_id,
        name=localized_name(reason.names, language),
        names=reason.names,
        sla_amount=reason.sla_amount,
        sla_unit=reason.sla_unit,
        moderation_sla_hours=reason.moderation_sla_hours,
        needs_answer_moderation=reason.needs_answer_moderation,
        requires_photo=reason.requires_photo,
        building_bound=reason.building_bound,
        season_start=season_text(reason.season_start_month, reason.season_start_day),
        season_end=season_text(reason.season_end_month, reason.season_end_day),
        duplicate_radius_m=reason.duplicate_radius_m,
        service_code=reason.service_code,
        attributes=reason.attributes,
        active=reason.active,
    )


def category_public(
    category: Category, language: str, reasons: list[ReasonPublic] | None = None
) -> CategoryPublic:
    return CategoryPublic(
        id=category.id,
        code=category.code,
        object_type_id=category.object_type_id,
        name=localized_name(category.names, language),
        names=category.names,
        active=category.active,
        reasons=reasons or [],
    )


def object_type_public(
    object_type: ObjectType, language: str, categories: list[CategoryPublic] | None = None
) -> ObjectTypePublic:
    return ObjectTypePublic(
        id=object_type.id,
        code=object_type.code,
        name=localized_name(object_type.names, language),
        names=object_type.names,
        active=object_type.active,
        categories=categories or [],
    )


# Every active reason (under an active category and object type) with its name in a
# language, Estonian when the language has none; one statement for filters' choices.
REASON_CHOICES_SQL = """
SELECT r.id, COALESCE(NULLIF(r.names ->> $1, ''), r.names ->> 'et') AS name
  FROM reason r
  JOIN category c ON c.id = r.category_id AND c.active
  JOIN object_type o ON o.id = c.object_type_id AND o.active
 WHERE r.active
 ORDER BY 2, r.code"""


async def reason_choices(session: AsyncSession, language: str) -> list[tuple[uuid.UUID, str]]:
    """The active reasons' ids and names in ``language``, by name (a filter's choices)."""
    rows = await rawsql.fetch(session, REASON_CHOICES_SQL, language)
    return [(row["id"], row["name"]) for row in rows]


async def catalog_tree(
    session: AsyncSession, language: str, *, include_inactive: bool = False
) -> Catalog:
    """The whole tree in three queries. Inactive nodes (and what hangs under them) are
    left out unless asked for."""

    def ordered(model: Any) -> Any:
        query = select(model).order_by(model.position, model.code)
        return query if include_inactive else query.where(model.active)

    object_types = list((await session.execute(ordered(ObjectType))).scalars())
    categories = list((await session.execute(ordered(Category))).scalars())
    reasons = list((await session.execute(ordered(Reason))).scalars())
    by_category: dict[uuid.UUID, list[ReasonPublic]] = {}
    for reason in reasons:
        by_category.setdefault(reason.category_id, []).append(reason_public(reason, language))
    by_type: dict[uuid.UUID, list[CategoryPublic]] = {}
    for category in categories:
        by_type.setdefault(category.object_type_id, []).append(
            category_public(category, language, by_category.get(category.id))
        )
    return Catalog(
        language=language,
        object_types=[object_type_public(o, language, by_type.get(o.id)) for o in object_types],
    )


async def _get(session: AsyncSession, model: type[SQLModel], item_id: uuid.UUID) -> Any:
    item = await session.get(model, item_id)
    if item is None:
        raise NotFound(f"No such {str(model.__tablename__).replace('_', ' ')}.")
    return item


async def get_reason(session: AsyncSession, reason_id: uuid.UUID) -> Reason:
    reason: Reason = await _get(session, Reason, reason_id)
    return reason


async def _unique_code(session: AsyncSession, model: Any, code: str) -> None:
    if await session.scalar(select(exists().where(model.code == code))):
        raise Conflict(f"The code {code} is taken.", field="code")


async def create_object_type(session: AsyncSession, body: ObjectTypeCreate) -> ObjectType:
    await _unique_code(session, ObjectType, body.code)
    item = ObjectType(
        code=body.code, names=stored_names(body.names.model_dump()), position=body.position
    )
    session.add(item)
    await session.flush()
    return item


async def create_category(session: AsyncSession, body: CategoryCreate) -> Category:
    await _unique_code(session, Category, body.code)
    if await session.get(ObjectType, body.object_type_id) is None:
        raise InvalidInput("No such object type.", field="object_type_id")
    item = Category(
        code=body.code,
        object_type_id=body.object_type_id,
        names=stored_names(body.names.model_dump()),
        position=body.position,
    )
    session.add(item)
    await session.flush()
    return item


def _reason_columns(data: dict[str, Any]) -> dict[str, Any]:
    """Schema fields → table columns (names and attributes as JSON, seasons split)."""
    columns = dict(data)
    if "names" in columns and columns["names"] is not None:
        columns["names"] = stored_names(columns["names"])
    for edge in ("start", "end"):
        key = f"season_{edge}"
        if key in columns:
            month, day = _season_parts(columns.pop(key))
            columns[f"season_{edge}_month"], columns[f"season_{edge}_day"] = month, day
    return columns


async def create_reason(session: AsyncSession, body: ReasonCreate) -> Reason:
    await _unique_code(session, Reason, body.code)
    if await session.scalar(select(exists().where(col(Reason.service_code) == body.service_code))):
        raise Conflict(f"The service code {body.service_code} is taken.", field="service_code")
    if await session.get(Category, body.category_id) is None:
        raise InvalidInput("No such category.", field="category_id")
    reason = Reason(**_reason_columns(body.model_dump(mode="json")))
    reason.category_id = body.category_id
    session.add(reason)
    await session.flush()
    return reason


async def update_node(
    session: AsyncSession,
    model: type[ObjectType] | type[Category],
    item_id: uuid.UUID,
    body: ObjectTypeUpdate | CategoryUpdate,
) -> Any:
    item = await _get(session, model, item_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("names") is not None:
        changes["names"] = stored_names(changes["names"])
    for name, value in changes.items():
        if value is not None:
            setattr(item, name, value)
    await session.flush()
    return item


async def update_reason(session: AsyncSession, reason_id: uuid.UUID, body: ReasonUpdate) -> Reason:
    reason = await get_reason(session, reason_id)
    changes = _reason_columns(body.model_dump(mode="json", exclude_unset=True))
    for name, value in changes.items():
        if value is not None or name.startswith("season_"):
            setattr(reason, name, value)
    await session.flush()
    return reason


async def delete_reason(session: AsyncSession, reason_id: uuid.UUID) -> None:
    """Delete a reason no report uses yet; once used, it can only be deactivated (409)."""
    await get_reason(session, reason_id)
    try:
        async with session.begin_nested():
            await session.execute(delete(Reason).where(col(Reason.id) == reason_id))
    except IntegrityError as exc:
        raise Conflict(
            "Reports use this reason; deactivate it instead (PATCH active=false)."
        ) from exc

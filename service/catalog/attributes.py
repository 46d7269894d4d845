"""Checking the extra attribute values a report brings against its reason's definitions.

A value is a scalar of the attribute's type (text, a number, a date, a list key), or for a
``multi_value_list`` a list of keys; anything else (a list where one value is meant, an
object) is refused with the attribute named, as is text with control characters."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from service.catalog.schemas import AttributeDefinition
from service.errors import InvalidInput
from service.fields import has_control_characters

Scalar = str | int | float | bool


def validate_attribute_values(
    definitions: list[dict[str, Any]], values: dict[str, Any]
) -> dict[str, Any]:
    """The cleaned values (numbers as numbers, dates as ISO strings, lists as lists).

    Raises 422 naming every missing, unknown or malformed attribute at once."""
    parsed = [AttributeDefinition.model_validate(d) for d in definitions]
    known = {d.code: d for d in parsed}
    errors: list[dict[str, str]] = []
    cleaned: dict[str, Any] = {}
    for code in values:
        if code not in known:
            errors.append({"attribute": code, "problem": "unknown attribute"})
    for definition in parsed:
        raw = values.get(definition.code)
        if raw is None or raw == "" or raw == []:
            if definition.required:
                errors.append({"attribute": definition.code, "problem": "required"})
            continue
        try:
            cleaned[definition.code] = _clean(definition, raw)
        except ValueError as exc:
            errors.append({"attribute": definition.code, "problem": str(exc)})
    if errors:
        raise InvalidInput("Some attributes are missing or invalid.", attribute_errors=errors)
    return cleaned


def _clean(definition: AttributeDefinition, raw: Any) -> Any:
    allowed = {v.key for v in definition.values or []}
    if definition.type == "multi_value_list" and isinstance(raw, list):
        items = raw
    elif isinstance(raw, Scalar):
        items = [raw]
    else:
        raise ValueError("must be a single value, not a list or an object")
    if not all(isinstance(item, Scalar) for item in items):
        raise ValueError("must be a list of values, not of lists or objects")
    if any(isinstance(item, str) and has_control_characters(item) for item in items):
        raise ValueError("must not contain control characters")
    match definition.type:
        case "string" | "text":
            if not isinstance(raw, str):
                raise ValueError("must be text")
            text = raw.strip()
            limit = definition.max_length or (1000 if definition.type == "string" else 4000)
            if len(text) > limit:
                raise ValueError(f"longer than {limit} characters")
            return text
        case "number":
            if isinstance(raw, bool):
                raise ValueError("must be a number")
            try:
                number = float(raw)
            except (TypeError, ValueError, OverflowError):
                raise ValueError("must be a number") from None
            if not math.isfinite(number):
                raise ValueError("must be a finite number")
            if definition.min_value is not None and number < definition.min_value:
                raise ValueError(f"below {definition.min_value:g}")
            if definition.max_value is not None and number > definition.max_value:
                raise ValueError(f"above {definition.max_value:g}")
            return number
        case "date":
            try:
                day = date.fromisoformat(str(raw))
            except ValueError:
                raise ValueError("must be a date (YYYY-MM-DD)") from None
            if not 2000 <= day.year <= 2100:
                raise ValueError("must be between 2000 and 2100")
            return day.isoformat()
        case "datetime":
            try:
                moment = datetime.fromisoformat(str(raw))
            except ValueError:
                raise ValueError("must be a date and time (ISO 8601 with an offset)") from None
            if moment.tzinfo is None:
                raise ValueError("needs an offset from UTC (Z or ±hh:mm)")
            if not 2000 <= moment.year <= 2100:
                raise ValueError("must be between 2000 and 2100")
            return moment.isoformat()
        case "single_value_list":
            if raw not in allowed:
                raise ValueError(f"must be one of {', '.join(sorted(allowed))}")
            return raw
        case "multi_value_list":
            wrong = [item for item in items if item not in allowed]
            if wrong:
                raise ValueError(f"unknown values {wrong}; allowed: {', '.join(sorted(allowed))}")
            return sorted(set(items))
    raise ValueError("unknown attribute type")  # pragma: no cover

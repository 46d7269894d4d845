"""Field types that every request schema and route parameter is built from.

Each refuses at the edge, with a 422 naming the field, what PostgreSQL or the calendar
would otherwise refuse later with a 500:

* text with NUL or another C0 control character (tab, line feed and carriage return are
  text), or with an unpaired surrogate, which cannot be encoded: ``PlainText``;
* integers past what their column holds: ``Position``;
* floats that are not finite (JSON bodies may say ``NaN`` and ``Infinity``): ``FiniteFloat``;
* time zones that are not IANA names: ``TimeZoneName``;
* times with a UTC offset where a wall-clock time in the calendar's zone is meant:
  ``WallClockTime``;
* ``null`` for a field of a PATCH body whose column cannot be empty: ``PatchBody``.

``PlainText`` goes last in an ``Annotated`` str, after its length and whitespace
constraints: a constraint placed after a validator no longer reaches the str itself
(``strip_whitespace`` would be lost). ``Annotated[str, Query(max_length=120), PlainText]``.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import time
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

# C0 controls but tab, line feed and carriage return; and unpaired UTF-16 surrogates, which
# JSON escapes (\ud800) can carry but UTF-8, and so PostgreSQL, cannot.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def has_control_characters(value: str) -> bool:
    """True for text that the database cannot store or that no person types."""
    return _NOT_TEXT.search(value) is not None


def plain_text(value: str) -> str:
    """The value, or a validation error if it holds control characters."""
    if has_control_characters(value):
        raise PydanticCustomError(
            "control_characters",
            "Text must not contain control characters (other than tab and line breaks) "
            "or unpaired surrogates.",
        )
    return value


PlainText = AfterValidator(plain_text)
Text = Annotated[str, PlainText]


# A sort position among siblings; well inside PostgreSQL's integer.
POSITION_MAX = 1_000_000
Position = Annotated[
    int, Field(ge=0, le=POSITION_MAX, description="Sort order among siblings, 0 first.")
]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone(value: str) -> str:
    """The value if it names an IANA time zone (as ``zoneinfo`` knows them)."""
    if value not in _time_zones():
        raise PydanticCustomError(
            "time_zone", "Give an IANA time zone name, such as Europe/Tallinn or UTC."
        )
    return value


TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(time_zone)]


def wall_clock(value: time) -> time:
    """The value if it is a time of day without a UTC offset."""
    if value.tzinfo is not None:
        raise PydanticCustomError(
            "time_offset",
            "Give a time of day without a UTC offset (such as 08:30): "
            "the calendar's time zone applies.",
        )
    return value


WallClockTime = Annotated[
    time,
    AfterValidator(wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
            "description": "A time of day in the calendar's time zone, without a UTC offset.",
            "examples": ["08:30"],
        }
    ),
]


def _document_non_nullable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON schema of a PATCH body: null only where the model accepts it."""
    clearable: frozenset[str] = getattr(model, "clearable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in clearable or "anyOf" not in prop:
            continue
        variants = [v for v in prop["anyOf"] if v != {"type": "null"}]
        if len(variants) == len(prop["anyOf"]):
            continue
        del prop["anyOf"]
        if len(variants) == 1:
            prop.update(variants[0])
        else:
            prop["anyOf"] = variants
        if prop.get("default", ...) is None:
            del prop["default"]


class PatchBody(BaseModel):
    """Base of PATCH bodies: a field left out keeps its value; ``null`` clears the fields
    named in ``clearable`` and is refused (422) for every other field."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_non_nullable)

    clearable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise PydanticCustomError(
                "null_not_allowed", "This field cannot be null; leave it out to keep its value."
            )
        return value

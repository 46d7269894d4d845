"""Catalogue schemas, including typed extra attributes of reasons and their validation."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Header, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from service.calendar import TimeUnit
from service.fields import FiniteFloat, PatchBody, PlainText, Position, Text

LANGUAGES = ("et", "en", "ru")
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText
]


class Names(BaseModel):
    """A name in the city's languages; Estonian is required, the others fall back to it."""

    model_config = ConfigDict(extra="forbid")

    et: Label
    en: Label | None = None
    ru: Label | None = None

    def pick(self, language: str) -> str:
        return getattr(self, language, None) or self.et


def pick_language(lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the first supported tag of ``Accept-Language``, then Estonian."""
    if lang in LANGUAGES:
        return lang
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "et"


LangQuery = Annotated[str | None, Query(pattern="^(et|en|ru)$", description="et, en or ru")]
AcceptLanguage = Annotated[Text | None, Header(include_in_schema=False)]


# string: one line; text: may hold line breaks; datetime: ISO 8601 with an offset.
AttributeType = Literal[
    "string", "text", "number", "single_value_list", "multi_value_list", "date", "datetime"
]


class AttributeValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Code
    names: Names


class AttributeDefinition(BaseModel):
    """One typed extra attribute a reason asks for (Open311 ``attributes``)."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    names: Names
    type: AttributeType
    required: bool = False
    description: Names | None = None
    values: list[AttributeValue] | None = None
    min_value: FiniteFloat | None = None
    max_value: FiniteFloat | None = None
    max_length: int | None = Field(default=None, ge=1, le=4000)

    @model_validator(mode="after")
    def _consistent(self) -> AttributeDefinition:
        is_list = self.type in ("single_value_list", "multi_value_list")
        if is_list:
            if not self.values:
                raise ValueError(f"attribute {self.code}: a {self.type} needs values")
            keys = [v.key for v in self.values]
            if len(set(keys)) != len(keys):
                raise ValueError(f"attribute {self.code}: value keys repeat")
        elif self.values is not None:
            raise ValueError(f"attribute {self.code}: only list types take values")
        if (self.min_value is not None or self.max_value is not None) and self.type != "number":
            raise ValueError(f"attribute {self.code}: min_value/max_value are for numbers")
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError(f"attribute {self.code}: min_value is above max_value")
        if self.max_length is not None and self.type not in ("string", "text"):
            raise ValueError(f"attribute {self.code}: max_length is for string and text")
        return self


def _check_unique_codes(definitions: list[AttributeDefinition]) -> list[AttributeDefinition]:
    codes = [d.code for d in definitions]
    if len(set(codes)) != len(codes):
        raise ValueError("attribute codes repeat")
    return definitions


def _check_season(start: str | None, end: str | None) -> None:
    if (start is None) != (end is None):
        raise ValueError("season_start and season_end go together")
    for value in (start, end):
        if value is not None:
            month, day = (int(part) for part in value.split("-"))
            try:
                date(2000, month, day)  # 2000 is a leap year: 02-29 is allowed
            except ValueError:
                raise ValueError(f"{value} is not a day of the year") from None


class ObjectTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    names: Names
    position: Position = 0


class ObjectTypeUpdate(PatchBody):
    names: Names | None = None
    position: Position | None = None
    active: bool | None = None


class CategoryCreate(ObjectTypeCreate):
    object_type_id: uuid.UUID


class CategoryUpdate(ObjectTypeUpdate):
    pass


class ReasonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sla_amount: float = Field(gt=0, le=365)
    sla_unit: TimeUnit = TimeUnit.working_days
    moderation_sla_hours: float = Field(default=8.5, gt=0, le=24 * 30)
    needs_answer_moderation: bool = False
    requires_photo: bool = False
    building_bound: bool = False
    season_start: str | None = Field(default=None, pattern=r"^\d{2}-\d{2}$", description="MM-DD")
    season_end: str | None = Field(default=None, pattern=r"^\d{2}-\d{2}$", description="MM-DD")
    duplicate_radius_m: int = Field(default=50, ge=0, le=5000)
    attributes: list[AttributeDefinition] = Field(default_factory=list, max_length=30)
    position: Position = 0

    _unique = field_validator("attributes")(_check_unique_codes)

    @model_validator(mode="after")
    def _season(self) -> ReasonFields:
        _check_season(self.season_start, self.season_end)
        return self


class ReasonCreate(ReasonFields):
    code: Code
    category_id: uuid.UUID
    names: Names
    service_code: Code


class ReasonUpdate(PatchBody):
    """Fields to change; a reason in use is deactivated rather than deleted."""

    clearable = frozenset({"season_start", "season_end"})

    names: Names | None = None
    sla_amount: float | None = Field(default=None, gt=0, le=365)
    sla_unit: TimeUnit | None = None
    moderation_sla_hours: float | None = Field(default=None, gt=0, le=24 * 30)
    needs_answer_moderation: bool | None = None
    requires_photo: bool | None = None
    building_bound: bool | None = None
    duplicate_radius_m: int | None = Field(default=None, ge=0, le=5000)
    season_start: str | None = Field(default=None, pattern=r"^\d{2}-\d{2}$", description="MM-DD")
    season_end: str | None = Field(default=None, pattern=r"^\d{2}-\d{2}$", description="MM-DD")
    attributes: list[AttributeDefinition] | None = Field(default=None, max_length=30)
    position: Position | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _season(self) -> ReasonUpdate:
        if ("season_start" in self.model_fields_set) != ("season_end" in self.model_fields_set):
            raise ValueError("season_start and season_end change together (null clears both)")
        _check_season(self.season_start, self.season_end)
        return self

    @field_validator("attributes")
    @classmethod
    def _unique(cls, value: list[AttributeDefinition] | None) -> list[AttributeDefinition] | None:
        return _check_unique_codes(value) if value is not None else None


class ReasonPublic(BaseModel):
    id: uuid.UUID
    code: str
    category_id: uuid.UUID
    name: str
    names: dict[str, str]
    sla_amount: float
    sla_unit: TimeUnit
    moderation_sla_hours: float
    needs_answer_moderation: bool
    requires_photo: bool
    building_bound: bool
    season_start: str | None
    season_end: str | None
    duplicate_radius_m: int
    service_code: str
    attributes: list[dict[str, Any]]
    active: bool


class CategoryPublic(BaseModel):
    id: uuid.UUID
    code: str
    object_type_id: uuid.UUID
    name: str
    names: dict[str, str]
    active: bool
    reasons: list[ReasonPublic] = Field(default_factory=list)


class ObjectTypePublic(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    names: dict[str, str]
    active: bool
    categories: list[CategoryPublic] = Field(default_factory=list)


class Catalog(BaseModel):
    language: str
    object_types: list[ObjectTypePublic]

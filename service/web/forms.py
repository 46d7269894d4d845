"""Forms: the API's own schemas check what a form sends (no rule written twice), and their
errors come back as messages by field, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from service.errors import AppError
from service.languages import Language
from service.web.i18n import N_, translate

M = TypeVar("M", bound=BaseModel)

# Pydantic's error types, said for a person filling in a form.
MESSAGES = {
    "missing": N_("Fill in this field."),
    "string_too_short": N_("This is too short."),
    "string_too_long": N_("This is too long."),
    "value_error": N_("This value is not valid."),
    "string_pattern_mismatch": N_("This value is not valid."),
    "greater_than_equal": N_("This number is too small."),
    "less_than_equal": N_("This number is too large."),
    "int_parsing": N_("Give a whole number."),
    "float_parsing": N_("Give a number."),
    "uuid_parsing": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "date_from_datetime_parsing": N_("Give a date."),
    "date_parsing": N_("Give a date."),
    "bool_parsing": N_("Choose yes or no."),
}


class FormErrors(dict[str, str]):
    """Messages by field name; ``""`` holds what belongs to the whole form."""


def field_errors(error: ValidationError, language: Language) -> FormErrors:
    errors = FormErrors()
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if not isinstance(part, int)]
        name = location[-1] if location else ""
        message = MESSAGES.get(item.get("type", ""), N_("This value is not valid."))
        errors.setdefault(name, translate(language, message))
    return errors


def app_error(error: AppError, language: Language, field: str = "") -> FormErrors:
    """A service's refusal, next to ``field`` (or above the form). The service's own sentence
    is English; the page shows it in the reader's language when the catalogue has it."""
    errors = FormErrors()
    for item in error.extensions.get("errors", []) or []:
        if isinstance(item, Mapping) and item.get("field"):
            errors.setdefault(str(item["field"]), translate(language, str(item.get("detail", ""))))
    errors.setdefault(field, translate(language, error.detail))
    return errors


def parse(model: type[M], values: Mapping[str, Any]) -> M:
    """``values`` checked by the API schema ``model`` (raises pydantic's ValidationError)."""
    return model.model_validate(dict(values))


def text_fields(form: FormData, *names: str) -> dict[str, str]:
    """The named fields of a posted form as strings (files and absent fields left out)."""
    found: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            found[name] = value
    return found


def filled(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields a person filled in: a blank field of a form is one not given, as the API's
    optional fields are absent rather than empty."""
    return {name: value for name, value in fields.items() if value.strip()}


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site (no ``//host`` or ``https://``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target

"""What an answer to each kind of question may be, checked before it is stored."""

from __future__ import annotations

from typing import Any

from service.errors import InvalidInput
from service.lab.models import Question, QuestionKind

LIKERT = ("1", "2", "3", "4", "5")


def _refuse(question: Question, message: str) -> InvalidInput:
    return InvalidInput(f"Question {question.position + 1}: {message}", field="answers")


def checked_value(question: Question, value: Any) -> Any:
    """The value to store for ``question``, or 422 naming the question."""
    codes = [option["code"] for option in question.options]
    if question.kind == QuestionKind.likert:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise _refuse(question, "a whole number from 1 to 5.")
        return value
    if question.kind == QuestionKind.single:
        if not isinstance(value, str) or value not in codes:
            raise _refuse(question, "one of the options.")
        return value
    if question.kind == QuestionKind.multiple:
        if (
            not isinstance(value, list)
            or not value
            or len(set(value)) != len(value)
            or any(code not in codes for code in value)
        ):
            raise _refuse(question, "one or more of the options, each once.")
        return sorted(value, key=codes.index)
    if question.kind == QuestionKind.number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _refuse(question, "a number.")
        if question.min_value is not None and value < question.min_value:
            raise _refuse(question, f"at least {question.min_value:g}.")
        if question.max_value is not None and value > question.max_value:
            raise _refuse(question, f"at most {question.max_value:g}.")
        return value
    if not isinstance(value, str) or not value.strip():
        raise _refuse(question, "a text.")
    return value.strip()

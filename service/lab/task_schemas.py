"""What enters and leaves the living lab's API about tasks: surveys and diaries with their
questions, a tester's answers, and the results (suppressed, see ``suppression.py``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.fields import FiniteFloat, PlainText
from service.lab.models import QuestionKind, TaskKind
from service.lab.schemas import ParticipationPublic, Texts

OptionCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class OptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: OptionCode
    text: Texts


class QuestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    text: Texts
    options: Annotated[list[OptionCreate], Field(max_length=20)] = Field(default_factory=list)
    min_value: FiniteFloat | None = None
    max_value: FiniteFloat | None = None
    required: bool = True

    @model_validator(mode="after")
    def _coherent(self) -> QuestionCreate:
        choice = self.kind in (QuestionKind.single, QuestionKind.multiple)
        if choice and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if not choice and self.options:
            raise ValueError("only choice questions have options")
        if len({option.code for option in self.options}) != len(self.options):
            raise ValueError("two options share a code")
        if self.kind is not QuestionKind.number and (
            self.min_value is not None or self.max_value is not None
        ):
            raise ValueError("only number questions have bounds")
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value >= self.max_value
        ):
            raise ValueError("min_value must be below max_value")
        return self


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TaskKind
    title: Texts
    instructions: Texts | None = None
    opens_at: AwareDatetime
    due_at: AwareDatetime
    questions: Annotated[list[QuestionCreate], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _period(self) -> TaskCreate:
        if self.due_at <= self.opens_at:
            raise ValueError("due_at must be after opens_at")
        return self


class OptionPublic(BaseModel):
    code: str
    text: Texts


class QuestionPublic(BaseModel):
    id: uuid.UUID
    position: int
    kind: QuestionKind
    text: Texts
    options: list[OptionPublic]
    min_value: float | None
    max_value: float | None
    required: bool


class TaskPublic(BaseModel):
    id: uuid.UUID
    kind: TaskKind
    title: Texts
    instructions: Texts | None
    opens_at: datetime
    due_at: datetime
    questions: list[QuestionPublic]


class TaskList(BaseModel):
    items: list[TaskPublic]


# --- the tester's side --------------------------------------------------------------------


class OptionForTester(BaseModel):
    code: str
    text: str


class QuestionForTester(BaseModel):
    id: uuid.UUID
    kind: QuestionKind
    text: str
    options: list[OptionForTester]
    min_value: float | None
    max_value: float | None
    required: bool


class TaskForTester(BaseModel):
    """A task in the tester's language: what is asked, and until when."""

    id: uuid.UUID
    kind: TaskKind
    title: str
    instructions: str
    opens_at: datetime
    due_at: datetime
    open: bool = Field(description="It may be answered now.")
    answered: bool = Field(description="Survey: answered. Diary: today's entry is in.")
    entries: int = Field(description="My answers to it (a diary's entries).")
    questions: list[QuestionForTester]


class ParticipationDetail(ParticipationPublic):
    tasks: list[TaskForTester]


AnswerValue = (
    int
    | FiniteFloat
    | Annotated[str, StringConstraints(max_length=4000), PlainText]
    | Annotated[list[OptionCode], Field(max_length=20)]
)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: uuid.UUID
    value: AnswerValue


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: Annotated[list[AnswerIn], Field(max_length=50)]
    share_text: bool = Field(
        default=False,
        description="My free text may be shown, as I wrote it, to the pilot's organisation.",
    )
    entry_on: date | None = Field(
        default=None, description="A diary entry's day (the city's today when left out)."
    )


class ResponseReceipt(BaseModel):
    task_id: uuid.UUID
    entry_on: date | None
    submitted_at: datetime


# --- results ------------------------------------------------------------------------------


class ResultCell(BaseModel):
    option: str
    count: int | None = Field(description="Null: suppressed (a small cell, or its complement).")


class ResultRow(BaseModel):
    stratum: str = Field(description="A stratum, `other strata` (suppressed ones), or `all`.")
    respondents: int | None
    cells: list[ResultCell]
    mean: float | None = None
    median: float | None = None


class QuestionResult(BaseModel):
    position: int
    kind: QuestionKind
    text: Texts
    rows: list[ResultRow]
    shared_texts: list[str] = Field(
        default_factory=list,
        description="Free texts their writers agreed to share, without who or where.",
    )


class TaskResult(BaseModel):
    position: int
    kind: TaskKind
    title: Texts
    closes_at: datetime
    final: bool = Field(
        description="False: the task is still open, and its figures are shown once it closes."
    )
    respondents: int | None
    questions: list[QuestionResult]


class PilotResults(BaseModel):
    pilot: str
    organisation: str
    starts_on: date
    ends_on: date
    minimum_group: int
    rule: str
    tasks: list[TaskResult]

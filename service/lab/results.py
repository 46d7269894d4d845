"""A pilot's results per question and stratum, suppressed (``suppression.py``), and their
export for the organisation (CSV, JSON). Nothing here carries a person: answers are read
with their stratum only (``repository.answers_of_pilot``), free text only where its writer
agreed to share it and only for questions five or more people answered, without its
stratum, in alphabetical order (not the order it came in), with email addresses and phone
numbers blanked. A task's figures are shown only once it closed (or its pilot ended), so
that no two looks differ by one person's answers."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.lab import access, repository
from service.lab.answers import LIKERT
from service.lab.models import Pilot, PilotState, Question, QuestionKind, Task
from service.lab.suppression import ALL, MINIMUM_GROUP, Group, suppress
from service.lab.task_schemas import (
    PilotResults,
    QuestionResult,
    ResultCell,
    ResultRow,
    TaskResult,
)

RULE = (
    f"Groups of fewer than {MINIMUM_GROUP} testers are not shown: such strata are merged into "
    f"'other strata' (with more until it holds {MINIMUM_GROUP}), counts of 1-{MINIMUM_GROUP - 1} "
    "are hidden, and so is a second cell of any row or column that would otherwise give a "
    "hidden one away. Free text only where its writer agreed, without its stratum."
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")
REMOVED = "[removed]"


def _options(question: Question) -> list[str]:
    if question.kind == QuestionKind.likert:
        return list(LIKERT)
    if question.kind in (QuestionKind.single, QuestionKind.multiple):
        return [option["code"] for option in question.options]
    return []


def _chosen(question: Question, value: Any) -> list[str]:
    if question.kind == QuestionKind.likert:
        return [str(value)]
    if question.kind == QuestionKind.single:
        return [value]
    if question.kind == QuestionKind.multiple:
        return list(value)
    return []


def _blank_contacts(text: str) -> str:
    return PHONE.sub(REMOVED, EMAIL.sub(REMOVED, text))


def _question_result(question: Question, answers: list[Any]) -> QuestionResult:
    """``answers``: (participation id, stratum, value, share_text) of this question."""
    options = _options(question)
    people: dict[str, set[uuid.UUID]] = defaultdict(set)
    chose: dict[str, dict[str, set[uuid.UUID]]] = defaultdict(lambda: defaultdict(set))
    values: dict[str, list[float]] = defaultdict(list)
    for participation_id, stratum, value, _ in answers:
        people[stratum].add(participation_id)
        for option in _chosen(question, value):
            chose[stratum][option].add(participation_id)
        if question.kind in (QuestionKind.number, QuestionKind.likert):
            values[stratum].append(float(value))
    groups = [
        Group(
            stratum=stratum,
            respondents=len(people[stratum]),
            counts={o: len(chose[stratum][o]) for o in options},
            values=tuple(values[stratum]),
        )
        for stratum in sorted(people)
    ]
    rows = suppress(groups, options)
    numbers = question.kind in (QuestionKind.number, QuestionKind.likert)
    shown_total = rows[-1].respondents is not None
    texts: list[str] = []
    if question.kind == QuestionKind.text and shown_total:
        texts = sorted(_blank_contacts(str(value)) for _, _, value, shared in answers if shared)
    return QuestionResult(
        position=question.position,
        kind=question.kind,
        text=question.text,
        rows=[
            ResultRow(
                stratum=row.stratum,
                respondents=row.respondents,
                cells=[ResultCell(option=o, count=c) for o, c in row.counts.items()],
                mean=row.mean if numbers else None,
                median=row.median if numbers else None,
            )
            for row in rows
        ],
        shared_texts=texts,
    )


def _task_result(
    task: Task, questions: list[Question], answers: list[Any], final: bool
) -> TaskResult:
    if not final:
        return TaskResult(
            position=task.position,
            kind=task.kind,
            title=task.title,
            closes_at=task.due_at,
            final=False,
            respondents=None,
            questions=[],
        )
    respondents = len({a[2] for a in answers})
    return TaskResult(
        position=task.position,
        kind=task.kind,
        title=task.title,
        closes_at=task.due_at,
        final=True,
        respondents=respondents if respondents >= MINIMUM_GROUP else None,
        questions=[
            _question_result(q, [a[2:] for a in answers if a[1] == q.id]) for q in questions
        ],
    )


def _final(pilot: Pilot, task: Task, now: datetime) -> bool:
    """A task's figures are shown once no answer can be added: two looks at growing figures
    would otherwise give away the answers of whoever came in between."""
    return task.due_at <= now or pilot.state in (PilotState.finished, PilotState.cancelled)


async def compute(session: AsyncSession, pilot: Pilot, now: datetime) -> PilotResults:
    found = await repository.tasks(session, pilot.id)
    questions = await repository.questions(session, [t.id for t in found])
    answers = await repository.answers_of_pilot(session, pilot.id)
    return PilotResults(
        pilot=pilot.title,
        organisation=pilot.organisation,
        starts_on=pilot.starts_on,
        ends_on=pilot.ends_on,
        minimum_group=MINIMUM_GROUP,
        rule=RULE,
        tasks=[
            _task_result(
                task,
                [q for q in questions if q.task_id == task.id],
                [a for a in answers if a[0] == task.id],
                _final(pilot, task, now),
            )
            for task in found
        ],
    )


async def pilot_results(
    session: AsyncSession, actor: Actor, pilot_id: uuid.UUID, now: datetime
) -> PilotResults:
    return await compute(session, await access.managed_pilot(session, actor, pilot_id), now)


CSV_COLUMNS = [
    "task",
    "task_kind",
    "question",
    "question_kind",
    "question_text",
    "stratum",
    "respondents",
    "option",
    "count",
    "mean",
    "median",
    "shared_text",
]


def _shown(value: object) -> object:
    return "suppressed" if value is None else value


def _inert(text: str) -> str:
    """A text a spreadsheet will not take for a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(results: PilotResults) -> str:
    """One line per (question, stratum, option), a line per shared text; hidden figures read
    ``suppressed``. Question texts in English (the JSON export has all three)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for task in results.tasks:
        for question in task.questions:
            start = [task.position + 1, task.kind, question.position + 1, question.kind]
            start.append(question.text.en)
            for row in question.rows:
                numbers = ["" if n is None else n for n in (row.mean, row.median)]
                cells: list[ResultCell | None] = [*row.cells] or [None]
                for cell in cells:
                    writer.writerow(
                        [
                            *start,
                            row.stratum,
                            _shown(row.respondents),
                            cell.option if cell else "",
                            _shown(cell.count) if cell else "",
                            *numbers,
                            "",
                        ]
                    )
            for text in question.shared_texts:
                writer.writerow([*start, ALL, "", "", "", "", "", _inert(text)])
    return out.getvalue()

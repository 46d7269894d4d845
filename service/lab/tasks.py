"""Tasks of a pilot: surveys (answered once) and diaries (an entry a day over the task's
period), what the tester sees of them in their language, answering them, and the worker's
notices: a task opening, and a reminder a day before it is due to testers who owe it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.city import service as city
from service.errors import Conflict, InvalidInput, NotFound
from service.lab import access, repository
from service.lab.answers import checked_value
from service.lab.models import (
    Answer,
    Participation,
    ParticipationStatus,
    Pilot,
    PilotState,
    Question,
    Task,
    TaskKind,
    TaskResponse,
)
from service.lab.schemas import ParticipationPublic, PilotForTester
from service.lab.task_schemas import (
    OptionForTester,
    ParticipationDetail,
    QuestionForTester,
    QuestionPublic,
    ResponseCreate,
    TaskCreate,
    TaskForTester,
    TaskPublic,
)
from service.notifications.dispatch import Notice, notify
from service.readable import time_value

# Testers see a pilot's tasks once they accepted, for as long as the pilot lasts and after.
SEES_TASKS = (ParticipationStatus.accepted, ParticipationStatus.completed)


async def create_task(
    session: AsyncSession, actor: Actor, pilot_id: uuid.UUID, body: TaskCreate, now: datetime
) -> Task:
    pilot = await access.managed_pilot(session, actor, pilot_id, lock=True)
    if pilot.state in (PilotState.finished, PilotState.cancelled):
        raise Conflict(f"The pilot is {pilot.state}.", reason="pilot_closed")
    position = len(await repository.tasks(session, pilot.id))
    task = Task(
        pilot_id=pilot.id,
        kind=body.kind,
        title=body.title.model_dump(),
        instructions=body.instructions.model_dump() if body.instructions else {},
        opens_at=body.opens_at,
        due_at=body.due_at,
        position=position,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    for number, question in enumerate(body.questions):
        session.add(
            Question(
                task_id=task.id,
                position=number,
                kind=question.kind,
                text=question.text.model_dump(),
                options=[option.model_dump() for option in question.options],
                min_value=question.min_value,
                max_value=question.max_value,
                required=question.required,
            )
        )
    await session.flush()
    return task


def task_public(task: Task, questions: list[Question]) -> TaskPublic:
    return TaskPublic.model_validate(
        {
            "id": task.id,
            "kind": task.kind,
            "title": task.title,
            "instructions": task.instructions or None,
            "opens_at": task.opens_at,
            "due_at": task.due_at,
            "questions": [
                QuestionPublic.model_validate(q, from_attributes=True) for q in questions
            ],
        }
    )


async def task_view(session: AsyncSession, task: Task) -> TaskPublic:
    return task_public(task, await repository.questions(session, [task.id]))


async def pilot_tasks(session: AsyncSession, actor: Actor, pilot_id: uuid.UUID) -> list[TaskPublic]:
    pilot = await access.managed_pilot(session, actor, pilot_id)
    found = await repository.tasks(session, pilot.id)
    questions = await repository.questions(session, [t.id for t in found])
    return [task_public(t, [q for q in questions if q.task_id == t.id]) for t in found]


# --- the tester's side --------------------------------------------------------------------


def _in(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def pilot_for_tester(pilot: Pilot) -> PilotForTester:
    return PilotForTester.model_validate(pilot, from_attributes=True)


async def _today(session: AsyncSession, now: datetime) -> Any:
    return now.astimezone(ZoneInfo(await city.city_timezone(session))).date()


async def participation_public(
    session: AsyncSession, participation: Participation, pilot: Pilot, now: datetime
) -> ParticipationPublic:
    open_tasks = 0
    if participation.status in SEES_TASKS and pilot.state == PilotState.running:
        detail = await _tester_tasks(session, participation, pilot, "en", now)
        open_tasks = sum(1 for t in detail if t.open and not t.answered)
    return ParticipationPublic(
        id=participation.id,
        pilot=pilot_for_tester(pilot),
        status=participation.status,
        invited_at=participation.invited_at,
        respond_by=participation.respond_by,
        responded_at=participation.responded_at,
        open_tasks=open_tasks,
    )


async def my_participations(
    session: AsyncSession, actor: Actor, now: datetime
) -> list[ParticipationPublic]:
    return [
        await participation_public(session, p, pilot, now)
        for p, pilot in await repository.participations_of(session, actor.user_id)
    ]


async def _tester_tasks(
    session: AsyncSession, participation: Participation, pilot: Pilot, language: str, now: datetime
) -> list[TaskForTester]:
    found = await repository.tasks(session, pilot.id)
    questions = await repository.questions(session, [t.id for t in found])
    mine = await repository.entries(session, participation.id)
    today = await _today(session, now)
    items = []
    for task in found:
        entries = [r for r in mine if r.task_id == task.id]
        answered = (
            any(r.entry_on == today for r in entries)
            if task.kind == TaskKind.diary
            else bool(entries)
        )
        items.append(
            TaskForTester(
                id=task.id,
                kind=task.kind,
                title=_in(task.title, language),
                instructions=_in(task.instructions, language) if task.instructions else "",
                opens_at=task.opens_at,
                due_at=task.due_at,
                open=pilot.state == PilotState.running
                and participation.status == ParticipationStatus.accepted
                and task.opens_at <= now < task.due_at,
                answered=answered,
                entries=len(entries),
                questions=[
                    QuestionForTester(
                        id=q.id,
                        kind=q.kind,
                        text=_in(q.text, language),
                        options=[
                            OptionForTester(code=o["code"], text=_in(o["text"], language))
                            for o in q.options
                        ],
                        min_value=q.min_value,
                        max_value=q.max_value,
                        required=q.required,
                    )
                    for q in questions
                    if q.task_id == task.id
                ],
            )
        )
    return items


async def participation_detail(
    session: AsyncSession, actor: Actor, participation_id: uuid.UUID, now: datetime
) -> ParticipationDetail:
    """One's participation with the tasks asked of one (once accepted) and until when."""
    participation = await access.own_participation(session, actor, participation_id)
    pilot = await repository.pilot(session, participation.pilot_id)
    assert pilot is not None
    public = await participation_public(session, participation, pilot, now)
    tasks = []
    if participation.status in SEES_TASKS:
        tasks = await _tester_tasks(session, participation, pilot, str(actor.language), now)
    return ParticipationDetail(**public.model_dump(), tasks=tasks)


async def submit(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, body: ResponseCreate, now: datetime
) -> TaskResponse:
    """A tester's answers to a task: a survey once, a diary once a day within its period."""
    task = await repository.task(session, task_id)
    participation = (
        await repository.participation_of(session, task.pilot_id, actor.user_id)
        if task is not None
        else None
    )
    if task is None or participation is None or participation.status not in SEES_TASKS:
        raise NotFound("No such task.")
    pilot = await repository.pilot(session, task.pilot_id)
    assert pilot is not None
    if (
        pilot.state != PilotState.running
        or participation.status != ParticipationStatus.accepted
        or not task.opens_at <= now < task.due_at
    ):
        raise Conflict("The task is not open for answers.", reason="task_closed")
    entry_on = None
    if task.kind == TaskKind.diary:
        zone = ZoneInfo(await city.city_timezone(session))
        today = now.astimezone(zone).date()
        entry_on = body.entry_on or today
        if not task.opens_at.astimezone(zone).date() <= entry_on <= today:
            raise InvalidInput(
                "A diary entry is for a day of the task, up to today.", field="entry_on"
            )
    elif body.entry_on is not None:
        raise InvalidInput("Only diary entries have a day.", field="entry_on")
    questions = {q.id: q for q in await repository.questions(session, [task.id])}
    given: dict[uuid.UUID, Any] = {}
    for answer in body.answers:
        question = questions.get(answer.question_id)
        if question is None or answer.question_id in given:
            raise InvalidInput(
                "An answer names another task's question, or one twice.", field="answers"
            )
        given[question.id] = checked_value(question, answer.value)
    missing = [q for q in questions.values() if q.required and q.id not in given]
    if missing:
        raise InvalidInput(f"Question {missing[0].position + 1} needs an answer.", field="answers")
    exists = await session.scalar(
        select(col(TaskResponse.id)).where(
            col(TaskResponse.task_id) == task.id,
            col(TaskResponse.participation_id) == participation.id,
            col(TaskResponse.entry_on).is_(None)
            if entry_on is None
            else col(TaskResponse.entry_on) == entry_on,
        )
    )
    if exists is not None:
        raise Conflict("You answered this already.", reason="already_answered")
    response = TaskResponse(
        task_id=task.id,
        participation_id=participation.id,
        entry_on=entry_on,
        share_text=body.share_text,
        submitted_at=now,
    )
    session.add(response)
    await session.flush()
    for question_id, value in given.items():
        session.add(Answer(response_id=response.id, question_id=question_id, value=value))
    await session.flush()
    return response


# --- the worker ---------------------------------------------------------------------------


def _values(task: Task, zone: str) -> dict[str, object]:
    """The task's title in each language (each reader's template takes its own)."""
    titles = {f"title_{language}": text for language, text in task.title.items()}
    return {**titles, "due": time_value(task.due_at, zone)}


@dataclass(frozen=True)
class SweepResult:
    announced: int
    reminded: int
    expired: int


async def tell_testers(session: AsyncSession, now: datetime, batch: int = 50) -> tuple[int, int]:
    """Announce tasks that opened and remind testers who owe a task due within a day."""
    zone = await city.city_timezone(session)
    announced = await repository.claim_tasks(session, now, batch, reminder=False)
    for task in announced:
        task.announced_at = now
        people = await repository.accepted_testers(session, task.pilot_id)
        if people:
            await notify(
                session,
                Notice(
                    "lab_task_opened",
                    f"lab_task_opened:{task.id}",
                    "lab_task_opened",
                    _values(task, zone),
                ),
                people,
                now=now,
            )
    reminded = await repository.claim_tasks(session, now, batch, reminder=True)
    for task in reminded:
        task.reminded_at = now
        today = now.astimezone(ZoneInfo(zone)).date()
        owing = await repository.owing_testers(
            session, task, entry_on=today if task.kind == TaskKind.diary else None
        )
        if owing:
            await notify(
                session,
                Notice(
                    "lab_task_reminder",
                    f"lab_task_reminder:{task.id}",
                    "lab_task_reminder",
                    _values(task, zone),
                ),
                owing,
                now=now,
            )
    await session.flush()
    return len(announced), len(reminded)

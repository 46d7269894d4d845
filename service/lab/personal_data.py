"""A person's part of the living lab: their panel membership and profile, the pilots they
were drawn for, and their answers.

Erasure deletes the membership (the profile with it), ends open participations and detaches
every participation from the person: the stratum they were drawn in and their answers stay,
held by nobody, so a pilot's results stay true. Free text they wrote is deleted (it may name
them, whatever they agreed to share).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.lab.models import (
    Answer,
    PanelMember,
    Participation,
    Pilot,
    Question,
    QuestionKind,
    Task,
    TaskResponse,
)
from service.lab.panel import end_open_participations
from service.privacy.registry import Erasure, Export, Owned, Person, PersonalData, rows


async def _participations(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(Pilot.code).label("pilot"),
                col(Pilot.title),
                col(Participation.stratum),
                col(Participation.status),
                col(Participation.invited_at),
                col(Participation.respond_by),
                col(Participation.responded_at),
                col(Participation.ended_at),
            )
            .join(Pilot, col(Pilot.id) == col(Participation.pilot_id))
            .where(col(Participation.user_id) == person.id)
            .order_by(col(Participation.invited_at))
        )
    )


async def _answers(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(Pilot.code).label("pilot"),
                col(Task.title).label("task"),
                col(Question.text).label("question"),
                col(Answer.value),
                col(TaskResponse.entry_on),
                col(TaskResponse.share_text),
                col(TaskResponse.submitted_at),
            )
            .join(TaskResponse, col(TaskResponse.id) == col(Answer.response_id))
            .join(Question, col(Question.id) == col(Answer.question_id))
            .join(Task, col(Task.id) == col(TaskResponse.task_id))
            .join(Participation, col(Participation.id) == col(TaskResponse.participation_id))
            .join(Pilot, col(Pilot.id) == col(Participation.pilot_id))
            .where(col(Participation.user_id) == person.id)
            .order_by(col(TaskResponse.submitted_at), col(Question.position))
        )
    )


EXPORT: dict[str, Owned | Export] = {
    "panel": Owned(
        PanelMember,
        owner="user_id",
        columns=(
            "consent_version",
            "consented_at",
            "joined_at",
            "updated_at",
            "age_band",
            "household_size",
            "languages",
            "devices",
            "accessibility_needs",
            "building_id",
            "district_id",
        ),
        one=True,
    ),
    "participations": _participations,
    "answers": _answers,
}


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    changed = 0
    left = await session.execute(delete(PanelMember).where(col(PanelMember.user_id) == person.id))
    changed += int(getattr(left, "rowcount", 0) or 0)
    changed += await end_open_participations(session, person.id, erasure.now)
    mine = select(col(Participation.id)).where(col(Participation.user_id) == person.id)
    texts = await session.execute(
        delete(Answer).where(
            col(Answer.response_id).in_(
                select(col(TaskResponse.id)).where(col(TaskResponse.participation_id).in_(mine))
            ),
            col(Answer.question_id).in_(
                select(col(Question.id)).where(col(Question.kind) == QuestionKind.text)
            ),
        )
    )
    changed += int(getattr(texts, "rowcount", 0) or 0)
    detached = await session.execute(
        update(Participation).where(col(Participation.user_id) == person.id).values(user_id=None)
    )
    return changed + int(getattr(detached, "rowcount", 0) or 0)


PERSONAL_DATA = PersonalData(section="living_lab", export=EXPORT, erase=erase)

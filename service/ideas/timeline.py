"""The timeline of an idea and the notices its stages send.

Public events carry no actor and nothing about who reviewed: the timeline is read by
everyone, the experts included. Notices go through the notifications dispatch (outbox,
preferences, once per event key) and name neither the author to experts nor the experts to
the author.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.ideas.models import Idea, IdeaEvent, IdeaState
from service.notifications.dispatch import Notice, notify


def record_event(
    session: AsyncSession,
    idea: Idea,
    actor_id: uuid.UUID | None,
    event_type: str,
    now: datetime,
    *,
    from_state: IdeaState | str | None = None,
    public: bool = True,
    **details: Any,
) -> None:
    """Append one event; a state change is named by ``from_state`` and the idea's state."""
    session.add(
        IdeaEvent(
            idea_id=idea.id,
            actor_id=actor_id,
            type=event_type,
            from_state=str(from_state) if from_state is not None else None,
            to_state=str(idea.state) if from_state is not None else None,
            public=public,
            details=details,
            created_at=now,
        )
    )


def move(idea: Idea, target: IdeaState, now: datetime) -> IdeaState:
    """Set the idea's state; returns the state it left."""
    previous = IdeaState(idea.state)
    idea.state = target
    idea.updated_at = now
    return previous


async def tell_author(
    session: AsyncSession, idea: Idea, template: str, now: datetime, **values: object
) -> None:
    """A stage notice to the idea's author, once per idea, attempt and template."""
    author = await session.get(User, idea.author_id)
    if author is None:
        return
    await notify(
        session,
        Notice(
            template,
            f"{template}:{idea.id}:{idea.attempt}",
            template,
            {"title": idea.title, **values},
        ),
        [author],
        now=now,
    )


async def tell_people(
    session: AsyncSession,
    people: list[User],
    template: str,
    key: str,
    now: datetime,
    **values: object,
) -> None:
    if people:
        await notify(session, Notice(template, key, template, dict(values)), people, now=now)

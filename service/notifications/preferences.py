"""People's notification preferences: per event type and channel, on unless turned off.

Legal notices (``events.EVENT_TYPES`` marked ``legal``, or a notice sent as legal) are
delivered whatever the preferences say, and turning one off is refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import InvalidInput
from service.notifications import repository
from service.notifications.events import EVENT_TYPES
from service.notifications.models import Channel
from service.notifications.schemas import PreferenceChange, PreferencePublic, Preferences


async def get_preferences(session: AsyncSession, actor: Actor) -> Preferences:
    """Every event type with the actor's choice for each channel (on by default)."""
    saved = await repository.preferences(session, actor.user_id)
    return Preferences(
        items=[
            PreferencePublic(
                event_type=event.name,
                description=event.description,
                legal=event.legal,
                email=event.legal or saved.get((event.name, Channel.email), True),
                inbox=event.legal or saved.get((event.name, Channel.inbox), True),
            )
            for event in EVENT_TYPES.values()
        ]
    )


async def set_preferences(
    session: AsyncSession, actor: Actor, changes: list[PreferenceChange], now: datetime
) -> Preferences:
    """Apply ``changes`` (all or none): 422 for an unknown event type or for turning off a
    legal notice."""
    for index, change in enumerate(changes):
        event = EVENT_TYPES.get(change.event_type)
        if event is None:
            raise InvalidInput(
                f"Unknown event type {change.event_type!r}.",
                field=f"items[{index}].event_type",
                known=sorted(EVENT_TYPES),
            )
        if event.legal and False in (change.email, change.inbox):
            raise InvalidInput(
                f"{event.name} is a legal notice: the city must deliver it, so it cannot be "
                "turned off.",
                field=f"items[{index}]",
                reason="legal_notice",
            )
    for change in changes:
        for channel, enabled in ((Channel.email, change.email), (Channel.inbox, change.inbox)):
            if enabled is not None:
                await repository.save_preference(
                    session, actor.user_id, change.event_type, channel, enabled, now
                )
    return await get_preferences(session, actor)

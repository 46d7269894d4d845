"""Recording security and administrative events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor_user_id: uuid.UUID | None = None,
    actor_api_key_id: uuid.UUID | None = None,
    ip: str | None = None,
    subject_type: str | None = None,
    subject_id: uuid.UUID | str | None = None,
    **details: Any,
) -> None:
    """Append one event to the audit log, in the caller's transaction."""
    session.add(
        AuditEvent(
            action=action,
            actor_user_id=actor_user_id,
            actor_api_key_id=actor_api_key_id,
            ip=ip,
            subject_type=subject_type,
            subject_id=str(subject_id) if subject_id is not None else None,
            details=details,
        )
    )


# The action of a read by staff that revealed someone's personal data.
PERSONAL_DATA_READ = "personal_data.read"


async def record_personal_data_read(
    session: AsyncSession,
    actor: Any,
    subject_type: str,
    subject_ids: list[uuid.UUID],
    fields: list[str],
) -> None:
    """Log that ``actor`` (staff, a moderator, an admin or an API key) was shown the personal
    data ``fields`` of ``subject_ids``: one event per read, naming up to 100 subjects."""
    if not subject_ids:
        return
    await record(
        session,
        PERSONAL_DATA_READ,
        actor_user_id=None if actor.is_api_key else actor.user_id,
        actor_api_key_id=actor.api_key_id,
        ip=actor.ip,
        subject_type=subject_type,
        subject_id=subject_ids[0] if len(subject_ids) == 1 else None,
        subjects=[str(s) for s in subject_ids[:100]],
        count=len(subject_ids),
        fields=fields,
    )

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

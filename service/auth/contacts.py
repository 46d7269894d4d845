"""Contact reporters: an account made for an address that someone else gave.

An Open311 client, a partner filing on behalf or an ambassador helping a neighbour names
the resident by email; an address without an account becomes a contact reporter: no
password, unverified, no sign-in. Registering the address later claims it through the
mailbox (``service.register``); the retention job erases a contact reporter once none of
their reports needs them (``reports.retention``).
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import repository
from service.auth.models import User
from service.db import table_of


async def contact_reporter(session: AsyncSession, email: str, language: str) -> User:
    """The account of ``email``, or a new contact reporter (no password, unverified, no
    sign-in) for it. Both cases look the same to the caller."""
    existing = await repository.user_by_email(session, email)
    if existing is not None:
        return existing
    table = table_of(User)
    # A concurrent filing for the same new address may create it first: then use that one.
    await session.execute(
        insert(table)
        .values(
            id=uuid.uuid4(),
            email=email,
            display_name="",
            language=language,
            password_hash="",
            contact_only=True,
        )
        .on_conflict_do_nothing()
    )
    created = await repository.user_by_email(session, email)
    assert created is not None
    return created

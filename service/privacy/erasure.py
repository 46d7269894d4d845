"""Erasing and exporting a person's data: every registered package's step, in order
(``service.privacy.registry``). Who may ask, and the account's checks, are identity's
(``service.auth.own_data``); the retention job erases contact reporters
(``service.reports.retention``).

Design: an anonymised tombstone per person, not a nullable ``reporter_id``.

``report.reporter_id`` is ``ON DELETE RESTRICT`` and much more than the report points at the
account: ratings (one per person per round), supports (one per person per report),
attendance (one per person per session), enrolments, confirmations. Deleting the account
would either fail or, through the cascades, delete those rows and change the city's figures
(average ratings, reopen rates, supporters, a programme's attendance and qualified count).
Making every one of those columns nullable would also drop the "one per person" rules the
unique keys enforce. One shared "erased user" would break the same keys as soon as two erased
people rated the same answer. So the account row stays as a per-person tombstone: a random id
with no email address, name, password, sessions, keys or roles, disabled, ``erased_at`` set.
Every statistic stays true, and nothing that remains says who the person was. Each package
removes or redacts what it holds in its registered step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.privacy.registry import Erasure, Person, export_section, steps


async def erase_person(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    """Run every package's erasure step for ``person``; returns the rows changed."""
    changed = 0
    for step in steps():
        changed += await step.erase(session, person, erasure)
    await session.flush()
    return changed


async def export_chunks(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person, now: datetime
) -> AsyncIterator[bytes]:
    """The export as a JSON object, one section at a time (each package's data is read and
    sent before the next one's), in a read-only transaction of its own."""
    yield b'{"format":"meielinn-export-1","exported_at":' + to_json(now)
    yield b',"user_id":' + to_json(person.id)
    async with sessionmaker() as session:
        for step in steps():
            section = await export_section(session, person, step)
            yield b"," + to_json(step.section) + b":" + to_json(section, fallback=str)
        await session.rollback()
    yield b"}"

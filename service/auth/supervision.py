"""How far a supervisor's grant reaches: the department it names and every one below it.

The tree of departments is the city's, and the city is a layer above identity (its routers,
like every package's, take this package's dependencies), so identity does not import it.
The entry points install the city's lookup here instead (``service.wiring``, imported by the
app, the worker and the command line), and the caller of a request is resolved through it
(``sessions``). Resolving a supervisor before the lookup is installed is an error, not a
narrower reach.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

# A department and every department below it.
SubtreeLookup = Callable[[AsyncSession, uuid.UUID], Awaitable[Iterable[uuid.UUID]]]

_installed: list[SubtreeLookup] = []


def install(subtree: SubtreeLookup) -> None:
    """Reach supervisors' subtrees through ``subtree`` (replacing any lookup before it)."""
    _installed[:] = [subtree]


async def supervised_departments(
    session: AsyncSession, departments: Iterable[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Every department at or below one of ``departments`` (those a person supervises)."""
    reach: set[uuid.UUID] = set()
    for department_id in departments:
        if not _installed:
            raise RuntimeError("No department tree is installed; import service.wiring first.")
        reach.update(await _installed[0](session, department_id))
    return frozenset(reach)

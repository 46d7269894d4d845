"""Lock conflicts between transactions: retried once, then answered 503, never 500.

The life cycle keeps one lock order (``service.reports.lifecycle``), so deadlocks between the
API and the worker should not happen; a deadlock or serialization failure that happens
anyway (a new code path, an operator's statement, ``SERIALIZABLE`` work) is not the caller's
fault. The error handler (``service.errors``) marks the request and answers 503 with
``Retry-After``; :class:`RetryOnLockConflict` sees the mark before the answer leaves and runs
the whole request once more, in a new transaction, with the same body. When the second run
conflicts too, its 503 goes out.

What the first run did outside the database (a rate-limit counter in Redis) is not undone:
a retried request may count twice against a throttle.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# deadlock_detected, serialization_failure
LOCK_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})
# Set in the request's scope by the error handler of a lock conflict.
RETRY_MARK = "meielinn.lock_conflict"
_READS = frozenset({"GET", "HEAD"})


def mark_for_retry(scope: MutableMapping[str, Any]) -> None:
    scope[RETRY_MARK] = True


class RetryOnLockConflict:
    """Runs a request a second time when its first run ended in a lock conflict."""

    def __init__(self, app: ASGIApp, *, reads: bool = False) -> None:
        self.app = app
        # With read replicas, a read that failed on one runs again on the primary.
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Reads (GET, HEAD) run without the recording: they take no locks that could
        # deadlock (a staff read adds an audit row, nothing that waits on another writer),
        # and the two wrappers cost a read a few percent.
        if scope["type"] != "http" or (scope["method"] in _READS and not self.reads):
            await self.app(scope, receive, send)
            return
        # The first run works on the request's own scope (the route it matched is logged
        # from there); a second run gets the scope as it came in.
        pristine = {**scope, "state": dict(scope.get("state", {}))}
        received: list[Message] = []
        held = False

        async def recording_receive() -> Message:
            message = await receive()
            received.append(message)
            return message

        async def holding_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and scope.get(RETRY_MARK):
                held = True
            if not held:
                await send(message)

        await self.app(scope, recording_receive, holding_send)
        if not held:
            return
        replay = iter(received)

        async def replaying_receive() -> Message:
            for message in replay:
                return message
            return await receive()

        second: Scope = {**pristine, "state": dict(pristine["state"])}
        try:
            await self.app(second, replaying_receive, send)
        finally:
            scope.clear()
            scope.update(second)


# Set in the request's scope when its public reads go to a replica: the callable marks that
# replica down (service.replicas).
REPLICA_FAILED = "meielinn.replica_failed"


def retry_on_primary(scope: MutableMapping[str, Any]) -> bool:
    """A database error on a replica's read: the replica is skipped from now on, and the
    request runs once more (on the primary). False when the request read no replica."""
    mark_down = scope.pop(REPLICA_FAILED, None)
    if mark_down is None:
        return False
    mark_down()
    mark_for_retry(scope)
    return True

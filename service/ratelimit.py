"""Rate limits in Redis through the ``limits`` library (moving windows)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import RedisSentinelStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from service.errors import TooManyRequests

__all__ = ["RateLimitItemPerHour", "RateLimitItemPerMinute", "RateLimiter"]


@dataclass(frozen=True)
class WindowState:
    limit: int
    remaining: int
    reset_in: int


class RateLimiter:
    def __init__(self, uri: str, **options: Any) -> None:
        """``uri``: a ``limits`` storage URI (``async+redis://…`` or
        ``async+redis+sentinel://…``, see ``service.redis_connections``)."""
        storage_class = RedisSentinelStorage if "+sentinel://" in uri else RedisStorage
        self._storage = storage_class(
            uri, implementation="redispy", key_prefix="meielinn:ratelimit", **options
        )
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, item: RateLimitItem, *key: str) -> bool:
        """Count one event; False when the window was already full."""
        return await self._limiter.hit(item, *key)

    async def test(self, item: RateLimitItem, *key: str) -> bool:
        """True when one more event would still fit the window (nothing is counted)."""
        return await self._limiter.test(item, *key)

    async def state(self, item: RateLimitItem, *key: str) -> WindowState:
        stats = await self._limiter.get_window_stats(item, *key)
        # The library stamps its windows with the system time, not the request's clock, so
        # the time left is measured on the library's clock.
        left = stats.reset_time - time.time()  # noqa: TID251
        return WindowState(
            limit=item.amount, remaining=stats.remaining, reset_in=max(1, int(left) + 1)
        )

    async def enforce(self, item: RateLimitItem, *key: str, detail: str) -> WindowState:
        """Count one event or raise 429 with ``Retry-After`` and ``RateLimit-*`` headers."""
        allowed = await self.hit(item, *key)
        state = await self.state(item, *key)
        if not allowed:
            raise TooManyRequests(
                detail, retry_after=state.reset_in, headers=rate_limit_headers(state)
            )
        return state

    async def refuse_when_full(self, item: RateLimitItem, *key: str, detail: str) -> None:
        """Raise 429 when the window is full, without counting this event."""
        if not await self.test(item, *key):
            state = await self.state(item, *key)
            raise TooManyRequests(
                detail, retry_after=state.reset_in, headers=rate_limit_headers(state)
            )

    async def reset(self, item: RateLimitItem, *key: str) -> None:
        await self._limiter.clear(item, *key)


def rate_limit_fields(
    limit: int, remaining: int, reset_seconds: int, window_seconds: int | None = None
) -> dict[str, str]:
    """The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers); with the
    window, its ``RateLimit-Policy`` too."""
    fields = {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(reset_seconds),
    }
    if window_seconds is not None:
        fields["RateLimit-Policy"] = f"{limit};w={window_seconds}"
    return fields


def rate_limit_headers(state: WindowState) -> dict[str, str]:
    """The RateLimit header fields of a moving window's state."""
    return rate_limit_fields(state.limit, state.remaining, state.reset_in)


async def _rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]

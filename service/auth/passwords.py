"""argon2id password hashing with parameters from settings, off the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.config import Settings


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password-only-for-equal-timing")


async def hash_password(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(hasher_for(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Check a password. With no hash (unknown account) a dummy hash is checked instead,
    so that the answer takes as long whether or not the account exists."""
    hasher = hasher_for(settings)
    target = password_hash or _dummy_hash(hasher)

    def check() -> bool:
        try:
            return hasher.verify(target, password)
        except (VerificationError, InvalidHashError):
            return False

    matched = await asyncio.to_thread(check)
    # An empty hash (a contact reporter, who has no password) never matches.
    return matched and bool(password_hash)


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher_for(settings).check_needs_rehash(password_hash)

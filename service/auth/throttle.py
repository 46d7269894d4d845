"""Throttling sign-in attempts and the emails a stranger can make us send.

Security decisions:

* **Counted before the password is checked, atomically.** Each attempt takes a place in
  Redis moving windows (``limits``' Lua script: check and record are one step on the
  server) before the password hash is computed. However many attempts arrive at once, no
  more than a window's size get to check a password; the earlier "check the failure count,
  verify, then count the failure" let every concurrent attempt through.
* **Three windows, so a stranger cannot lock the owner out.**
  - per client address, any account (``login_attempts_per_minute_per_ip``): one address
    spraying many accounts;
  - per account *and* address, tight (``login_attempts_per_minute_per_account_ip``):
    guessing one account from one place. Filling it blocks only that place;
  - per account, loose (``login_attempts_per_account`` in ``login_account_window_minutes``):
    guessing spread over many addresses. Addresses the account signed in from successfully
    in the last 30 days are exempt from it, so a stranger who fills it cannot keep the owner
    out of their usual devices; a new address waits out the window at worst.
  The account is the lower-cased address typed, whether or not an account has it, so a
  429 says nothing about whether the account exists.
* A successful sign-in empties its (account, address) window: a person who mistyped four
  times is not left with one try.
* **Emails to an address** (verification, password reset, the registration notice) are
  limited per address received (``account_emails_per_hour``) as well as per client address
  asking, so no one can use us to flood a mailbox.
"""

from __future__ import annotations

from datetime import timedelta

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from redis.asyncio import Redis

from service.auth.tokens import digest
from service.config import Settings
from service.ratelimit import RateLimiter

KNOWN_ADDRESS_TTL = timedelta(days=30)


def _account(email: str) -> str:
    return email.strip().lower()


class SignInThrottle:
    """The sign-in windows of one request (see the module's docstring)."""

    def __init__(self, limiter: RateLimiter, redis: Redis, settings: Settings) -> None:
        self._limiter = limiter
        self._redis = redis
        self._per_ip = RateLimitItemPerMinute(settings.login_attempts_per_minute_per_ip)
        self._per_account_ip = RateLimitItemPerMinute(
            settings.login_attempts_per_minute_per_account_ip
        )
        self._per_account = RateLimitItemPerMinute(
            settings.login_attempts_per_account, settings.login_account_window_minutes
        )

    def _known_key(self, account: str, ip: str) -> str:
        return f"meielinn:signin-known:{digest(account + chr(10) + ip)}"

    async def admit(self, email: str, ip: str) -> None:
        """Count one attempt at ``email``'s password from ``ip``, or raise 429."""
        account = _account(email)
        await self._limiter.enforce(
            self._per_ip,
            "signin-ip",
            ip,
            detail="Too many sign-in attempts from this address; try again shortly.",
        )
        await self._limiter.enforce(
            self._per_account_ip,
            "signin-account-ip",
            account,
            ip,
            detail="Too many sign-in attempts for this account; try again shortly.",
        )
        if await self._redis.exists(self._known_key(account, ip)):
            return
        await self._limiter.enforce(
            self._per_account,
            "signin-account",
            account,
            detail="Too many sign-in attempts for this account; try again later.",
        )

    async def succeeded(self, email: str, ip: str) -> None:
        """Remember ``ip`` as one the account signs in from, and empty its tight window."""
        account = _account(email)
        await self._redis.set(self._known_key(account, ip), b"1", ex=KNOWN_ADDRESS_TTL)
        await self._limiter.reset(self._per_account_ip, "signin-account-ip", account, ip)


class EmailThrottle:
    """Limits on asking for account emails: per client address and per address mailed."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self._limiter = limiter
        self._per_ip = RateLimitItemPerHour(settings.registrations_per_hour_per_ip)
        self._per_recipient = RateLimitItemPerHour(settings.account_emails_per_hour)

    async def admit_request(self, action: str, ip: str) -> None:
        """Count one ``action`` (register, password-reset, verify-resend) from ``ip``."""
        await self._limiter.enforce(
            self._per_ip,
            action,
            ip,
            detail="Too many requests of this kind from this address; try again later.",
        )

    async def admit_recipient(self, email: str) -> None:
        """Count one email to ``email``, or raise 429."""
        await self._limiter.enforce(
            self._per_recipient,
            "account-emails",
            _account(email),
            detail="Enough emails went to this address for now; try again later.",
        )

    async def may_mail(self, email: str) -> bool:
        """Count one email to ``email``; False (nothing raised) when it had enough."""
        return await self._limiter.hit(self._per_recipient, "account-emails", _account(email))

"""Emailed one-time tokens: issued when the email is asked for, redeemed once.

Every package that emails a one-time link (verification and password reset here, the
"filed for you" link that disowns a report in ``reports``) issues and redeems its tokens
through this module: ``email_token`` is written by the identity package only.

A token is issued with the hash of a throwaway value; the real secret is minted when the
message is delivered (``notifications.service``) and only its SHA-256 is stored, so the
secret exists in the delivering worker's memory and in the recipient's mailbox only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import repository
from service.auth.models import EmailToken, EmailTokenPurpose
from service.auth.tokens import digest, new_secret


async def issue(
    session: AsyncSession, user_id: uuid.UUID, purpose: EmailTokenPurpose, expires_at: datetime
) -> EmailToken:
    """A new token for ``purpose``, valid until ``expires_at``; its secret is minted at
    delivery of the email that carries it (the token's id goes with the message)."""
    token = EmailToken(
        user_id=user_id,
        purpose=purpose,
        token_hash=digest(new_secret()),
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token


async def redeemable(
    session: AsyncSession, secret: str, purpose: EmailTokenPurpose, now: datetime
) -> EmailToken | None:
    """The unused, unexpired token of ``purpose`` that ``secret`` opens (locked until the
    transaction ends), or None."""
    token = await repository.email_token(session, digest(secret), purpose)
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    return token


def spend(token: EmailToken, now: datetime) -> None:
    """Mark ``token`` used: it opens nothing again."""
    token.used_at = now

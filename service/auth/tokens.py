"""Access tokens (JWT, HS256 pinned, RFC 8725 practice) and opaque secrets.

``iat`` is written with microseconds (RFC 7519 allows a non-integer NumericDate): it is
compared with the account's ``sessions_valid_after``, and a token issued in the same second
as a password change, but before it, must not survive it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from service.config import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    token_id: str
    issued_at: datetime
    expires_at: datetime


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _numeric_date(moment: datetime) -> float:
    return (moment - _EPOCH) / timedelta(seconds=1)


def _from_numeric_date(value: float) -> datetime:
    # A double holds today's instants to a fraction of a microsecond: rounding to whole
    # microseconds gives back exactly the instant that was written.
    return _EPOCH + timedelta(microseconds=round(value * 1_000_000))


def issue_access_token(settings: Settings, user_id: uuid.UUID, now: datetime) -> str:
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "iat": _numeric_date(now),
        "nbf": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(
        claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM, headers={"typ": "JWT"}
    )


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Check signature, algorithm, issuer, audience and times (``jwt.InvalidTokenError``)."""
    claims = jwt.decode(
        token,
        settings.secret_key.get_secret_value(),
        algorithms=[ALGORITHM],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": REQUIRED_CLAIMS},
        leeway=5,
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise jwt.InvalidTokenError("bad subject") from exc
    try:
        issued_at = _from_numeric_date(float(claims["iat"]))
    except (TypeError, ValueError, OverflowError) as exc:
        raise jwt.InvalidTokenError("bad iat") from exc
    return AccessClaims(
        user_id=user_id,
        token_id=str(claims["jti"]),
        issued_at=issued_at,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


def new_secret() -> str:
    """A URL-safe random secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret: enough at rest, since it cannot be guessed."""
    return hashlib.sha256(secret.encode()).hexdigest()

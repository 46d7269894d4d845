"""Access tokens (JWT, HS256 pinned, RFC 8725 practice) and opaque secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from service.config import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    token_id: str
    expires_at: datetime


def issue_access_token(settings: Settings, user_id: uuid.UUID, now: datetime) -> str:
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "iat": now,
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
    return AccessClaims(
        user_id=user_id,
        token_id=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(claims["exp"]).astimezone(),
    )


def new_secret() -> str:
    """A URL-safe random secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret: enough at rest, since it cannot be guessed."""
    return hashlib.sha256(secret.encode()).hexdigest()

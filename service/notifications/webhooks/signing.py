"""The webhook signature, for senders and receivers alike.

Every delivery carries ``Meielinn-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256, keyed with the endpoint's secret (its UTF-8 bytes, ``whsec_`` prefix
included), over ``f"{t}.{body}"`` — the timestamp, a dot, and the raw request body exactly
as received. A receiver recomputes it, compares in constant time, and refuses timestamps
too far from its clock (replays). A retry is signed again with a fresh timestamp; the body
stays the same, and its ``id`` (the event's) lets the receiver drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Meielinn-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
# How far a receiver should let the timestamp stray from its own clock.
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hint_of(secret: str) -> str:
    """What admins are shown of a secret to tell it apart: its prefix and four characters."""
    return secret[: len(SECRET_PREFIX) + 4]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance``."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))

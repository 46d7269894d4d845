"""Encryption at rest of the secrets the service must read back: webhook signing secrets.

A password or an API key is stored as a hash, since only its holder presents it again; a
webhook's secret must sign every delivery, so it is kept, but encrypted: a copy of the
database (a backup, a replica, a read-only SQL hole) does not sign as the city. Fernet
(``cryptography``: AES-128-CBC with an HMAC-SHA256, a timestamp and a random IV per token).

Keys come from ``MEIELINN_ENCRYPTION_KEYS``: Fernet keys, comma-separated; the first
encrypts, every one decrypts, so a key is rotated by putting the new one first and dropping
the old one once no row needs it. Production refuses to start without them (``config``);
in development and tests a key is derived from ``MEIELINN_SECRET_KEY`` by HKDF, so a
checkout works without one and a real secret key gives a real encryption key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from service.config import Settings

# Tells this key apart from anything else ever derived from the same secret key.
DERIVATION_CONTEXT = b"meielinn: encryption key of stored secrets"


class UndecryptableSecret(Exception):
    """A stored secret that none of the configured keys opens (the keys changed)."""


def derived_key(secret_key: str) -> bytes:
    """The development encryption key: HKDF-SHA256 of ``MEIELINN_SECRET_KEY``."""
    material = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_CONTEXT
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(material)


def configured_keys(settings: Settings) -> list[bytes]:
    """The keys in order (the first encrypts): the configured ones, else the derived one."""
    if settings.encryption_keys is not None:
        text = settings.encryption_keys.get_secret_value()
        return [part.strip().encode() for part in text.split(",") if part.strip()]
    return [derived_key(settings.secret_key.get_secret_value())]


@lru_cache(maxsize=8)
def _cipher(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def cipher(settings: Settings) -> MultiFernet:
    return _cipher(tuple(configured_keys(settings)))


def encrypt(settings: Settings, plaintext: str) -> str:
    """``plaintext`` as a Fernet token under the first key."""
    return cipher(settings).encrypt(plaintext.encode()).decode("ascii")


def decrypt(settings: Settings, token: str) -> str:
    """The plaintext of a token made by :func:`encrypt` under any configured key."""
    try:
        return cipher(settings).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise UndecryptableSecret(
            "a stored secret does not open with MEIELINN_ENCRYPTION_KEYS (were they changed "
            "without keeping the old key?)"
        ) from exc

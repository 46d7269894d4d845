"""Sessions: sign-in, refresh-token rotation, signing out, and who is calling.

Security decisions:

* Wrong email and wrong password give the same answer after the same work (a dummy hash
  for unknown accounts); attempts are counted before this module runs
  (``service.auth.throttle``).
* A refresh token works once; a rotated one presented again revokes its whole family.
* A password change, a password reset and "sign out everywhere" end every session:
  refresh tokens are revoked and access tokens issued before that instant are refused
  (``User.sessions_valid_after`` against the token's ``iat``, to the microsecond, checked
  with the account row that is read on every request anyway).
* An API key acts only through its scopes, never its owner's roles, and stops at
  ``expires_at`` as at revocation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.audit.service import record as audit
from service.auth import repository, supervision
from service.auth.actor import Actor
from service.auth.models import ApiKey, RefreshToken, Role, User, WebSession
from service.auth.passwords import hash_password, needs_rehash, verify_password
from service.auth.schemas import PasswordChange, TokenPair
from service.auth.tokens import decode_access_token, digest, issue_access_token, new_secret
from service.config import Settings
from service.errors import Forbidden, NotFound, Unauthorized
from service.languages import Language

BAD_CREDENTIALS = "The email address or the password is wrong."

# --- sign-in and tokens ----------------------------------------------------------------


async def _issue_tokens(
    session: AsyncSession,
    settings: Settings,
    user: User,
    now: datetime,
    family_id: uuid.UUID | None,
) -> TokenPair:
    secret = new_secret()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=digest(secret),
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    return TokenPair(
        access_token=issue_access_token(settings, user.id, now),
        refresh_token=secret,
        expires_in=settings.access_token_minutes * 60,
    )


async def login(
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    now: datetime,
    ip: str | None,
) -> TokenPair:
    """Check the password and issue a token pair. Wrong email and wrong password give the
    same answer in the same time; failures are audited and counted by the caller."""
    user = await authenticate(session, settings, email, password, now, ip)
    return await _issue_tokens(session, settings, user, now, family_id=None)


async def authenticate(
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    now: datetime,
    ip: str | None,
) -> User:
    """The account whose password this is, signed in (audited), or 401 — the same answer in
    the same time for a wrong email and a wrong password."""
    user = await repository.user_by_email(session, email)
    matched = await verify_password(settings, user.password_hash if user else None, password)
    if user is None or not matched or user.disabled_at is not None:
        await audit(
            session,
            "auth.login_failed",
            actor_user_id=user.id if user else None,
            ip=ip,
            subject_type="user",
            subject_id=user.id if user else None,
            reason="disabled" if (user is not None and matched) else "bad_credentials",
        )
        raise Unauthorized(BAD_CREDENTIALS, keep_changes=True)
    if needs_rehash(settings, user.password_hash):
        user.password_hash = await hash_password(settings, password)
    user.last_login_at = now
    await audit(
        session, "auth.login", actor_user_id=user.id, ip=ip, subject_type="user", subject_id=user.id
    )
    return user


# --- web sessions (the web app's cookie) ------------------------------------------------


async def start_web_session(
    session: AsyncSession, settings: Settings, user: User, now: datetime
) -> str:
    """A new browser session for ``user``; returns the secret the cookie carries."""
    secret = new_secret()
    session.add(
        WebSession(
            user_id=user.id,
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + timedelta(days=settings.web_session_days),
        )
    )
    return secret


async def end_web_session(session: AsyncSession, secret: str, now: datetime) -> None:
    """Sign this browser out. An unknown or ended session is ignored."""
    await repository.end_web_session(session, digest(secret), now)


async def actor_from_web_session(
    session: AsyncSession, secret: str, now: datetime, ip: str | None
) -> Actor | None:
    """The person a browser's session cookie stands for, or None when the session is
    unknown, ended, expired, or older than the account's end of all sessions."""
    row = await repository.web_caller(session, digest(secret), now)
    if row is None or row["disabled_at"] is not None:
        return None
    ended = row["sessions_valid_after"]
    if ended is not None and row["session_created_at"] < ended:
        return None
    return await _actor_of_row(session, row, ip)


async def refresh(
    session: AsyncSession, settings: Settings, secret: str, now: datetime, ip: str | None
) -> TokenPair:
    """Rotate a refresh token. A token presented after it was rotated means it was stolen
    or replayed: the whole family is revoked, and both holders must sign in again."""
    token = await repository.refresh_token(session, digest(secret))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthorized("The refresh token is not valid.")
    if token.rotated_at is not None:
        await repository.revoke_family(session, token.family_id, now)
        await audit(
            session,
            "auth.refresh_reused",
            actor_user_id=token.user_id,
            ip=ip,
            subject_type="refresh_family",
            subject_id=token.family_id,
        )
        raise Unauthorized("The refresh token was used already; sign in again.", keep_changes=True)
    user = await repository.user_by_id(session, token.user_id)
    if user is None or user.disabled_at is not None or _ended(user, token.created_at):
        raise Unauthorized("The refresh token is not valid.")
    token.rotated_at = now
    return await _issue_tokens(session, settings, user, now, family_id=token.family_id)


async def logout(session: AsyncSession, secret: str, now: datetime) -> None:
    """Revoke the refresh token's family (this device's session). Unknown tokens are ignored."""
    token = await repository.refresh_token(session, digest(secret))
    if token is not None:
        await repository.revoke_family(session, token.family_id, now)


async def _account(session: AsyncSession, actor: Actor) -> User:
    user = await repository.user_by_id(session, actor.user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def _ended(user: User, issued_at: datetime) -> bool:
    """Whether a credential issued at ``issued_at`` predates the end of all sessions."""
    return user.sessions_valid_after is not None and issued_at < user.sessions_valid_after


async def end_all_sessions(session: AsyncSession, user: User, now: datetime) -> None:
    """Refuse every access token issued before ``now`` and revoke every refresh token."""
    user.sessions_valid_after = now
    await repository.revoke_all_refresh_tokens(session, user.id, now)


async def logout_everywhere(session: AsyncSession, actor: Actor, now: datetime) -> None:
    """Sign out every device: refresh tokens revoked, access tokens issued until now refused."""
    user = await _account(session, actor)
    await end_all_sessions(session, user, now)
    await audit(
        session,
        "auth.logout_everywhere",
        actor_user_id=user.id,
        ip=actor.ip,
        subject_type="user",
        subject_id=user.id,
    )


async def change_password(
    session: AsyncSession, settings: Settings, actor: Actor, change: PasswordChange, now: datetime
) -> TokenPair:
    """Set a new password after checking the current one. Every session ends (whoever knew
    the old password loses access); the caller gets a fresh token pair to stay signed in."""
    user = await _account(session, actor)
    if not await verify_password(settings, user.password_hash, change.current_password):
        await audit(
            session,
            "user.password_change_failed",
            actor_user_id=user.id,
            ip=actor.ip,
            subject_type="user",
            subject_id=user.id,
        )
        raise Forbidden(
            "The current password is wrong.", field="current_password", keep_changes=True
        )
    user.password_hash = await hash_password(settings, change.new_password)
    await end_all_sessions(session, user, now)
    await audit(
        session,
        "user.password_changed",
        actor_user_id=user.id,
        ip=actor.ip,
        subject_type="user",
        subject_id=user.id,
    )
    return await _issue_tokens(session, settings, user, now, family_id=None)


# --- who is calling ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Credentials:
    user: User
    api_key: ApiKey | None


async def _actor_for(session: AsyncSession, credentials: _Credentials, ip: str | None) -> Actor:
    user = credentials.user
    grants = await repository.grants_of(session, user.id)
    key = credentials.api_key
    supervised: frozenset[uuid.UUID] = frozenset()
    if key is None:
        supervised = await supervision.supervised_departments(
            session,
            (
                grant.department_id
                for grant in grants
                if grant.role == Role.supervisor and grant.department_id is not None
            ),
        )
    return Actor.for_user(
        user,
        ((grant.role, grant.department_id) for grant in grants),
        buildings=(grant.building_id for grant in grants if grant.building_id is not None),
        api_key_id=key.id if key else None,
        scopes=key.scopes if key else None,
        ip=ip,
        supervised_departments=supervised,
    )


async def _token_account(db: rawsql.Db, settings: Settings, token: str) -> Any:
    """The account row behind a valid access token (:data:`CALLER_SQL`); 401 otherwise."""
    try:
        claims = decode_access_token(settings, token)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The access token is not valid or has expired.") from exc
    # The account, its end of sessions and its grants are read in one statement on every
    # request, never cached: a revoked grant or an ended session counts at once.
    row = await repository.caller(db, claims.user_id)
    if row is None or row["disabled_at"] is not None:
        raise Unauthorized("The access token is not valid or has expired.")
    ended = row["sessions_valid_after"]
    if ended is not None and claims.issued_at < ended:
        raise Unauthorized("The access token is not valid or has expired.")
    return row


async def actor_from_access_token(
    session: AsyncSession, settings: Settings, token: str, ip: str | None
) -> Actor:
    return await _actor_of_row(session, await _token_account(session, settings, token), ip)


async def person_without_grants(
    db: rawsql.Db, settings: Settings, token: str, ip: str | None
) -> Actor | None:
    """The caller of an access token when they hold no role (a resident), resolved on any
    connection (the read pool's too); None when they hold one, for the caller to resolve
    them in a session (:func:`actor_from_access_token`): what a role sees may be audited.
    An invalid token is 401, as there."""
    row = await _token_account(db, settings, token)
    if row["roles"]:
        return None
    return await _actor_of_row(db, row, ip)


async def _actor_of_row(session: rawsql.Db, row: Any, ip: str | None) -> Actor:
    """The caller of a person's credential from the account row :data:`CALLER_SQL` reads."""
    grants = list(zip(row["roles"], row["departments"], row["buildings"], strict=True))
    supervises = [
        department_id
        for role, department_id, _ in grants
        if role == Role.supervisor and department_id is not None
    ]
    supervised: frozenset[uuid.UUID] = frozenset()
    if supervises:
        assert isinstance(session, AsyncSession)  # person_without_grants never gets here
        supervised = await supervision.supervised_departments(session, supervises)
    return Actor(
        user_id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        language=Language(row["language"]),
        email_verified=row["email_verified_at"] is not None,
        grants=frozenset((Role(role), department) for role, department, _ in grants),
        buildings=frozenset(building for _, _, building in grants if building is not None),
        ip=ip,
        supervised_departments=supervised,
    )


async def actor_from_api_key(
    session: AsyncSession, key: str, now: datetime, ip: str | None
) -> Actor:
    api_key = await repository.api_key_by_hash(session, digest(key))
    if (
        api_key is None
        or api_key.revoked_at is not None
        or (api_key.expires_at is not None and api_key.expires_at <= now)
    ):
        raise Unauthorized("The API key is not valid.")
    user = await repository.user_by_id(session, api_key.owner_id)
    if user is None or user.disabled_at is not None:
        raise Unauthorized("The API key is not valid.")
    # At most one write a minute per key for "last used".
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        api_key.last_used_at = now
    return await _actor_for(session, _Credentials(user=user, api_key=api_key), ip)

"""SQL for accounts, grants, tokens and keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service import rawsql
from service.auth.models import (
    ApiKey,
    EmailToken,
    EmailTokenPurpose,
    RefreshToken,
    RoleGrant,
    User,
    WebSession,
)
from service.pagination import like_pattern


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    statement = select(User).where(func.lower(User.email) == email.strip().lower())
    return (await session.execute(statement)).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


# The caller of a request in one statement: the account and its grants (role, department,
# building), oldest grant first, as arrays (empty without grants).
CALLER_SQL = """
SELECT u.id, u.email, u.display_name, u.language, u.email_verified_at, u.disabled_at,
       u.sessions_valid_after,
       COALESCE(g.roles, '{}') AS roles, COALESCE(g.departments, '{}') AS departments,
       COALESCE(g.buildings, '{}') AS buildings
  FROM user_account u
  LEFT JOIN LATERAL (
    SELECT array_agg(role ORDER BY granted_at) AS roles,
           array_agg(department_id ORDER BY granted_at) AS departments,
           array_agg(building_id ORDER BY granted_at) AS buildings
      FROM role_grant WHERE role_grant.user_id = u.id
  ) g ON true
 WHERE u.id = $1"""


async def caller(session: rawsql.Db, user_id: uuid.UUID) -> Any:
    """The account of ``user_id`` with its grants (:data:`CALLER_SQL`), or None."""
    return await rawsql.fetchrow(session, CALLER_SQL, user_id)


# The same for a browser's session cookie: the session's account, while the session lasts.
WEB_CALLER_SQL = (
    CALLER_SQL.replace("SELECT u.id,", "SELECT s.created_at AS session_created_at, u.id,", 1)
    .replace("FROM user_account u", "FROM web_session s JOIN user_account u ON u.id = s.user_id", 1)
    .replace(
        "WHERE u.id = $1",
        "WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2",
        1,
    )
)


async def web_caller(session: AsyncSession, token_hash: str, now: datetime) -> Any:
    """The account behind a live web session (:data:`WEB_CALLER_SQL`), or None."""
    return await rawsql.fetchrow(session, WEB_CALLER_SQL, token_hash, now)


async def end_web_session(session: AsyncSession, token_hash: str, now: datetime) -> None:
    await session.execute(
        update(WebSession)
        .where(col(WebSession.token_hash) == token_hash, col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )


async def grants_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[RoleGrant]:
    statement = (
        select(RoleGrant).where(col(RoleGrant.user_id) == user_id).order_by(RoleGrant.granted_at)  # type: ignore[arg-type]
    )
    return (await session.execute(statement)).scalars().all()


async def grants_of_many(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RoleGrant]]:
    grants: dict[uuid.UUID, list[RoleGrant]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return grants
    statement = (
        select(RoleGrant)
        .where(RoleGrant.user_id.in_(user_ids))  # type: ignore[attr-defined]
        .order_by(RoleGrant.granted_at)  # type: ignore[arg-type]
    )
    for grant in (await session.execute(statement)).scalars():
        grants[grant.user_id].append(grant)
    return grants


async def email_token(
    session: AsyncSession, token_hash: str, purpose: EmailTokenPurpose
) -> EmailToken | None:
    statement = (
        select(EmailToken)
        .where(col(EmailToken.token_hash) == token_hash, col(EmailToken.purpose) == purpose)
        .with_for_update()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def rearm_email_token(
    session: AsyncSession, token_id: uuid.UUID, token_hash: str, now: datetime
) -> bool:
    """Point an unused, unexpired emailed token at a newly minted secret's hash."""
    statement = (
        update(EmailToken)
        .where(
            col(EmailToken.id) == token_id,
            col(EmailToken.used_at).is_(None),
            col(EmailToken.expires_at) > now,
        )
        .values(token_hash=token_hash)
        .returning(col(EmailToken.id))
    )
    return (await session.execute(statement)).first() is not None


async def refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = (
        select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash).with_for_update()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def revoke_all_refresh_tokens(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def api_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    statement = select(ApiKey).where(col(ApiKey.key_hash) == key_hash)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_users(
    session: AsyncSession,
    *,
    query: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[User]:
    statement = select(User)
    if query:
        pattern = like_pattern(query)
        statement = statement.where(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    if after is not None:
        statement = statement.where(
            func.row(User.created_at, User.id) > func.row(after[0], after[1])
        )
    statement = statement.order_by(User.created_at, User.id).limit(limit)  # type: ignore[arg-type]
    return (await session.execute(statement)).scalars().all()


async def list_api_keys(session: AsyncSession) -> Sequence[ApiKey]:
    statement = select(ApiKey).order_by(ApiKey.created_at)  # type: ignore[arg-type]
    return (await session.execute(statement)).scalars().all()

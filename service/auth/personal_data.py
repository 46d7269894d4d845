"""The account itself: profile, roles, sign-in sessions, emailed codes and API keys.

This step runs last: the other packages' steps read the name and address it blanks. The row
of ``user_account`` is kept as an anonymised tombstone (see ``service.privacy.erasure``):
no email address (a unique placeholder under ``.invalid``, so the real address may register
again), no name, no password, disabled, ``erased_at`` set. The audit log keeps its entries:
it records what was done with the account, by its opaque id only, and is append-only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import AuditEvent
from service.auth.models import ApiKey, EmailToken, RefreshToken, RoleGrant, User
from service.privacy.registry import Erasure, Person, PersonalData, rows

ERASED_DOMAIN = "erased.invalid"


def erased_email(person: Person) -> str:
    """The placeholder address of an erased account (``.invalid`` never resolves, RFC 2606)."""
    return f"erased-{person.id.hex}@{ERASED_DOMAIN}"


async def export(session: AsyncSession, person: Person) -> dict[str, Any]:
    account = rows(
        await session.execute(
            select(
                col(User.id),
                col(User.email),
                col(User.display_name),
                col(User.language),
                col(User.created_at),
                col(User.email_verified_at),
                col(User.last_login_at),
                col(User.contact_only),
            ).where(col(User.id) == person.id)
        )
    )
    grants = rows(
        await session.execute(
            select(
                col(RoleGrant.role),
                col(RoleGrant.department_id),
                col(RoleGrant.building_id),
                col(RoleGrant.granted_at),
            ).where(col(RoleGrant.user_id) == person.id)
        )
    )
    sessions = rows(
        await session.execute(
            select(
                col(RefreshToken.created_at),
                col(RefreshToken.expires_at),
                col(RefreshToken.revoked_at),
            )
            .where(col(RefreshToken.user_id) == person.id)
            .order_by(col(RefreshToken.created_at))
        )
    )
    keys = rows(
        await session.execute(
            select(
                col(ApiKey.name),
                col(ApiKey.prefix),
                col(ApiKey.scopes),
                col(ApiKey.created_at),
                col(ApiKey.last_used_at),
                col(ApiKey.revoked_at),
            ).where(col(ApiKey.owner_id) == person.id)
        )
    )
    audit = rows(
        await session.execute(
            select(
                col(AuditEvent.occurred_at),
                col(AuditEvent.action),
                col(AuditEvent.ip),
                col(AuditEvent.subject_type),
                col(AuditEvent.subject_id),
            )
            .where(col(AuditEvent.actor_user_id) == person.id)
            .order_by(col(AuditEvent.occurred_at))
        )
    )
    return {
        "profile": account[0] if account else None,
        "roles": grants,
        "sessions": sessions,
        "api_keys": keys,
        "security_log": audit,
    }


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    changed = 0
    for statement in (
        delete(RefreshToken).where(col(RefreshToken.user_id) == person.id),
        delete(EmailToken).where(col(EmailToken.user_id) == person.id),
        delete(ApiKey).where(col(ApiKey.owner_id) == person.id),
        delete(RoleGrant).where(col(RoleGrant.user_id) == person.id),
    ):
        result = await session.execute(statement)
        changed += int(getattr(result, "rowcount", 0) or 0)
    await session.execute(
        update(User)
        .where(col(User.id) == person.id)
        .values(
            email=erased_email(person),
            display_name="",
            password_hash="",
            email_verified_at=None,
            last_login_at=None,
            disabled_at=erasure.now,
            sessions_valid_after=erasure.now,
            erased_at=erasure.now,
        )
    )
    return changed + 1


PERSONAL_DATA = PersonalData(section="account", export=export, erase=erase)

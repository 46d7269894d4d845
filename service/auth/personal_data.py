"""The account itself: profile, roles, sign-in sessions, emailed codes and API keys.

This step runs last (``erased_last``): the other packages' steps read the name and address
it blanks. The row of ``user_account`` is kept as an anonymised tombstone (see
``service.privacy.erasure``): no email address (a unique placeholder under ``.invalid``, so
the real address may register again), no name, no password, disabled, ``erased_at`` set.
The audit log keeps its entries: it records what was done with the account, by its opaque
id only, and is append-only.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import AuditEvent
from service.auth.models import ApiKey, EmailToken, RefreshToken, RoleGrant, User
from service.privacy.registry import Erasure, Owned, Person, PersonalData

ERASED_DOMAIN = "erased.invalid"


def erased_email(person: Person) -> str:
    """The placeholder address of an erased account (``.invalid`` never resolves, RFC 2606)."""
    return f"erased-{person.id.hex}@{ERASED_DOMAIN}"


EXPORT = {
    "profile": Owned(
        User,
        owner="id",
        columns=(
            "id",
            "email",
            "display_name",
            "language",
            "created_at",
            "email_verified_at",
            "last_login_at",
            "contact_only",
        ),
        one=True,
    ),
    "roles": Owned(
        RoleGrant, owner="user_id", columns=("role", "department_id", "building_id", "granted_at")
    ),
    "sessions": Owned(
        RefreshToken,
        owner="user_id",
        columns=("created_at", "expires_at", "revoked_at"),
        order_by="created_at",
    ),
    "api_keys": Owned(
        ApiKey,
        owner="owner_id",
        columns=("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"),
    ),
    "security_log": Owned(
        AuditEvent,
        owner="actor_user_id",
        columns=("occurred_at", "action", "ip", "subject_type", "subject_id"),
        order_by="occurred_at",
    ),
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


PERSONAL_DATA = PersonalData(section="account", export=EXPORT, erase=erase, erased_last=True)

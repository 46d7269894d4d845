"""The account itself: profile, roles, sign-in sessions, emailed codes and API keys.

This step runs last (``erased_last``): the other packages' steps read the name and address
it blanks. The row of ``user_account`` is kept as an anonymised tombstone (see
``service.privacy.erasure``): no email address (a unique placeholder under ``.invalid``, so
the real address may register again), no name, no password, disabled, ``erased_at`` set.

The tombstone gets a **new id**: every row that pointed at the account (reports, ratings,
supports, attendance … every foreign key to ``user_account``, found in the database's
catalogue, so a new table cannot be forgotten) is moved to it and the old row is deleted.
The old id may be known outside (a webhook delivered it, an integrator stored it, the audit
log names it): after the erasure it leads nowhere. The audit log keeps its entries — it is
append-only and records what was done with an account by its opaque id — but nothing in the
database joins that id to what the person left behind.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import AuditEvent
from service.auth.models import ApiKey, EmailToken, RefreshToken, RoleGrant, User, WebSession
from service.privacy.registry import Erasure, Owned, Person, PersonalData

ERASED_DOMAIN = "erased.invalid"


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
    "web_sessions": Owned(
        WebSession,
        owner="user_id",
        columns=("created_at", "expires_at", "ended_at"),
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
        delete(WebSession).where(col(WebSession.user_id) == person.id),
        delete(EmailToken).where(col(EmailToken.user_id) == person.id),
        delete(ApiKey).where(col(ApiKey.owner_id) == person.id),
        delete(RoleGrant).where(col(RoleGrant.user_id) == person.id),
    ):
        result = await session.execute(statement)
        changed += int(getattr(result, "rowcount", 0) or 0)
    tombstone = await _move_to_new_id(session, person.id)
    await session.execute(
        update(User)
        .where(col(User.id) == tombstone)
        .values(
            email=f"erased-{tombstone.hex}@{ERASED_DOMAIN}",
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


# Every single-column foreign key to the account: (table, column), quoted for SQL.
_REFERENCES_SQL = """
SELECT c.conrelid::regclass::text AS table_name, quote_ident(a.attname) AS column_name
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.confrelid = 'user_account'::regclass
  AND cardinality(c.conkey) = 1
ORDER BY 1, 2
"""


async def _move_to_new_id(session: AsyncSession, old: uuid.UUID) -> uuid.UUID:
    """Copy the account to a new id, point every reference at the copy, delete the old
    row; returns the new id."""
    new = uuid.uuid4()
    await session.flush()
    await session.execute(
        text(
            "INSERT INTO user_account SELECT (jsonb_populate_record(NULL::user_account, "
            "to_jsonb(u) || jsonb_build_object('id', CAST(:new AS uuid), 'email', "
            "CAST(:email AS text)))).* FROM user_account u WHERE u.id = :old"
        ),
        {"new": new, "old": old, "email": f"erased-{new.hex}@{ERASED_DOMAIN}"},
    )
    for table, column in (await session.execute(text(_REFERENCES_SQL))).all():
        await session.execute(
            text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),  # noqa: S608
            {"new": new, "old": old},
        )
    await session.execute(delete(User).where(col(User.id) == old))
    # The session's copy of the old row is gone with it.
    for instance in list(session.identity_map.values()):
        if isinstance(instance, User) and instance.id == old:
            session.expunge(instance)
    return new


PERSONAL_DATA = PersonalData(section="account", export=EXPORT, erase=erase, erased_last=True)

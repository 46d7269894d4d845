"""Accounts: registration, verification, password reset, one's own account, and the
administration of roles, accounts and API keys. Sign-in and sessions are in ``sessions``.

Services take the session and never commit; the request (or the job) commits once. (A
little over 400 lines: ``create_account``, ``grant_role`` and ``create_api_key`` are called
from here by the command line, the demo seed and the tests, so they stay together.)

Security decisions:

* Registration answers alike whether or not the address has an account, after the same
  work (one argon2 hash, one email queued): the owner of a taken address is told by email
  instead. Password reset answers alike for unknown accounts.
* Emailed one-time secrets are minted when the email is delivered
  (``notifications.service``); only their SHA-256 is ever stored.
* A password reset ends every session (``sessions.end_all_sessions``).
* API keys carry only scopes and may expire; what they may do is in ``service.auth.scopes``.

Identity is the layer below the city and the notifications (whose routers, like every
package's, take this package's dependencies), so it imports neither:

* account emails are queued through ``service.mail``, the mail primitive under the
  notifications, where the texts and the ``email_message`` table live; the notifications
  deliver them;
* a grant's department or building is checked by the database's foreign key when the grant
  is written, not by reading the city's tables (:func:`grant_role`); a supervisor's reach
  down the department tree is the city's lookup, installed at start-up (``supervision``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.service import record as audit
from service.audit.service import record_personal_data_read
from service.auth import email_tokens, repository, sessions
from service.auth.actor import Actor
from service.auth.models import (
    BUILDING_ROLES,
    DEPARTMENT_ROLES,
    EMAIL_TOKEN_PAGES,
    ApiKey,
    EmailTokenPurpose,
    Role,
    RoleGrant,
    User,
)
from service.auth.passwords import hash_password
from service.auth.schemas import ApiKeyCreate, RegisterRequest, RoleGrantCreate, UserUpdate
from service.auth.tokens import digest, new_secret
from service.config import Settings
from service.errors import FOREIGN_KEY_VIOLATION, Conflict, InvalidInput, NotFound, sqlstate
from service.mail.service import OneTimeCode, email_user, email_user_code

API_KEY_PREFIX = "mk_"


# --- registration and verification -------------------------------------------------------


async def register(
    session: AsyncSession,
    settings: Settings,
    request: RegisterRequest,
    now: datetime,
    ip: str | None,
    *,
    may_email_owner: bool = True,
) -> None:
    """Create an unverified account and email it a verification link; when the address has
    an account already, email its owner about the attempt instead (unless
    ``may_email_owner`` is False: that address had enough email for now).

    The caller learns nothing either way: the same work is done (the password is hashed
    whether or not it will be stored) and nothing is returned."""
    password_hash = await hash_password(settings, request.password)
    owner = await repository.user_by_email(session, request.email)
    if owner is None:
        user = User(
            email=request.email,
            display_name=request.display_name,
            language=request.language,
            password_hash=password_hash,
        )
        try:
            async with session.begin_nested():
                session.add(user)
        except IntegrityError:  # a concurrent registration of the same address won
            return
        await audit(
            session,
            "user.registered",
            actor_user_id=user.id,
            ip=ip,
            subject_type="user",
            subject_id=user.id,
        )
        await send_verification(session, settings, user, now)
        return
    if owner.contact_only and owner.disabled_at is None:
        # An address reports were filed for, without an account: registering claims it. The
        # password typed here is dropped; the mailbox's owner sets one through the emailed
        # link, which also verifies the address (nobody else can take the reports over).
        await audit(
            session, "user.contact_claim_requested", ip=ip, subject_type="user", subject_id=owner.id
        )
        if may_email_owner:
            minutes = settings.password_reset_minutes
            await _email_link(
                session,
                owner,
                EmailTokenPurpose.password_reset,
                now + timedelta(minutes=minutes),
                template="claim_account",
                minutes=minutes,
            )
        return
    await audit(
        session,
        "user.registration_for_taken_address",
        ip=ip,
        subject_type="user",
        subject_id=owner.id,
    )
    if may_email_owner and owner.disabled_at is None:
        await email_user(session, owner, "registration_attempt", email=owner.email)


async def create_account(
    session: AsyncSession,
    settings: Settings,
    request: RegisterRequest,
    verified_at: datetime | None,
) -> User:
    """Insert an account; 409 when the address (case-insensitively) is taken."""
    if await repository.user_by_email(session, request.email) is not None:
        raise Conflict("An account with this email address exists already.", field="email")
    user = User(
        email=request.email,
        display_name=request.display_name,
        language=request.language,
        password_hash=await hash_password(settings, request.password),
        email_verified_at=verified_at,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:  # a concurrent registration of the same address won
        raise Conflict("An account with this email address exists already.", field="email") from exc
    return user


async def _email_link(
    session: AsyncSession,
    user: User,
    purpose: EmailTokenPurpose,
    expires_at: datetime,
    *,
    template: str | None = None,
    **values: object,
) -> None:
    """Email a one-time code for ``purpose`` and its link (template: the purpose's own,
    unless another is named).

    The secret is minted at delivery, so it is never stored (see ``email_tokens``)."""
    token = await email_tokens.issue(session, user.id, purpose, expires_at)
    page = f"{EMAIL_TOKEN_PAGES[purpose]}?lang={user.language}"
    await email_user_code(
        session,
        user,
        template or purpose.value,
        OneTimeCode(email_token_id=token.id, link_path=page),
        **values,
    )


async def send_verification(
    session: AsyncSession, settings: Settings, user: User, now: datetime
) -> None:
    hours = settings.email_token_hours
    await _email_link(
        session, user, EmailTokenPurpose.verify_email, now + timedelta(hours=hours), hours=hours
    )


async def _use_email_token(
    session: AsyncSession, secret: str, purpose: EmailTokenPurpose, now: datetime
) -> User:
    token = await email_tokens.redeemable(session, secret, purpose, now)
    if token is None:
        raise InvalidInput("The code is unknown, used or expired.", field="token")
    email_tokens.spend(token, now)
    user = await repository.user_by_id(session, token.user_id)
    if user is None or user.disabled_at is not None:
        raise InvalidInput("The code is unknown, used or expired.", field="token")
    return user


async def verify_email(session: AsyncSession, secret: str, now: datetime, ip: str | None) -> User:
    user = await _use_email_token(session, secret, EmailTokenPurpose.verify_email, now)
    if user.email_verified_at is None:
        user.email_verified_at = now
        await audit(
            session,
            "user.email_verified",
            actor_user_id=user.id,
            ip=ip,
            subject_type="user",
            subject_id=user.id,
        )
    return user


async def resend_verification(
    session: AsyncSession, settings: Settings, actor: Actor, now: datetime
) -> None:
    user = await _require_user(session, actor.user_id)
    if user.email_verified_at is not None:
        raise Conflict("The email address is verified already.")
    await send_verification(session, settings, user, now)


async def request_password_reset(
    session: AsyncSession, settings: Settings, email: str, now: datetime, ip: str | None
) -> None:
    """Email a reset link when the account exists; the answer is the same when it does not."""
    user = await repository.user_by_email(session, email)
    if user is None or user.disabled_at is not None:
        return
    minutes = settings.password_reset_minutes
    await _email_link(
        session,
        user,
        EmailTokenPurpose.password_reset,
        now + timedelta(minutes=minutes),
        minutes=minutes,
    )
    await audit(
        session,
        "auth.password_reset_requested",
        actor_user_id=user.id,
        ip=ip,
        subject_type="user",
        subject_id=user.id,
    )


async def confirm_password_reset(
    session: AsyncSession,
    settings: Settings,
    secret: str,
    new_password: str,
    now: datetime,
    ip: str | None,
) -> None:
    user = await _use_email_token(session, secret, EmailTokenPurpose.password_reset, now)
    user.password_hash = await hash_password(settings, new_password)
    user.contact_only = False  # a contact reporter claiming the address has an account now
    # Whoever knew the old password loses their sessions, access tokens included.
    await sessions.end_all_sessions(session, user, now)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the emailed link proves the address
    await audit(
        session,
        "auth.password_reset",
        actor_user_id=user.id,
        ip=ip,
        subject_type="user",
        subject_id=user.id,
    )


# --- own account -------------------------------------------------------------------------


async def _require_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.user_by_id(session, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def me(session: AsyncSession, actor: Actor) -> tuple[User, list[RoleGrant]]:
    user = await _require_user(session, actor.user_id)
    return user, list(await repository.grants_of(session, user.id))


async def update_me(
    session: AsyncSession, actor: Actor, changes: UserUpdate
) -> tuple[User, list[RoleGrant]]:
    user = await _require_user(session, actor.user_id)
    if changes.display_name is not None:
        user.display_name = changes.display_name
    if changes.language is not None:
        user.language = changes.language
    return user, list(await repository.grants_of(session, user.id))


# --- administration ----------------------------------------------------------------------

# What an admin's view of a user shows of the person.
USER_PERSONAL_FIELDS = ["email", "display_name"]


async def list_users(
    session: AsyncSession,
    query: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    reader: Actor | None = None,
) -> tuple[list[User], dict[uuid.UUID, list[RoleGrant]]]:
    """A page of users; ``reader`` (the admin shown their names and addresses) is written to
    the audit log."""
    users = list(await repository.list_users(session, query=query, after=after, limit=limit))
    if reader is not None:
        await record_personal_data_read(
            session, reader, "user", [u.id for u in users], USER_PERSONAL_FIELDS
        )
    return users, await repository.grants_of_many(session, [u.id for u in users])


async def user_with_grants(
    session: AsyncSession, user_id: uuid.UUID, reader: Actor | None = None
) -> tuple[User, list[RoleGrant]]:
    """A user with their grants; ``reader`` (an admin) is written to the audit log."""
    user = await _require_user(session, user_id)
    if reader is not None and reader.user_id != user.id:
        await record_personal_data_read(session, reader, "user", [user.id], USER_PERSONAL_FIELDS)
    return user, list(await repository.grants_of(session, user.id))


async def grant_role(
    session: AsyncSession, actor: Actor | None, user_id: uuid.UUID, request: RoleGrantCreate
) -> RoleGrant:
    """Grant a role; ``actor`` is None for an operator at the command line."""
    user = await _require_user(session, user_id)
    for roles, scope, field in (
        (DEPARTMENT_ROLES, request.department_id, "department_id"),
        (BUILDING_ROLES, request.building_id, "building_id"),
    ):
        noun = field.removesuffix("_id")
        if request.role in roles and scope is None:
            raise InvalidInput(f"The {request.role} role needs a {field}.", field=field)
        if request.role not in roles and scope is not None:
            raise InvalidInput(f"The {request.role} role is not scoped to a {noun}.", field=field)
    grant = RoleGrant(
        user_id=user.id,
        role=request.role,
        department_id=request.department_id,
        building_id=request.building_id,
        granted_by_id=actor.user_id if actor else None,
    )
    try:
        async with session.begin_nested():
            session.add(grant)
    except IntegrityError as exc:
        # The grant's department or building (at most one is given) is not there: its
        # foreign key says so, as the city's tables are not read from here.
        if sqlstate(exc) == FOREIGN_KEY_VIOLATION and request.department_id is not None:
            raise InvalidInput("No such department.", field="department_id") from exc
        if sqlstate(exc) == FOREIGN_KEY_VIOLATION:
            raise InvalidInput("No such building.", field="building_id") from exc
        raise Conflict("The user holds this role already.") from exc
    await audit(
        session,
        "role.granted",
        actor_user_id=actor.user_id if actor else None,
        ip=actor.ip if actor else None,
        subject_type="user",
        subject_id=user.id,
        role=request.role,
        department_id=str(request.department_id) if request.department_id else None,
        building_id=str(request.building_id) if request.building_id else None,
    )
    return grant


async def revoke_role(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, grant_id: uuid.UUID
) -> None:
    grant = await session.get(RoleGrant, grant_id)
    if grant is None or grant.user_id != user_id:
        raise NotFound("No such role grant.")
    if grant.role == Role.admin and grant.user_id == actor.user_id:
        raise Conflict("Admins cannot remove their own admin role.")
    await session.delete(grant)
    await audit(
        session,
        "role.revoked",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="user",
        subject_id=user_id,
        role=grant.role,
        department_id=str(grant.department_id) if grant.department_id else None,
        building_id=str(grant.building_id) if grant.building_id else None,
    )


async def set_disabled(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, disabled: bool, now: datetime
) -> tuple[User, list[RoleGrant]]:
    user = await _require_user(session, user_id)
    if user.id == actor.user_id and disabled:
        raise Conflict("Admins cannot disable their own account.")
    user.disabled_at = now if disabled else None
    if disabled:
        await repository.revoke_all_refresh_tokens(session, user.id, now)
    await audit(
        session,
        "user.disabled" if disabled else "user.enabled",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="user",
        subject_id=user.id,
    )
    return user, list(await repository.grants_of(session, user.id))


async def create_api_key(
    session: AsyncSession, actor: Actor | None, request: ApiKeyCreate, now: datetime
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the secret, which is never shown again.

    A key acts for the account that creates it: an admin cannot mint a key owned by someone
    else and act as them (``owner_id`` names the caller or is left out). Only the operator's
    command line (``actor`` None, someone with the database already) names another owner."""
    if actor is not None and request.owner_id not in (None, actor.user_id):
        raise InvalidInput(
            "An API key acts for the account that creates it: owner_id may only be your own.",
            field="owner_id",
            reason="not_own_key",
        )
    owner_id = request.owner_id or (actor.user_id if actor else None)
    if owner_id is None or await repository.user_by_id(session, owner_id) is None:
        raise InvalidInput("No such owner.", field="owner_id")
    if request.expires_at is not None and request.expires_at <= now:
        raise InvalidInput("expires_at is in the past.", field="expires_at")
    secret = new_secret()
    key = ApiKey(
        name=request.name,
        prefix=secret[:8],
        key_hash=digest(API_KEY_PREFIX + secret),
        scopes=sorted(set(request.scopes)),
        owner_id=owner_id,
        created_by_id=actor.user_id if actor else None,
        expires_at=request.expires_at,
    )
    session.add(key)
    await session.flush()
    await audit(
        session,
        "api_key.created",
        actor_user_id=actor.user_id if actor else None,
        ip=actor.ip if actor else None,
        subject_type="api_key",
        subject_id=key.id,
        name=key.name,
        scopes=key.scopes,
        expires_at=key.expires_at.isoformat() if key.expires_at else None,
    )
    return key, API_KEY_PREFIX + secret


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await repository.list_api_keys(session))


async def revoke_api_key(
    session: AsyncSession, actor: Actor, key_id: uuid.UUID, now: datetime
) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = now
        await audit(
            session,
            "api_key.revoked",
            actor_user_id=actor.user_id,
            ip=actor.ip,
            subject_type="api_key",
            subject_id=key.id,
        )
    return key

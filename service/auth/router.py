"""Identity endpoints: /v1/auth, /v1/me, /v1/admin/users and /v1/api-keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import StringConstraints

from service.auth import pages, service, sessions
from service.auth.dependencies import (
    AdminActor,
    CurrentActor,
    PersonActor,
    SettingsDep,
    client_ip,
)
from service.auth.models import ApiKey, RoleGrant, User
from service.auth.policy import CREDENTIALS, PUBLIC
from service.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    RegistrationAccepted,
    RoleGrantCreate,
    RoleGrantPublic,
    SignInForm,
    TokenPair,
    UserPage,
    UserPrivate,
    UserUpdate,
    VerifyRequest,
)
from service.auth.throttle import EmailThrottle, SignInThrottle
from service.clock import NowDep
from service.db import SessionDep
from service.errors import PROBLEM
from service.fields import PlainText
from service.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from service.ratelimit import RateLimiter

router = APIRouter()
SearchText = Annotated[str, StringConstraints(max_length=120), PlainText]


def _limiter(request: Request) -> RateLimiter:
    rate_limiter: RateLimiter = request.app.state.rate_limiter
    return rate_limiter


async def sign_in_throttle(request: Request) -> SignInThrottle:
    return SignInThrottle(_limiter(request), request.app.state.redis, request.app.state.settings)


async def email_throttle(request: Request) -> EmailThrottle:
    return EmailThrottle(_limiter(request), request.app.state.settings)


SignInThrottleDep = Annotated[SignInThrottle, Depends(sign_in_throttle)]
EmailThrottleDep = Annotated[EmailThrottle, Depends(email_throttle)]


def grant_public(grant: RoleGrant) -> RoleGrantPublic:
    return RoleGrantPublic(
        id=grant.id,
        role=grant.role,
        department_id=grant.department_id,
        building_id=grant.building_id,
        granted_at=grant.granted_at,
    )


def user_private(user: User, grants: list[RoleGrant]) -> UserPrivate:
    return UserPrivate(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        language=user.language,
        email_verified=user.email_verified_at is not None,
        disabled=user.disabled_at is not None,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        roles=[grant_public(g) for g in grants],
    )


def api_key_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=key.scopes,
        owner_id=key.owner_id,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        expires_at=key.expires_at,
    )


# --- /v1/auth ----------------------------------------------------------------------------

auth = APIRouter(prefix="/v1/auth", tags=["auth"])


@auth.post(
    "/register",
    dependencies=[PUBLIC],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Create an account; a verification email follows",
    description="The answer is the same whether or not the address has an account: its "
    "owner gets an email about the attempt instead of a second account.",
    responses={429: PROBLEM},
)
async def register(
    body: RegisterRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    emails: EmailThrottleDep,
    now: NowDep,
) -> RegistrationAccepted:
    ip = client_ip(request) or "unknown"
    await emails.admit_request("register", ip)
    may_email = await emails.may_mail(body.email)
    await service.register(session, settings, body, now, ip, may_email_owner=may_email)
    return RegistrationAccepted()


@auth.post(
    "/verify",
    dependencies=[CREDENTIALS],
    summary="Verify an email address with the emailed code",
    responses={422: PROBLEM},
)
async def verify(
    body: VerifyRequest, request: Request, session: SessionDep, now: NowDep
) -> UserPrivate:
    user = await service.verify_email(session, body.token, now, client_ip(request))
    _, grants = await service.user_with_grants(session, user.id)
    return user_private(user, grants)


@auth.post(
    "/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the verification email again",
    responses={401: PROBLEM, 403: PROBLEM, 409: PROBLEM, 429: PROBLEM},
)
async def resend_verification(
    actor: PersonActor,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    emails: EmailThrottleDep,
    now: NowDep,
) -> dict[str, str]:
    await emails.admit_request("verify-resend", client_ip(request) or "unknown")
    await emails.admit_recipient(actor.email)
    await service.resend_verification(session, settings, actor, now)
    return {"status": "sent"}


@auth.post(
    "/token",
    dependencies=[CREDENTIALS],
    summary="Sign in (OAuth2 password flow)",
    description="Attempts are counted before the password is checked: per client address, "
    "per account and address (tight) and per account (loose; addresses the account signed "
    "in from before are exempt).",
    responses={401: PROBLEM, 429: PROBLEM},
)
async def token(
    form: Annotated[SignInForm, Depends()],
    request: Request,
    throttle: SignInThrottleDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> TokenPair:
    ip = client_ip(request) or "unknown"
    account = form.username.strip().lower()
    await throttle.admit(account, ip)
    pair = await sessions.login(session, settings, account, form.password, now, ip)
    await throttle.succeeded(account, ip)
    return pair


@auth.post(
    "/refresh",
    dependencies=[CREDENTIALS],
    summary="Rotate a refresh token",
    responses={401: PROBLEM},
)
async def refresh(
    body: RefreshRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> TokenPair:
    return await sessions.refresh(session, settings, body.refresh_token, now, client_ip(request))


@auth.post(
    "/logout",
    dependencies=[CREDENTIALS],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke this sign-in's refresh tokens",
)
async def logout(body: RefreshRequest, session: SessionDep, now: NowDep) -> Response:
    await sessions.logout(session, body.refresh_token, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out everywhere: every refresh token revoked, every access token refused",
    responses={401: PROBLEM, 403: PROBLEM},
)
async def logout_all(actor: PersonActor, session: SessionDep, now: NowDep) -> Response:
    await sessions.logout_everywhere(session, actor, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth.post(
    "/password-reset",
    dependencies=[PUBLIC],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Email a password reset link (same answer whether the account exists or not)",
    responses={429: PROBLEM},
)
async def password_reset(
    body: PasswordResetRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    emails: EmailThrottleDep,
    now: NowDep,
) -> dict[str, str]:
    ip = client_ip(request) or "unknown"
    await emails.admit_request("password-reset", ip)
    # Counted whether or not the address has an account, so a 429 reveals nothing.
    await emails.admit_recipient(body.email)
    await service.request_password_reset(session, settings, body.email, now, ip)
    return {"status": "accepted"}


@auth.post(
    "/password-reset/confirm",
    dependencies=[CREDENTIALS],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the emailed code",
    responses={422: PROBLEM},
)
async def password_reset_confirm(
    body: PasswordResetConfirm,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    await service.confirm_password_reset(
        session, settings, body.token, body.new_password, now, client_ip(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- /v1/me ------------------------------------------------------------------------------

me = APIRouter(prefix="/v1/me", tags=["me"])


@me.get("", summary="The signed-in user", responses={401: PROBLEM})
async def get_me(actor: CurrentActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.me(session, actor))


@me.patch("", summary="Change name or language", responses={401: PROBLEM, 403: PROBLEM})
async def patch_me(body: UserUpdate, actor: PersonActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.update_me(session, actor, body))


@me.post(
    "/password",
    summary="Change the password; every session ends, and this answer starts a new one",
    responses={401: PROBLEM, 403: PROBLEM, 429: PROBLEM},
)
async def change_password(
    body: PasswordChange,
    actor: PersonActor,
    request: Request,
    throttle: SignInThrottleDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> TokenPair:
    # Checking the current password is a sign-in attempt: a stolen access token must not
    # become a way to guess it.
    await throttle.admit(actor.email, client_ip(request) or "unknown")
    return await sessions.change_password(session, settings, actor, body, now)


# --- /v1/admin/users ---------------------------------------------------------------------

admin = APIRouter(prefix="/v1/admin/users", tags=["admin"])
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 403: PROBLEM, 404: PROBLEM}


@admin.get("", summary="Users, searchable by email or name", responses=ADMIN_ERRORS)
async def list_users(
    actor: AdminActor,
    session: SessionDep,
    q: Annotated[SearchText | None, Query()] = None,
    cursor: Cursor = None,
    limit: PageSize = 50,
) -> UserPage:
    after = None
    if cursor:
        created, user_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(created), uuid.UUID(user_id))
        except ValueError:
            after = None
    users, grants = await service.list_users(session, q, after, limit + 1, reader=actor)
    page = users[:limit]
    next_cursor = (
        encode_cursor(page[-1].created_at.isoformat(), page[-1].id) if len(users) > limit else None
    )
    return UserPage(items=[user_private(u, grants[u.id]) for u in page], next_cursor=next_cursor)


@admin.get("/{user_id}", summary="One user with their roles", responses=ADMIN_ERRORS)
async def get_user(user_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.user_with_grants(session, user_id, reader=actor))


@admin.get("/{user_id}/roles", summary="A user's role grants", responses=ADMIN_ERRORS)
async def get_roles(
    user_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> list[RoleGrantPublic]:
    _, grants = await service.user_with_grants(session, user_id)
    return [grant_public(g) for g in grants]


@admin.post(
    "/{user_id}/roles",
    status_code=status.HTTP_201_CREATED,
    summary="Grant a role (staff and supervisor need a department, ambassador a building)",
    responses={**ADMIN_ERRORS, 409: PROBLEM, 422: PROBLEM},
)
async def post_role(
    user_id: uuid.UUID, body: RoleGrantCreate, actor: AdminActor, session: SessionDep
) -> RoleGrantPublic:
    return grant_public(await service.grant_role(session, actor, user_id, body))


@admin.delete(
    "/{user_id}/roles/{grant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a role grant",
    responses={**ADMIN_ERRORS, 409: PROBLEM},
)
async def delete_role(
    user_id: uuid.UUID, grant_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> Response:
    await service.revoke_role(session, actor, user_id, grant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin.post(
    "/{user_id}/disable", summary="Disable an account", responses={**ADMIN_ERRORS, 409: PROBLEM}
)
async def disable_user(
    user_id: uuid.UUID, actor: AdminActor, session: SessionDep, now: NowDep
) -> UserPrivate:
    return user_private(*await service.set_disabled(session, actor, user_id, True, now))


@admin.post("/{user_id}/enable", summary="Enable a disabled account", responses=ADMIN_ERRORS)
async def enable_user(
    user_id: uuid.UUID, actor: AdminActor, session: SessionDep, now: NowDep
) -> UserPrivate:
    return user_private(*await service.set_disabled(session, actor, user_id, False, now))


# --- /v1/api-keys ------------------------------------------------------------------------

keys = APIRouter(prefix="/v1/api-keys", tags=["admin"])


@keys.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the key is in this response only)",
    responses={**ADMIN_ERRORS, 422: PROBLEM},
)
async def create_key(
    body: ApiKeyCreate, actor: AdminActor, session: SessionDep, now: NowDep
) -> ApiKeyCreated:
    key, secret = await service.create_api_key(session, actor, body, now)
    return ApiKeyCreated(**api_key_public(key).model_dump(), key=secret)


@keys.get("", summary="API keys (without the keys themselves)", responses=ADMIN_ERRORS)
async def list_keys(actor: AdminActor, session: SessionDep) -> list[ApiKeyPublic]:
    return [api_key_public(k) for k in await service.list_api_keys(session)]


@keys.delete("/{key_id}", summary="Revoke an API key", responses=ADMIN_ERRORS)
async def revoke_key(
    key_id: uuid.UUID, actor: AdminActor, session: SessionDep, now: NowDep
) -> ApiKeyPublic:
    return api_key_public(await service.revoke_api_key(session, actor, key_id, now))


for sub in (auth, pages.router, me, admin, keys):
    router.include_router(sub)

"""Identity endpoints: /v1/auth, /v1/me, /v1/admin/users and /v1/api-keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from pydantic import StringConstraints

from service.auth import service
from service.auth.dependencies import AdminActor, CurrentActor, SettingsDep, client_ip
from service.auth.models import ApiKey, RoleGrant, User
from service.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    RoleGrantCreate,
    RoleGrantPublic,
    SignInForm,
    TokenPair,
    UserPage,
    UserPrivate,
    UserUpdate,
    VerifyRequest,
)
from service.db import SessionDep, utcnow
from service.errors import PROBLEM, Unauthorized
from service.fields import PlainText
from service.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from service.ratelimit import RateLimiter

router = APIRouter()
SearchText = Annotated[str, StringConstraints(max_length=120), PlainText]


def limiter(request: Request) -> RateLimiter:
    rate_limiter: RateLimiter = request.app.state.rate_limiter
    return rate_limiter


LimiterDep = Annotated[RateLimiter, Depends(limiter)]


def grant_public(grant: RoleGrant) -> RoleGrantPublic:
    return RoleGrantPublic(
        id=grant.id, role=grant.role, department_id=grant.department_id, granted_at=grant.granted_at
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
    )


# --- /v1/auth ----------------------------------------------------------------------------

auth = APIRouter(prefix="/v1/auth", tags=["auth"])


@auth.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account; a verification email follows",
    responses={409: PROBLEM, 429: PROBLEM},
)
async def register(
    body: RegisterRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: LimiterDep,
) -> UserPrivate:
    ip = client_ip(request) or "unknown"
    await rate_limiter.enforce(
        RateLimitItemPerHour(settings.registrations_per_hour_per_ip),
        "register",
        ip,
        detail="Too many registrations from this address; try again later.",
    )
    user = await service.register(session, settings, body, utcnow(), ip)
    return user_private(user, [])


@auth.post(
    "/verify", summary="Verify an email address with the emailed code", responses={422: PROBLEM}
)
async def verify(body: VerifyRequest, request: Request, session: SessionDep) -> UserPrivate:
    user = await service.verify_email(session, body.token, utcnow(), client_ip(request))
    _, grants = await service.user_with_grants(session, user.id)
    return user_private(user, grants)


@auth.post(
    "/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the verification email again",
    responses={401: PROBLEM, 409: PROBLEM},
)
async def resend_verification(
    actor: CurrentActor, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
    await service.resend_verification(session, settings, actor, utcnow())
    return {"status": "sent"}


@auth.post(
    "/token",
    summary="Sign in (OAuth2 password flow)",
    responses={401: PROBLEM, 429: PROBLEM},
)
async def token(
    form: Annotated[SignInForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: LimiterDep,
) -> TokenPair:
    ip = client_ip(request) or "unknown"
    account = form.username.strip().lower()
    per_account = RateLimitItemPerMinute(settings.login_failures_per_minute)
    await rate_limiter.enforce(
        RateLimitItemPerMinute(settings.login_attempts_per_minute_per_ip),
        "login-ip",
        ip,
        detail="Too many sign-in attempts from this address; try again shortly.",
    )
    await rate_limiter.refuse_when_full(
        per_account,
        "login-failures",
        account,
        detail="Too many failed sign-ins for this account; try again shortly.",
    )
    try:
        return await service.login(session, settings, account, form.password, utcnow(), ip)
    except Unauthorized:
        await rate_limiter.hit(per_account, "login-failures", account)
        raise


@auth.post("/refresh", summary="Rotate a refresh token", responses={401: PROBLEM})
async def refresh(
    body: RefreshRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    return await service.refresh(
        session, settings, body.refresh_token, utcnow(), client_ip(request)
    )


@auth.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke this sign-in's refresh tokens",
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await service.logout(session, body.refresh_token, utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Email a password reset link (same answer whether the account exists or not)",
    responses={429: PROBLEM},
)
async def password_reset(
    body: PasswordResetRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: LimiterDep,
) -> dict[str, str]:
    ip = client_ip(request) or "unknown"
    await rate_limiter.enforce(
        RateLimitItemPerHour(settings.registrations_per_hour_per_ip),
        "password-reset",
        ip,
        detail="Too many reset requests from this address; try again later.",
    )
    await service.request_password_reset(session, settings, body.email, utcnow(), ip)
    return {"status": "accepted"}


@auth.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the emailed code",
    responses={422: PROBLEM},
)
async def password_reset_confirm(
    body: PasswordResetConfirm, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    await service.confirm_password_reset(
        session, settings, body.token, body.new_password, utcnow(), client_ip(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- /v1/me ------------------------------------------------------------------------------

me = APIRouter(prefix="/v1/me", tags=["me"])


@me.get("", summary="The signed-in user", responses={401: PROBLEM})
async def get_me(actor: CurrentActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.me(session, actor))


@me.patch("", summary="Change name, language or password", responses={401: PROBLEM, 403: PROBLEM})
async def patch_me(
    body: UserUpdate, actor: CurrentActor, session: SessionDep, settings: SettingsDep
) -> UserPrivate:
    return user_private(*await service.update_me(session, settings, actor, body, utcnow()))


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
    users, grants = await service.list_users(session, q, after, limit + 1)
    page = users[:limit]
    next_cursor = (
        encode_cursor(page[-1].created_at.isoformat(), page[-1].id) if len(users) > limit else None
    )
    return UserPage(items=[user_private(u, grants[u.id]) for u in page], next_cursor=next_cursor)


@admin.get("/{user_id}", summary="One user with their roles", responses=ADMIN_ERRORS)
async def get_user(user_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.user_with_grants(session, user_id))


@admin.get("/{user_id}/roles", summary="A user's role grants", responses=ADMIN_ERRORS)
async def get_roles(
    user_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> list[RoleGrantPublic]:
    _, grants = await service.user_with_grants(session, user_id)
    return [grant_public(g) for g in grants]


@admin.post(
    "/{user_id}/roles",
    status_code=status.HTTP_201_CREATED,
    summary="Grant a role (staff and supervisor need a department)",
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
async def disable_user(user_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.set_disabled(session, actor, user_id, True, utcnow()))


@admin.post("/{user_id}/enable", summary="Enable a disabled account", responses=ADMIN_ERRORS)
async def enable_user(user_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> UserPrivate:
    return user_private(*await service.set_disabled(session, actor, user_id, False, utcnow()))


# --- /v1/api-keys ------------------------------------------------------------------------

keys = APIRouter(prefix="/v1/api-keys", tags=["admin"])


@keys.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the key is in this response only)",
    responses={**ADMIN_ERRORS, 422: PROBLEM},
)
async def create_key(body: ApiKeyCreate, actor: AdminActor, session: SessionDep) -> ApiKeyCreated:
    key, secret = await service.create_api_key(session, actor, body, utcnow())
    return ApiKeyCreated(**api_key_public(key).model_dump(), key=secret)


@keys.get("", summary="API keys (without the keys themselves)", responses=ADMIN_ERRORS)
async def list_keys(actor: AdminActor, session: SessionDep) -> list[ApiKeyPublic]:
    return [api_key_public(k) for k in await service.list_api_keys(session)]


@keys.delete("/{key_id}", summary="Revoke an API key", responses=ADMIN_ERRORS)
async def revoke_key(key_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> ApiKeyPublic:
    return api_key_public(await service.revoke_api_key(session, actor, key_id, utcnow()))


for sub in (auth, me, admin, keys):
    router.include_router(sub)

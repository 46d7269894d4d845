"""Authentication and role checks as FastAPI dependencies: one line of policy per endpoint.

* ``OptionalActor`` — the caller if credentials were sent (bad credentials are still 401).
* ``CurrentActor`` — a signed-in caller, or 401 with ``WWW-Authenticate``.
* ``VerifiedActor`` — a caller whose email address is verified, or 403.
* ``require_roles(Role.admin, …)`` — a person holding any of the roles, or 403. API keys
  never pass: they hold no roles, whatever their owner holds.
* ``require_scope(Scope.reports_write)`` — a signed-in person, or an API key carrying the
  scope; ``verified=True`` also asks the person for a verified email address.

Every route that needs a caller declares one of these, so a route without a policy stands
out (a test enumerates the routes against the access table in the README).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from service import rawsql
from service.auth import sessions
from service.auth.actor import Actor
from service.auth.models import Role
from service.auth.policy import Caller, Policy, declare
from service.auth.scopes import Scope
from service.clock import NowDep
from service.config import Settings
from service.db import SessionDep
from service.errors import Forbidden, Unauthorized

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def _caller(
    request: Request, session: AsyncSession, now: datetime, token: str | None, api_key: str | None
) -> Actor | None:
    settings: Settings = request.app.state.settings
    ip = client_ip(request)
    if token:
        return await sessions.actor_from_access_token(session, settings, token, ip)
    if api_key:
        return await sessions.actor_from_api_key(session, api_key, now, ip)
    return None


@declare(Policy(Caller.anyone))
async def optional_actor(
    request: Request,
    session: SessionDep,
    now: NowDep,
    token: Annotated[str | None, Security(bearer_scheme)],
    api_key: Annotated[str | None, Security(api_key_scheme)],
) -> Actor | None:
    return await _caller(request, session, now, token, api_key)


async def resident_of_request(request: Request, db: rawsql.Db) -> tuple[bool, Actor | None]:
    """The caller of a hot read when it can be resolved on the read pool: (True, None) for
    no credentials, (True, actor) for a person holding no role with a bearer token; (False,
    None) when the caller must be resolved in a session (:func:`actor_of_request`): an API
    key (its use is recorded), or a person holding a role (what they see may be audited).
    An invalid token is 401, as with :func:`optional_actor`."""
    if "x-api-key" in request.headers:
        return False, None
    token = await bearer_scheme(request)
    if not token:
        return True, None
    settings: Settings = request.app.state.settings
    actor = await sessions.person_without_grants(db, settings, token, client_ip(request))
    return actor is not None, actor


async def actor_of_request(request: Request, session: AsyncSession, now: datetime) -> Actor | None:
    """:func:`optional_actor` as a plain call, for the hot reads that resolve their caller
    without FastAPI's dependency solving (``service.reports.router.get_report``)."""
    token = await bearer_scheme(request)
    api_key = await api_key_scheme(request)
    return await _caller(request, session, now, token, api_key)


# What a route that resolves its caller with :func:`actor_of_request` documents: the same
# schemes :func:`optional_actor` declares.
OPTIONAL_CREDENTIALS_DOC: dict[str, Any] = {
    "security": [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]
}


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


@declare(Policy(Caller.signed_in))
async def current_actor(actor: OptionalActor) -> Actor:
    if actor is None:
        raise Unauthorized("Sign in, or send an API key.")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


@declare(Policy(Caller.scope, verified=True))
async def verified_actor(actor: CurrentActor) -> Actor:
    if not actor.email_verified:
        raise Forbidden("Verify your email address first.", reason="email_not_verified")
    return actor


VerifiedActor = Annotated[Actor, Depends(verified_actor)]


def require_roles(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency admitting people who hold any of ``roles``; never an API key."""

    @declare(Policy(Caller.role, roles=frozenset(roles)))
    async def dependency(actor: CurrentActor) -> Actor:
        if actor.is_api_key:
            raise Forbidden(
                "API keys act only through their scopes; this needs a signed-in person.",
                reason="api_key_not_allowed",
            )
        if not actor.has_any_role(*roles):
            raise Forbidden(f"This needs the role {' or '.join(roles)}.", reason="missing_role")
        return actor

    return dependency


def require_scope(scope: Scope, *, verified: bool = False) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency admitting people (verified ones when ``verified``) and API keys that
    carry ``scope``."""

    @declare(Policy(Caller.scope, scope=scope, verified=verified))
    async def dependency(actor: CurrentActor) -> Actor:
        if actor.is_api_key:
            if not actor.allows(scope):
                raise Forbidden(f"The API key lacks the scope {scope}.", reason="missing_scope")
        elif verified and not actor.email_verified:
            raise Forbidden("Verify your email address first.", reason="email_not_verified")
        return actor

    return dependency


@declare(Policy(Caller.person))
async def person(actor: CurrentActor) -> Actor:
    """A signed-in person: an API key is refused (it may not act as its owner here)."""
    if actor.is_api_key:
        raise Forbidden(
            "API keys act only through their scopes; this needs a signed-in person.",
            reason="api_key_not_allowed",
        )
    return actor


PersonActor = Annotated[Actor, Depends(person)]
AdminActor = Annotated[Actor, Depends(require_roles(Role.admin))]

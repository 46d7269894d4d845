"""Who is reading a page, in which language, at which instant: the page's context.

A browser signs in with a session cookie (``meielinn_session``: HttpOnly, SameSite=Lax,
Secure in production) that stands for a row of ``web_session``; the person behind it is the
same :class:`~service.auth.actor.Actor` the API builds from a bearer token, with the same
grants, read on every request. The dependencies carry the route policies of
``service.auth.policy``, so the route-policy probe reads a page's policy as it reads an
endpoint's:

* ``Page`` — anyone; a signed-in person sees more where the services show them more.
* ``PersonPage`` — a signed-in person, or a redirect to the sign-in page that comes back.
* ``RolePage(Role.staff, …)`` — a person holding one of the roles (403 page otherwise).
* ``FormPost`` — any of the above plus the CSRF check of the form (``service.web.csrf``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import sessions
from service.auth.actor import Actor
from service.auth.dependencies import client_ip
from service.auth.models import Role
from service.auth.policy import Caller, Policy, declare
from service.clock import NowDep
from service.config import Settings
from service.db import SessionDep
from service.errors import Forbidden, InvalidInput, Unauthorized
from service.fields import has_control_characters
from service.languages import Language
from service.web import csrf
from service.web.i18n import negotiate

SESSION_COOKIE = "meielinn_session"


class SignInRequired(Unauthorized):
    """A page for signed-in people, opened without a session: answered with a redirect to
    the sign-in page (``service.web.errors``)."""


@dataclass
class PageContext:
    """What every page handler and template gets: the request, its caller (or None), the
    reader's language, the request's instant and session, and the settings."""

    request: Request
    actor: Actor | None
    language: Language
    now: datetime
    session: AsyncSession
    settings: Settings

    @property
    def csrf_token(self) -> str:
        return csrf.token_of(self.request)

    @property
    def person(self) -> Actor:
        """The signed-in person (pages behind ``PersonPage`` always have one)."""
        if self.actor is None:
            raise SignInRequired()
        return self.actor


async def _viewer(request: Request, session: AsyncSession, now: datetime) -> Actor | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret or len(secret) > 128:
        return None
    return await sessions.actor_from_web_session(session, secret, now, client_ip(request))


def _refuse_control_characters(request: Request) -> None:
    """Every page's query values pass the API's text guard (``service.fields``) before any
    handler reads them: no control character or unpaired surrogate reaches a service."""
    for name, value in request.query_params.multi_items():
        if has_control_characters(name) or has_control_characters(value):
            raise InvalidInput(
                "Text must not contain control characters (other than tab and line breaks) "
                "or unpaired surrogates.",
                field=name if not has_control_characters(name) else "",
            )


async def _context(request: Request, session: AsyncSession, now: datetime) -> PageContext:
    _refuse_control_characters(request)
    actor = await _viewer(request, session, now)
    request.state.web_actor = actor
    language = negotiate(request, actor.language if actor else None)
    request.state.web_language = language
    return PageContext(request, actor, language, now, session, request.app.state.settings)


@declare(Policy(Caller.anyone))
async def page(request: Request, session: SessionDep, now: NowDep) -> PageContext:
    return await _context(request, session, now)


Page = Annotated[PageContext, Depends(page)]


@declare(Policy(Caller.person))
async def person_page(request: Request, session: SessionDep, now: NowDep) -> PageContext:
    context = await _context(request, session, now)
    if context.actor is None:
        raise SignInRequired()
    return context


PersonPage = Annotated[PageContext, Depends(person_page)]


def role_page(*roles: Role) -> Callable[..., Awaitable[PageContext]]:
    """A page for people holding any of ``roles``."""

    @declare(Policy(Caller.role, roles=frozenset(roles)))
    async def dependency(request: Request, session: SessionDep, now: NowDep) -> PageContext:
        context = await _context(request, session, now)
        if context.actor is None:
            raise SignInRequired()
        if not context.actor.has_any_role(*roles):
            raise Forbidden(f"This needs the role {' or '.join(roles)}.", reason="missing_role")
        return context

    return dependency


async def form_check(request: Request) -> None:
    await csrf.check(request)


# Every POST of a page: ``dependencies=[CSRF]``.
CSRF = Depends(form_check)

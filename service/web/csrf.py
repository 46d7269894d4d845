"""CSRF protection for every form of the web app: a signed double-submit token.

A browser gets a random ``meielinn_csrf`` cookie (HttpOnly, SameSite=Lax) on its first page;
every form carries the same value in a hidden ``csrf_token`` field, and a POST whose field
does not match its cookie is refused with 403 before the page's handler runs. Another site
can make a browser send the cookie but can neither read it nor set it on our host, so it
cannot fill in the field. The cookie is replaced at sign-in and sign-out, so a token seen
before signing in is worthless after. A POST whose ``Origin`` is another site is refused
too (defence in depth: the header is absent on some old browsers, and it is ``null`` on
pages that send no referrer — the emailed links' pages — so only a named other origin is
refused; the token is the check).
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from service.errors import Forbidden

CSRF_COOKIE = "meielinn_csrf"
CSRF_FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_of(request: Request) -> str:
    """The browser's token: its cookie's, or a new one that the response will set."""
    known: str | None = getattr(request.state, "csrf_token", None)
    if known is None:
        known = request.cookies.get(CSRF_COOKIE) or new_token()
        request.state.csrf_token = known
    return known


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def check(request: Request) -> None:
    """Refuse a form post without the browser's token (403 ``csrf``)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not cookie
        or not isinstance(sent, str)
        or not hmac.compare_digest(cookie.encode(), sent.encode())
        or not _same_origin(request)
    ):
        raise Forbidden(
            "The form has expired or came from another site; reload the page and try again.",
            reason="csrf",
        )

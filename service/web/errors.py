"""Errors on pages: the API's error handlers decide the status and the problem (one mapping
for both), and a page answers it as HTML in the reader's language — never JSON, never a
stack trace. A page for signed-in people opened without a session redirects to the sign-in
page, which comes back to it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Scope

from service.config import Settings
from service.languages import Language
from service.web.i18n import N_, negotiate, translate
from service.web.templating import ENVIRONMENT, content_security_policy

# Paths that belong to the API, Open311, operations and the API's documentation; every other
# path is the web app's, including the 404 of a page that does not exist.
API_PREFIXES = (
    "/v1/",
    "/open311/",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/static-offline-docs",
    "/healthz",
    "/readyz",
    "/metrics",
)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

# What a reader is told for a status, when the problem's reason says nothing more precise.
HEADLINES = {
    400: N_("The request could not be understood."),
    401: N_("Sign in to continue."),
    403: N_("You may not open this page."),
    404: N_("There is nothing here."),
    405: N_("This page does not take that kind of request."),
    409: N_("Someone changed this at the same time; reload the page."),
    413: N_("That is too large."),
    422: N_("Some of what was sent is not valid."),
    429: N_("Too many attempts; wait a moment and try again."),
    503: N_("The service is busy; try again shortly."),
}
REASONS = {
    "csrf": N_("The form has expired or came from another site; reload the page and try again."),
    "missing_role": N_("You may not open this page."),
    "email_not_verified": N_("Confirm your email address first: follow the link we sent you."),
}


def is_web_path(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


def _page(request: Request, status: int, problem: dict[str, Any], settings: Settings) -> Response:
    actor = getattr(request.state, "web_actor", None)
    language: Language = getattr(request.state, "web_language", None) or negotiate(
        request, actor.language if actor else None
    )
    reason = problem.get("reason")
    headline = translate(
        language, REASONS.get(str(reason), HEADLINES.get(status, N_("Something went wrong.")))
    )
    body = ENVIRONMENT.get_template("error.html").render(
        language=language,
        zone=settings.timezone,
        actor=actor,
        csrf_token="",
        csrf_field="",
        path=request.url.path,
        query="",
        settings=settings,
        status=status,
        headline=headline,
        request_id=problem.get("request_id"),
    )
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
    }
    for name in ("Retry-After", "X-Request-ID"):
        if name.lower() in problem.get("_headers", {}):
            headers[name] = problem["_headers"][name.lower()]
    return Response(body, status_code=status, headers=headers, media_type="text/html")


def _as_page(original: Handler, settings: Settings) -> Handler:
    async def handler(request: Request, exc: Any) -> Response:
        answer = original(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        if not is_web_path(request.url.path):
            return answer
        if answer.status_code == 401:
            return sign_in_redirect(request)
        try:
            problem = json.loads(bytes(answer.body))
        except ValueError:
            problem = {}
        problem["_headers"] = dict(answer.headers)
        return _page(request, answer.status_code, problem, settings)

    return handler


def install_page_errors(app: FastAPI, settings: Settings) -> None:
    """Wrap every error handler of the app: on a web path, its answer becomes a page."""
    for key, original in list(app.exception_handlers.items()):
        app.exception_handlers[key] = _as_page(original, settings)


def body_limit_page(settings: Settings) -> Callable[[Scope, int, str], Response | None]:
    """What the request-body limit (``service.observability``), which answers before any
    route runs, says on a web path: a page, not the API's problem document."""

    def answer(scope: Scope, status: int, request_id: str) -> Response | None:
        request = Request(scope)
        if not is_web_path(request.url.path):
            return None
        problem = {"request_id": request_id, "_headers": {"x-request-id": request_id}}
        return _page(request, status, problem, settings)

    return answer

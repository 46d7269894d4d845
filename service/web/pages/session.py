"""Signing in and out of the web app, and choosing the language.

Sign-in takes the same throttle as the API's token endpoint (per address, per account and
address, per account) and the same password check; it starts a ``web_session`` and sets its
cookie (HttpOnly, SameSite=Lax, Secure in production). Signing out ends that session; "sign
out everywhere", a password change or reset and erasure end it with every other session.
A new CSRF cookie is issued at both, so a form token seen before does not carry over.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from service.auth import sessions
from service.auth.dependencies import client_ip
from service.auth.throttle import SignInThrottle
from service.config import Environment
from service.errors import AppError, TooManyRequests
from service.languages import Language
from service.web import csrf
from service.web.dependencies import CSRF, SESSION_COOKIE, Page
from service.web.forms import FormErrors, app_error, local_path
from service.web.i18n import LANGUAGE_COOKIE, N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

BAD_CREDENTIALS = N_("The email address or the password is wrong.")
LANGUAGE_COOKIE_DAYS = 365


def _cookie(response: Response, page: Page, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=page.settings.env is Environment.production,
        path="/",
    )


@router.get("/sign-in")
async def sign_in_form(
    page: Page, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    if page.actor is not None:
        return RedirectResponse(local_path(next, "/my/reports"), status_code=303)
    return render(page, "sign_in.html", next=local_path(next, ""), errors=FormErrors(), email="")


@router.post("/sign-in", dependencies=[CSRF])
async def sign_in(page: Page, request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email") or "").strip().lower()[:320]
    password = str(form.get("password") or "")[:1024]
    target = local_path(str(form.get("next") or ""), "/my/reports")
    ip = client_ip(request) or "unknown"
    throttle = SignInThrottle(
        request.app.state.rate_limiter, request.app.state.redis, page.settings
    )
    try:
        await throttle.admit(email, ip)
        user = await sessions.authenticate(
            page.session, page.settings, email, password, page.now, ip
        )
        await throttle.succeeded(email, ip)
    except TooManyRequests as exc:
        errors = app_error(exc, page.language)
        return render(
            page, "sign_in.html", status_code=429, next=target, errors=errors, email=email
        )
    except AppError:
        errors = FormErrors({"": translate(page.language, BAD_CREDENTIALS)})
        return render(
            page, "sign_in.html", status_code=401, next=target, errors=errors, email=email
        )
    # The session this browser held before (anyone's) ends: its cookie is replaced here,
    # and a copy of it must not keep working.
    replaced = request.cookies.get(SESSION_COOKIE)
    if replaced:
        await sessions.end_web_session(page.session, replaced, page.now)
    secret = await sessions.start_web_session(page.session, page.settings, user, page.now)
    response = RedirectResponse(target, status_code=303)
    max_age = page.settings.web_session_days * 86400
    _cookie(response, page, SESSION_COOKIE, secret, max_age)
    _cookie(response, page, csrf.CSRF_COOKIE, csrf.new_token(), None)
    return response


@router.post("/sign-out", dependencies=[CSRF])
async def sign_out(page: Page, request: Request) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        await sessions.end_web_session(page.session, secret, page.now)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    _cookie(response, page, csrf.CSRF_COOKIE, csrf.new_token(), None)
    return response


@router.get("/language/{language}")
async def choose_language(
    page: Page, language: Language, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    """Remember the reader's choice of language for a year and go back to the page."""
    response = RedirectResponse(local_path(next), status_code=303)
    _cookie(response, page, LANGUAGE_COOKIE, language.value, LANGUAGE_COOKIE_DAYS * 86400)
    return response

"""A resident's account in the browser: registering, confirming the address, resetting a
forgotten password, and the account page (details, password, signing out everywhere, the
export of one's data, erasure).

Every form calls the service the API's route calls, with the route's throttle, and checks
its fields with the route's schema. The emailed links land on ``/verify-email`` and
``/reset-password``: opening a link changes nothing (mail scanners open every link), only
the page's button spends the one-time code; the older ``/v1/auth/…`` pages keep working for
links already sent.

A password change ends every session of the account, this browser's too (the service
moves the account's "sessions valid after" to now); the page then starts a new session for
this browser, since the person proved the current password on it. "Sign out everywhere"
and erasure end this browser's session as well.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.auth import own_data, service, sessions
from service.auth.dependencies import client_ip
from service.auth.schemas import (
    ErasureRequest,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegisterRequest,
    UserUpdate,
    VerifyRequest,
)
from service.auth.throttle import EmailThrottle, SignInThrottle
from service.config import Environment
from service.errors import Conflict, Forbidden, InvalidInput, TooManyRequests
from service.privacy.erasure import export_chunks
from service.web import csrf
from service.web.dependencies import CSRF, SESSION_COOKIE, Page, PageContext, PersonPage
from service.web.forms import FormErrors, app_error, field_errors, parse, text_fields
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

BAD_CODE = N_("The link is unknown, used or expired. Ask for a new one.")
Token = Annotated[str | None, Query(max_length=256)]
LINK_HEADERS = {"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def _ip(request: Request) -> str:
    return client_ip(request) or "unknown"


def _set_cookie(
    response: Response, page: PageContext, name: str, value: str, days: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=days * 86400 if days is not None else None,
        httponly=True,
        samesite="lax",
        secure=page.settings.env is Environment.production,
        path="/",
    )


def _signed_out(page: PageContext, request: Request, target: str) -> RedirectResponse:
    """A redirect that forgets this browser's session (already ended by the service)."""
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    _set_cookie(response, page, csrf.CSRF_COOKIE, csrf.new_token(), None)
    return response


async def _end_this_browser(page: PageContext, request: Request) -> None:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        await sessions.end_web_session(page.session, secret, page.now)


def _email_throttle(request: Request, page: PageContext) -> EmailThrottle:
    return EmailThrottle(request.app.state.rate_limiter, page.settings)


def _sign_in_throttle(request: Request, page: PageContext) -> SignInThrottle:
    return SignInThrottle(request.app.state.rate_limiter, request.app.state.redis, page.settings)


# --- registering -------------------------------------------------------------------------


@router.get("/register")
async def register_form(page: Page) -> Response:
    if page.actor is not None:
        return RedirectResponse("/account", status_code=303)
    values = {"email": "", "display_name": "", "language": page.language.value}
    return render(page, "account/register.html", errors=FormErrors(), values=values)


@router.post("/register", dependencies=[CSRF])
async def register(page: Page, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "email", "password", "display_name", "language")
    fields["email"] = fields.get("email", "").strip()
    shown = {k: v for k, v in fields.items() if k != "password"}
    try:
        body = parse(RegisterRequest, fields)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return render(page, "account/register.html", status_code=422, errors=errors, values=shown)
    emails = _email_throttle(request, page)
    ip = _ip(request)
    try:
        await emails.admit_request("register", ip)
    except TooManyRequests as exc:
        errors = app_error(exc, page.language)
        return render(page, "account/register.html", status_code=429, errors=errors, values=shown)
    may_email = await emails.may_mail(body.email)
    await service.register(
        page.session, page.settings, body, page.now, ip, may_email_owner=may_email
    )
    return RedirectResponse("/register/sent", status_code=303)


@router.get("/register/sent")
async def register_sent(page: Page) -> Response:
    return render(page, "account/register_sent.html")


# --- the emailed links -------------------------------------------------------------------


def _link_page(
    page: PageContext, template: str, status_code: int = 200, **values: object
) -> Response:
    response = render(page, template, status_code=status_code, **values)
    response.headers.update(LINK_HEADERS)
    return response


@router.get("/verify-email")
async def verify_email_form(page: Page, token: Token = None) -> Response:
    """The emailed link: a page whose button confirms the address (opening it changes
    nothing)."""
    return _link_page(page, "account/verify_email.html", token=token or "", errors=FormErrors())


@router.post("/verify-email", dependencies=[CSRF])
async def verify_email(page: Page, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "token")
    try:
        body = parse(VerifyRequest, fields)
        await service.verify_email(page.session, body.token, page.now, client_ip(request))
    except (ValidationError, InvalidInput):
        errors = FormErrors({"": translate(page.language, BAD_CODE)})
        return _link_page(
            page, "account/verify_email.html", 422, token=fields.get("token", ""), errors=errors
        )
    return RedirectResponse("/verify-email/done", status_code=303)


@router.get("/verify-email/done")
async def verify_email_done(page: Page) -> Response:
    return render(page, "account/verified.html")


@router.get("/reset-password")
async def reset_password_form(page: Page, token: Token = None) -> Response:
    """The emailed reset link: a form for the new password."""
    return _link_page(page, "account/reset_password.html", token=token or "", errors=FormErrors())


@router.post("/reset-password", dependencies=[CSRF])
async def reset_password(page: Page, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "token", "new_password")
    token = fields.get("token", "")
    try:
        body = parse(PasswordResetConfirm, fields)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "token" in errors:
            errors = FormErrors({"": translate(page.language, BAD_CODE)})
        return _link_page(page, "account/reset_password.html", 422, token=token, errors=errors)
    try:
        await service.confirm_password_reset(
            page.session, page.settings, body.token, body.new_password, page.now, _ip(request)
        )
    except InvalidInput:
        errors = FormErrors({"": translate(page.language, BAD_CODE)})
        return _link_page(page, "account/reset_password.html", 422, token=token, errors=errors)
    # Every session of the account ended; this browser's too.
    return _signed_out(page, request, "/reset-password/done")


@router.get("/reset-password/done")
async def reset_password_done(page: Page) -> Response:
    return render(page, "account/reset_done.html")


@router.get("/account/password-reset")
async def password_reset_form(page: Page) -> Response:
    return render(page, "account/password_reset.html", errors=FormErrors(), email="")


@router.post("/account/password-reset", dependencies=[CSRF])
async def password_reset(page: Page, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "email")
    email = fields.get("email", "").strip()
    try:
        body = parse(PasswordResetRequest, {"email": email})
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return render(
            page, "account/password_reset.html", status_code=422, errors=errors, email=email
        )
    emails = _email_throttle(request, page)
    try:
        await emails.admit_request("password-reset", _ip(request))
        # Counted whether or not the address has an account, so a refusal reveals nothing.
        await emails.admit_recipient(body.email)
    except TooManyRequests as exc:
        errors = app_error(exc, page.language)
        return render(
            page, "account/password_reset.html", status_code=429, errors=errors, email=email
        )
    await service.request_password_reset(
        page.session, page.settings, body.email, page.now, _ip(request)
    )
    return RedirectResponse("/account/password-reset/sent", status_code=303)


@router.get("/account/password-reset/sent")
async def password_reset_sent(page: Page) -> Response:
    return render(page, "account/password_reset_sent.html")


# --- the account page --------------------------------------------------------------------


async def _account_page(
    page: PageContext,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    form: str = "",
    values: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    user, grants = await service.me(page.session, page.person)
    return render(
        page,
        "account/account.html",
        status_code=status_code,
        user=user,
        roles=sorted({str(g.role) for g in grants}),
        errors=errors or FormErrors(),
        form=form,
        values=values or {},
        done=done,
    )


DONE = {
    "details": N_("Your details are saved."),
    "password": N_("Your password is changed. Every other session was signed out."),
}


@router.get("/account")
async def account(page: PersonPage, done: Annotated[str, Query(max_length=20)] = "") -> Response:
    message = translate(page.language, DONE[done]) if done in DONE else ""
    return await _account_page(page, done=message)


@router.post("/account/details", dependencies=[CSRF])
async def update_details(page: PersonPage, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "display_name", "language")
    try:
        changes = parse(UserUpdate, fields)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _account_page(
            page, status_code=422, errors=errors, form="details", values=fields
        )
    await service.update_me(page.session, page.person, changes)
    return RedirectResponse("/account?done=details", status_code=303)


@router.post("/account/password", dependencies=[CSRF])
async def change_password(page: PersonPage, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "current_password", "new_password")
    try:
        change = parse(PasswordChange, fields)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _account_page(page, status_code=422, errors=errors, form="password")
    try:
        # Checking the current password is a sign-in attempt, throttled as the API's.
        await _sign_in_throttle(request, page).admit(page.person.email, _ip(request))
        await sessions.change_password(page.session, page.settings, page.person, change, page.now)
    except (Forbidden, TooManyRequests) as exc:
        errors = app_error(exc, page.language, "current_password")
        return await _account_page(page, status_code=exc.status, errors=errors, form="password")
    # Every session ended, this one too; the person proved the password here, so this
    # browser gets a new session.
    user, _ = await service.me(page.session, page.person)
    await _end_this_browser(page, request)
    secret = await sessions.start_web_session(page.session, page.settings, user, page.now)
    response = RedirectResponse("/account?done=password", status_code=303)
    _set_cookie(response, page, SESSION_COOKIE, secret, page.settings.web_session_days)
    _set_cookie(response, page, csrf.CSRF_COOKIE, csrf.new_token(), None)
    return response


@router.post("/account/sign-out-everywhere", dependencies=[CSRF])
async def sign_out_everywhere(page: PersonPage, request: Request) -> Response:
    await sessions.logout_everywhere(page.session, page.person, page.now)
    await _end_this_browser(page, request)
    return _signed_out(page, request, "/sign-in")


@router.post("/account/export", dependencies=[CSRF])
async def export(page: PersonPage, request: Request) -> Response:
    """All of the person's data as one JSON document, as ``GET /v1/me/export`` streams it.

    A form's button (with the CSRF token), not a link: another site cannot make a signed-in
    browser run an export, which is written to the audit log. The answer is the download
    itself, not a redirect."""
    person = await own_data.begin_export(page.session, page.person)
    return StreamingResponse(
        export_chunks(request.app.state.sessionmaker, person, page.now),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="meielinn-export-{person.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/account/erase", dependencies=[CSRF])
async def erase(page: PersonPage, request: Request) -> Response:
    form = await request.form()
    fields = text_fields(form, "password")
    try:
        body = parse(ErasureRequest, fields)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        return await _account_page(page, status_code=422, errors=errors, form="erase")
    try:
        await _sign_in_throttle(request, page).admit(page.person.email, _ip(request))
        await own_data.erase_me(page.session, page.settings, page.person, body.password, page.now)
    except (Forbidden, Conflict, TooManyRequests) as exc:
        errors = app_error(exc, page.language, "password")
        if isinstance(exc, Conflict):
            errors = FormErrors(
                {
                    "password": translate(
                        page.language,
                        N_(
                            "This account holds a role of the city: an administrator removes "
                            "it before the account can be erased."
                        ),
                    )
                }
            )
        return await _account_page(page, status_code=exc.status, errors=errors, form="erase")
    await _end_this_browser(page, request)
    return _signed_out(page, request, "/goodbye")


@router.get("/goodbye")
async def goodbye(page: Page) -> Response:
    return render(page, "account/goodbye.html")

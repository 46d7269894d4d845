"""The small HTML pages that emailed links open: confirm an address, choose a new password.

Security decisions:

* **Opening a link changes nothing.** Mail scanners and link previewers fetch every link in
  a message; if a GET verified the address, an attacker who registered someone else's
  address would see it verified by that person's scanner. So GET answers a page with a
  button (or a password form), and only its POST uses the single-use code.
* The code travels in the link's query, so the pages send ``Referrer-Policy: no-referrer``
  and ``Cache-Control: no-store``; ``X-Frame-Options: DENY`` and a CSP with
  ``frame-ancestors 'none'`` keep another site from framing the button.
* A forged POST (CSRF) could only use a code the forger holds, for the forger's own account.

The JSON endpoints (``POST /v1/auth/verify``, ``POST /v1/auth/password-reset/confirm``) do
the same for apps; the pages are for a person holding only the email.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse

from service.auth import service
from service.auth.dependencies import SettingsDep, client_ip
from service.auth.policy import CREDENTIALS
from service.auth.schemas import PASSWORD_MAX, PASSWORD_MIN
from service.clock import NowDep
from service.db import SessionDep
from service.errors import InvalidInput
from service.fields import PlainText
from service.languages import Language

router = APIRouter(prefix="", tags=["auth pages"], dependencies=[CREDENTIALS])

# Emailed links now open the web app's pages (``EMAIL_TOKEN_PAGES``); these keep working
# for links sent before, and for clients that open them.
VERIFY_PAGE = "/v1/auth/verify-email"
RESET_PAGE = "/v1/auth/reset-password"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

TEXTS: dict[Language, dict[str, str]] = {
    Language.et: {
        "verify_title": "E-posti aadressi kinnitamine",
        "verify_ask": "Kinnitage, et see e-posti aadress kuulub teile.",
        "verify_button": "Kinnitan aadressi",
        "verified": "Aitäh! Teie e-posti aadress on kinnitatud.",
        "reset_title": "Uue parooli valimine",
        "reset_ask": "Valige uus parool (vähemalt {min} märki).",
        "reset_field": "Uus parool",
        "reset_button": "Salvestan parooli",
        "reset_done": "Parool on muudetud. Logige uue parooliga sisse; teised seansid lõpetati.",
        "bad_code": "Link on tundmatu, juba kasutatud või aegunud. Tellige uus.",
        "bad_password": "Parool peab olema {min} kuni {max} märki pikk.",
    },
    Language.en: {
        "verify_title": "Confirm your email address",
        "verify_ask": "Confirm that this email address is yours.",
        "verify_button": "Confirm my address",
        "verified": "Thank you! Your email address is confirmed.",
        "reset_title": "Choose a new password",
        "reset_ask": "Choose a new password (at least {min} characters).",
        "reset_field": "New password",
        "reset_button": "Save the password",
        "reset_done": "Your password is changed. Sign in with it; other sessions were ended.",
        "bad_code": "The link is unknown, used or expired. Ask for a new one.",
        "bad_password": "The password must be {min} to {max} characters long.",
    },
    Language.ru: {
        "verify_title": "Подтверждение адреса электронной почты",
        "verify_ask": "Подтвердите, что этот адрес электронной почты принадлежит вам.",
        "verify_button": "Подтвердить адрес",
        "verified": "Спасибо! Ваш адрес электронной почты подтверждён.",
        "reset_title": "Новый пароль",
        "reset_ask": "Выберите новый пароль (не менее {min} символов).",
        "reset_field": "Новый пароль",
        "reset_button": "Сохранить пароль",
        "reset_done": "Пароль изменён. Войдите с новым паролем; другие сеансы завершены.",
        "bad_code": "Ссылка неизвестна, уже использована или устарела. Запросите новую.",
        "bad_password": "Пароль должен содержать от {min} до {max} символов.",
    },
}

Token = Annotated[str, Query(min_length=16, max_length=256), PlainText]
FormToken = Annotated[str, Form(min_length=16, max_length=256), PlainText]
Lang = Annotated[Language, Query()]
FormLang = Annotated[Language, Form()]


def _text(language: Language, key: str) -> str:
    return TEXTS[language][key].format(min=PASSWORD_MIN, max=PASSWORD_MAX)


def _page(language: Language, title_key: str, body: str, status_code: int = 200) -> HTMLResponse:
    title = escape(_text(language, title_key))
    document = (
        f'<!doctype html><html lang="{language.value}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} · meielinn</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "input,button{font-size:1rem;padding:.4rem}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status_code, headers=HEADERS)


def _message(language: Language, title_key: str, key: str, status_code: int) -> HTMLResponse:
    return _page(language, title_key, f"<p>{escape(_text(language, key))}</p>", status_code)


def _hidden(token: str, language: Language) -> str:
    return (
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f'<input type="hidden" name="lang" value="{language.value}">'
    )


@router.get(
    VERIFY_PAGE,
    response_class=HTMLResponse,
    summary="The emailed verification link: a page whose button confirms the address",
)
async def verify_page(token: Token, lang: Lang = Language.et) -> HTMLResponse:
    form = (
        f'<form method="post" action="verify-email">{_hidden(token, lang)}'
        f"<button>{escape(_text(lang, 'verify_button'))}</button></form>"
    )
    body = f"<p>{escape(_text(lang, 'verify_ask'))}</p>{form}"
    return _page(lang, "verify_title", body)


@router.post(
    VERIFY_PAGE,
    response_class=HTMLResponse,
    summary="The verification page's button: confirms the address with the code",
    responses={422: {"content": {"text/html": {}}}},
)
async def verify_page_submit(
    token: FormToken,
    request: Request,
    session: SessionDep,
    now: NowDep,
    lang: FormLang = Language.et,
) -> HTMLResponse:
    try:
        await service.verify_email(session, token, now, client_ip(request))
    except InvalidInput:
        return _message(lang, "verify_title", "bad_code", status.HTTP_422_UNPROCESSABLE_CONTENT)
    return _message(lang, "verify_title", "verified", status.HTTP_200_OK)


def _reset_form(token: str, language: Language, error: str | None = None) -> str:
    problem = f'<p role="alert">{escape(error)}</p>' if error else ""
    return (
        f"{problem}<p>{escape(_text(language, 'reset_ask'))}</p>"
        f'<form method="post" action="reset-password">{_hidden(token, language)}'
        f"<label>{escape(_text(language, 'reset_field'))} "
        f'<input type="password" name="new_password" autocomplete="new-password" required '
        f'minlength="{PASSWORD_MIN}" maxlength="{PASSWORD_MAX}"></label> '
        f"<button>{escape(_text(language, 'reset_button'))}</button></form>"
    )


@router.get(
    RESET_PAGE,
    response_class=HTMLResponse,
    summary="The emailed password reset link: a page to choose the new password",
)
async def reset_page(token: Token, lang: Lang = Language.et) -> HTMLResponse:
    return _page(lang, "reset_title", _reset_form(token, lang))


@router.post(
    RESET_PAGE,
    response_class=HTMLResponse,
    summary="The reset page's form: sets the new password with the code",
    responses={422: {"content": {"text/html": {}}}},
)
async def reset_page_submit(
    token: FormToken,
    new_password: Annotated[str, Form(max_length=1024), PlainText],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    lang: FormLang = Language.et,
) -> HTMLResponse:
    if not PASSWORD_MIN <= len(new_password) <= PASSWORD_MAX:
        form = _reset_form(token, lang, _text(lang, "bad_password"))
        return _page(lang, "reset_title", form, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        await service.confirm_password_reset(
            session, settings, token, new_password, now, client_ip(request)
        )
    except InvalidInput:
        return _message(lang, "reset_title", "bad_code", status.HTTP_422_UNPROCESSABLE_CONTENT)
    return _message(lang, "reset_title", "reset_done", status.HTTP_200_OK)

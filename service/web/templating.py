"""Templates: one Jinja2 environment, autoescaped, with the reader's language.

``render(context, "report.html", report=…)`` answers the page with the headers every page
carries: a content security policy that allows only our own scripts and styles (and the map
tiles' origin for images), no framing, and ``Cache-Control: no-store`` for pages rendered for
a signed-in person (what they show is theirs). The CSRF cookie is set on the first page a
browser sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.responses import HTMLResponse

from service.config import Environment as Env
from service.config import Settings
from service.languages import Language
from service.readable import readable_day, readable_number, readable_time
from service.web import csrf
from service.web.dependencies import PageContext
from service.web.i18n import catalogue
from service.web.staff_parts import console_parts

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LANGUAGE_NAMES = {Language.et: "Eesti", Language.en: "English", Language.ru: "Русский"}


@cache
def static_version(path: str) -> str:
    """A short digest of a static file's content, so its URL changes when the file does and
    browsers may keep it for a year."""
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    return f"/static/{path}?v={static_version(path)}"


@pass_context
def _gettext(context: Context, message: str) -> str:
    return catalogue(context["language"]).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return catalogue(context["language"]).ngettext(singular, plural, count)


@pass_context
def _when(context: Context, instant: datetime | None) -> str:
    if instant is None:
        return ""
    return readable_time(instant, context["language"], context["zone"])


@pass_context
def _day(context: Context, day: date | datetime | None) -> str:
    if day is None:
        return ""
    return readable_day(day, context["language"], context["zone"])


@pass_context
def _number(context: Context, value: float | None) -> str:
    return "" if value is None else readable_number(value, context["language"])


def _build_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    environment.filters["when"] = _when
    environment.filters["day"] = _day
    environment.filters["number"] = _number
    environment.globals["static"] = static_url
    environment.globals["language_names"] = LANGUAGE_NAMES
    return environment


ENVIRONMENT = _build_environment()


def content_security_policy(settings: Settings) -> str:
    images = "'self' data: blob:"
    if settings.map_tile_url:
        # Leaflet's "{s}" picks a subdomain per tile: the policy allows them all ("*.").
        tiles = urlsplit(settings.map_tile_url.replace("{s}", "subdomain"))
        images += f" {tiles.scheme}://{tiles.netloc.replace('subdomain', '*', 1)}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def page_headers(context: PageContext) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(context.settings),
        # Browsers then send our forms' Origin (the CSRF check reads it) but no address of
        # ours to other sites. Pages holding a code in their address say no-referrer.
        "Referrer-Policy": "same-origin",
        "Vary": "Cookie, Accept-Language",
    }
    if context.actor is not None:
        headers["Cache-Control"] = "no-store"
    else:
        headers["Cache-Control"] = "private, no-cache"
    return headers


def render_text(context: PageContext, template: str, values: Mapping[str, Any]) -> str:
    return ENVIRONMENT.get_template(template).render(
        {
            "language": context.language,
            "zone": context.settings.timezone,
            "actor": context.actor,
            "csrf_token": context.csrf_token,
            "csrf_field": csrf.CSRF_FIELD,
            "path": context.request.url.path,
            "query": context.request.url.query,
            "settings": context.settings,
            "now": context.now,
            "console_parts": console_parts(context.actor),
            **values,
        }
    )


def set_csrf_cookie(context: PageContext, response: HTMLResponse | Any) -> None:
    """Give a browser that has no CSRF cookie yet the one its forms were rendered with."""
    request = context.request
    token = getattr(request.state, "csrf_token", None)
    if token and request.cookies.get(csrf.CSRF_COOKIE) != token:
        response.set_cookie(
            csrf.CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=context.settings.env is Env.production,
            path="/",
        )


def render(
    context: PageContext, template: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """The page ``template`` rendered for the reader, with the page headers."""
    response = HTMLResponse(
        render_text(context, template, values),
        status_code=status_code,
        headers=page_headers(context),
    )
    set_csrf_cookie(context, response)
    return response

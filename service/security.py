"""Response headers that make browsers handle the API's answers safely, and CORS.

Every answer carries ``X-Content-Type-Options: nosniff`` (a JSON body or an uploaded photo
is never run as script or rendered as HTML), ``X-Frame-Options: DENY`` and a CSP with
``frame-ancestors 'none'`` (no page of the API inside another site's frame),
``Referrer-Policy: no-referrer`` (links in emails carry one-time codes in their query) and a
``Content-Security-Policy`` that lets nothing load. The two pages that are HTML applications,
/docs and /redoc, get a CSP that lets them load their own scripts and styles, which
``fastapi-offline`` serves from the app itself, so they keep working without internet.
In production, ``Strict-Transport-Security`` tells browsers to come back over HTTPS only.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Environment, Settings

# The API's answers are data, and the account pages (service/auth/pages.py) plain forms with
# an inline style: nothing may load, nothing may frame them, forms post only back to us.
API_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Swagger UI and ReDoc: their bundles and styles from /static-offline-docs, an inline
# bootstrap script, the OpenAPI document, data: images (icons) and ReDoc's blob: worker.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
HSTS = "max-age=63072000; includeSubDomains"
# What a web app may send and read across origins: credentials, idempotency and versions in;
# versions, locations, rate limits and request ids out.
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-API-Key",
    "X-Request-ID",
]
EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
]


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        base = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            base.append((b"strict-transport-security", HSTS.encode()))
        self.api_headers = [*base, (b"content-security-policy", API_POLICY.encode())]
        self.docs_headers = [*base, (b"content-security-policy", DOCS_POLICY.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope.get("path") in DOCS_PATHS else self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                headers.extend((key, value) for key, value in extra if key not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, settings: Settings) -> None:
    """Security headers on every answer; CORS for the origins the settings name (none by
    default). Settings refuse ``*`` together with credentials (service/config.py)."""
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.env is Environment.production)

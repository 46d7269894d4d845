"""Installs the web app on the application: static files, the pages, and errors as pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from service.config import Settings
from service.web.errors import install_page_errors
from service.web.pages import ROUTERS
from service.web.templating import STATIC


class VersionedStatic(StaticFiles):
    """Static files; a URL with the file's version (``?v=``, see ``templating.static_url``)
    may be kept by browsers and proxies for a year."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        versioned = b"v=" in scope.get("query_string", b"")

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                value = b"public, max-age=31536000, immutable" if versioned else b"no-cache"
                message["headers"] = [
                    *[(k, v) for k, v in message["headers"] if k != b"cache-control"],
                    (b"cache-control", value),
                ]
            await send(message)

        await super().__call__(scope, receive, send_cached)


def install_web(app: FastAPI, settings: Settings) -> None:
    """Serve the pages at ``/`` beside the API; call after the API's error handlers."""
    app.mount("/static", VersionedStatic(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    install_page_errors(app, settings)

"""The web app's pages, one module per area; ``ROUTERS`` is what ``service.web.app`` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from service.web.pages import home, session, staff

ROUTERS: list[APIRouter] = [home.router, session.router, staff.router]

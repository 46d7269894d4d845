"""The web app's pages, one module per area; ``ROUTERS`` is what ``service.web.app`` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from service.web.pages import (
    account,
    figures,
    filing,
    home,
    ideas,
    my,
    reports,
    session,
    staff,
    staff_moderation,
    staff_queue,
    staff_supervise,
    training,
)

# Filing's fixed paths (``/reports/new``) before the report pages' ``/reports/{code}``.
ROUTERS: list[APIRouter] = [
    home.router,
    session.router,
    staff.router,
    staff_queue.router,
    staff_supervise.router,
    staff_moderation.router,
    filing.router,
    reports.router,
    account.router,
    my.router,
    training.router,
    ideas.router,
    figures.router,
]

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
    staff_admin,
    staff_admin_catalogue,
    staff_admin_city,
    staff_admin_texts,
    staff_ideas,
    staff_moderation,
    staff_queue,
    staff_supervise,
    staff_training,
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
    staff_training.router,
    staff_ideas.router,
    staff_admin.router,
    staff_admin_catalogue.router,
    staff_admin_city.router,
    staff_admin_texts.router,
    filing.router,
    reports.router,
    account.router,
    my.router,
    training.router,
    ideas.router,
    figures.router,
]

"""The web app's pages, one module per area; ``ROUTERS`` is what ``service.web.app`` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from service.web.pages import (
    account,
    figures,
    filing,
    home,
    ideas,
    ideas_mine,
    lab,
    my,
    reports,
    session,
    staff,
    staff_admin,
    staff_admin_catalogue,
    staff_admin_city,
    staff_admin_texts,
    staff_ideas,
    staff_kpis,
    staff_lab,
    staff_moderation,
    staff_programme,
    staff_queue,
    staff_supervise,
    staff_training,
    staff_training_sessions,
    staff_workspace,
    training,
)

# Fixed paths before the pages whose path takes a parameter in their place: filing's
# ``/reports/new`` before ``/reports/{code}``, ``/ideas/new`` before ``/ideas/{idea_id}``.
ROUTERS: list[APIRouter] = [
    home.router,
    session.router,
    staff.router,
    staff_queue.router,
    staff_workspace.router,
    staff_supervise.router,
    staff_kpis.router,
    staff_moderation.router,
    staff_training.router,
    staff_programme.router,
    staff_training_sessions.router,
    staff_ideas.router,
    staff_lab.router,
    staff_admin.router,
    staff_admin_catalogue.router,
    staff_admin_city.router,
    staff_admin_texts.router,
    filing.router,
    reports.router,
    account.router,
    my.router,
    training.router,
    ideas_mine.router,
    lab.router,
    ideas.router,
    figures.router,
]

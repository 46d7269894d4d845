"""Feedback endpoints: official responses, answer moderation, ratings, response templates
and the KPI tables.

Who may call what: answering and the templates of a report need staff of the report's
department (supervisors over their subtree, admins anywhere: ``service.queues.access``), so
the route admits the department roles and the service checks the department (404 for a
report the caller may not work, 403 for another department's figures). Answer moderation
is for moderators and admins; rating for the reporter and supporters (a verified person, or
a key with ``reports:write`` acting as its owner); template administration for admins; the
league table and published responses for everyone.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.actor import Actor
from service.auth.dependencies import (
    AdminActor,
    OptionalActor,
    SettingsDep,
    require_roles,
    require_scope,
)
from service.auth.models import Role
from service.auth.policy import DEPARTMENTS, OWN, PUBLIC
from service.auth.scopes import Scope
from service.catalog.schemas import AcceptLanguage, LangQuery, pick_language
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, NotFound
from service.feedback import answer_moderation, ratings, responses, stats, templates
from service.feedback.schemas import (
    AnswerQueuePage,
    DepartmentStats,
    LeagueTable,
    RatingCreate,
    RatingView,
    ReferralClose,
    ResponseCreate,
    ResponseView,
    ReturnRequest,
    TemplateCreate,
    TemplateForReport,
    TemplatePublic,
    TemplateUpdate,
)
from service.pagination import Cursor, PageSize
from service.queues.access import require_power
from service.replicas import ReadSessionDep
from service.reports import repository as reports

router = APIRouter(tags=["feedback"])
# Department work: the service checks the department of the report.
DepartmentWorker = Annotated[Actor, Depends(require_roles(Role.staff, Role.supervisor, Role.admin))]
Supervisor = Annotated[Actor, Depends(require_roles(Role.supervisor, Role.admin))]
Moderator = Annotated[Actor, Depends(require_roles(Role.moderator, Role.admin))]
# Rating: a verified person, or a key with reports:write acting as its owner.
Rater = Annotated[Actor, Depends(require_scope(Scope.reports_write, verified=True))]
FromDate = Annotated[
    date | None, Query(alias="from", description="First day (default: 30 days before `to`).")
]
ToDate = Annotated[date | None, Query(alias="to", description="Last day, inclusive (today).")]


# --- responses ------------------------------------------------------------------------------


@router.get(
    "/v1/reports/{report_id}/response-templates",
    dependencies=[DEPARTMENTS],
    summary="Templates that fit a report, rendered for it (the report's department)",
    responses=ERRORS,
)
async def report_templates(
    report_id: uuid.UUID, actor: DepartmentWorker, session: SessionDep
) -> list[TemplateForReport]:
    report = await reports.get(session, report_id)
    if report is None:
        raise NotFound("No such report.")
    await require_power(session, actor, report.department_id)
    return await templates.templates_for_report(session, report)


@router.post(
    "/v1/reports/{report_id}/responses",
    dependencies=[DEPARTMENTS],
    status_code=status.HTTP_201_CREATED,
    summary="Answer a report (published at once, or after answer moderation)",
    responses=ERRORS,
)
async def answer_report(
    report_id: uuid.UUID,
    body: ResponseCreate,
    response: Response,
    actor: DepartmentWorker,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ResponseView:
    created, _ = await responses.answer(session, actor, report_id, body, now, settings)
    response.headers["Location"] = f"/v1/reports/{report_id}/responses"
    return responses.response_view(created, settings, staff=True)


@router.get(
    "/v1/reports/{report_id}/responses",
    summary="A report's official responses (published ones; all for its department)",
    responses=ERRORS,
)
async def list_responses(
    report_id: uuid.UUID, actor: OptionalActor, session: ReadSessionDep, settings: SettingsDep
) -> list[ResponseView]:
    return await responses.responses_of(session, actor, report_id, settings)


# --- answer moderation ----------------------------------------------------------------------


@router.get(
    "/v1/moderation/answers",
    summary="Answers awaiting moderation, oldest first",
    responses=ERRORS,
    tags=["moderation"],
)
async def answer_queue(
    actor: Moderator,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> AnswerQueuePage:
    items, next_cursor = await answer_moderation.answer_queue(
        session,
        settings,
        now=now,
        language=str(actor.language),
        limit=min(limit, 100),
        cursor=cursor,
    )
    return AnswerQueuePage(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/moderation/answers/{response_id}/approve",
    summary="Approve an answer: it is published",
    responses=ERRORS,
    tags=["moderation"],
)
async def approve_answer(
    response_id: uuid.UUID,
    actor: Moderator,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ResponseView:
    approved = await answer_moderation.approve(session, actor, response_id, now, settings)
    return responses.response_view(approved, settings, staff=True)


@router.post(
    "/v1/moderation/answers/{response_id}/return",
    summary="Return an answer to the department with a comment",
    responses=ERRORS,
    tags=["moderation"],
)
async def return_answer(
    response_id: uuid.UUID,
    body: ReturnRequest,
    actor: Moderator,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ResponseView:
    returned = await answer_moderation.return_answer(session, actor, response_id, body, now)
    return responses.response_view(returned, settings, staff=True)


# --- ratings --------------------------------------------------------------------------------


@router.post(
    "/v1/reports/{report_id}/rating",
    dependencies=[OWN],
    summary="Rate the answer (reporter or supporter); again within the window to change it",
    responses={**ERRORS, 200: {"description": "An earlier rating of this round changed."}},
    status_code=status.HTTP_201_CREATED,
)
async def rate_report(
    report_id: uuid.UUID,
    body: RatingCreate,
    response: Response,
    actor: Rater,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> RatingView:
    view, created = await ratings.rate(session, actor, report_id, body, now, settings)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get(
    "/v1/reports/{report_id}/rating",
    dependencies=[OWN],
    summary="My rating of the current round's answer",
    responses=ERRORS,
)
async def my_rating(
    report_id: uuid.UUID, actor: Rater, session: SessionDep, settings: SettingsDep
) -> RatingView:
    return await ratings.my_rating(session, actor, report_id, settings)


@router.post(
    "/v1/reports/{report_id}/referral/close",
    dependencies=[DEPARTMENTS],
    summary="Close a report referred to the supervisor after its last reopen round",
    responses=ERRORS,
)
async def close_referred(
    report_id: uuid.UUID,
    body: ReferralClose,
    actor: Supervisor,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> list[ResponseView]:
    await ratings.close_referred(session, actor, report_id, body, now)
    return await responses.responses_of(session, actor, report_id, settings)


# --- KPIs -----------------------------------------------------------------------------------


@router.get(
    "/v1/stats/departments",
    dependencies=[PUBLIC],
    summary="The departments' league table over a period (public)",
    responses={422: ERRORS[422]},
    tags=["stats"],
)
async def league_table(
    session: ReadSessionDep, now: NowDep, from_date: FromDate = None, to_date: ToDate = None
) -> LeagueTable:
    return await stats.league_table(session, from_date, to_date, now)


@router.get(
    "/v1/departments/{department_id}/stats",
    dependencies=[DEPARTMENTS],
    summary="A department's figures per reason (its staff, supervisors above it, admins)",
    responses=ERRORS,
    tags=["stats"],
)
async def department_stats(
    department_id: uuid.UUID,
    actor: DepartmentWorker,
    session: SessionDep,
    now: NowDep,
    from_date: FromDate = None,
    to_date: ToDate = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> DepartmentStats:
    language = (
        str(actor.language)
        if lang is None and accept_language is None
        else pick_language(lang, accept_language)
    )
    return await stats.department_stats(
        session, actor, department_id, from_date, to_date, now, language
    )


# --- templates (admin) ----------------------------------------------------------------------

admin = APIRouter(prefix="/v1/admin/response-templates", tags=["feedback admin"])


@admin.get("", summary="Response templates, by code", responses=ERRORS)
async def list_templates(
    actor: AdminActor,
    session: SessionDep,
    reason_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> list[TemplatePublic]:
    found = await templates.list_templates(
        session, reason_id=reason_id, department_id=department_id
    )
    return [templates.template_public(t) for t in found]


@admin.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add a response template", responses=ERRORS
)
async def create_template(
    body: TemplateCreate, actor: AdminActor, session: SessionDep
) -> TemplatePublic:
    return templates.template_public(await templates.create_template(session, body))


@admin.get("/{template_id}", summary="One response template", responses=ERRORS)
async def get_template(
    template_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> TemplatePublic:
    return templates.template_public(await templates.get_template(session, template_id))


@admin.patch(
    "/{template_id}",
    summary="Change a template's texts, outcome, automatic state or active flag",
    responses=ERRORS,
)
async def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, actor: AdminActor, session: SessionDep
) -> TemplatePublic:
    return templates.template_public(await templates.update_template(session, template_id, body))


@admin.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a template (answers written from it keep their text)",
    responses=ERRORS,
)
async def delete_template(template_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> None:
    await templates.delete_template(session, template_id)


router.include_router(admin)

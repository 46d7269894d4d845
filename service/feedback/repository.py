"""SQL of the feedback package: templates, responses and ratings. No rules live here; the
KPI queries are in ``kpi_repository.py``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.feedback.models import ReportRating, ReportResponse, ResponseState, ResponseTemplate
from service.reports import repository as reports
from service.reports.models import (
    Report,
    ReportRound,
    ReportSupport,
)
from service.reports.states import ReportState

# --- templates ------------------------------------------------------------------------------


async def get_template(session: AsyncSession, template_id: uuid.UUID) -> ResponseTemplate | None:
    return await session.get(ResponseTemplate, template_id)


async def template_code_taken(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(exists().where(col(ResponseTemplate.code) == code))))


async def list_templates(
    session: AsyncSession,
    *,
    reason_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> list[ResponseTemplate]:
    query = select(ResponseTemplate).order_by(col(ResponseTemplate.code))
    if reason_id is not None:
        query = query.where(col(ResponseTemplate.reason_id) == reason_id)
    if department_id is not None:
        query = query.where(col(ResponseTemplate.department_id) == department_id)
    return list((await session.execute(query)).scalars())


def _fits(reason_id: uuid.UUID, department_id: uuid.UUID) -> Any:
    return or_(
        col(ResponseTemplate.reason_id) == reason_id,
        col(ResponseTemplate.department_id) == department_id,
    )


async def templates_for(
    session: AsyncSession, reason_id: uuid.UUID, department_id: uuid.UUID
) -> list[ResponseTemplate]:
    """Active templates of the reason, then those of the department, each by code."""
    rows = await session.execute(
        select(ResponseTemplate)
        .where(col(ResponseTemplate.active), _fits(reason_id, department_id))
        .order_by(col(ResponseTemplate.reason_id).is_(None), col(ResponseTemplate.code))
    )
    return list(rows.scalars())


async def auto_template(
    session: AsyncSession, reason_id: uuid.UUID, department_id: uuid.UUID, state: str
) -> ResponseTemplate | None:
    """The active template posted when a report enters ``state``: the reason's, or else
    the department's."""
    rows = await session.execute(
        select(ResponseTemplate)
        .where(
            col(ResponseTemplate.active),
            col(ResponseTemplate.apply_on_state) == state,
            _fits(reason_id, department_id),
        )
        .order_by(col(ResponseTemplate.reason_id).is_(None), col(ResponseTemplate.code))
        .limit(1)
    )
    return rows.scalars().first()


async def auto_template_taken(
    session: AsyncSession,
    *,
    reason_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
    state: str,
    other_than: uuid.UUID | None,
) -> bool:
    """Whether another active template of the same scope posts on entering ``state``."""
    condition = and_(
        col(ResponseTemplate.active),
        col(ResponseTemplate.apply_on_state) == state,
        col(ResponseTemplate.reason_id) == reason_id
        if reason_id is not None
        else col(ResponseTemplate.department_id) == department_id,
    )
    if other_than is not None:
        condition = and_(condition, col(ResponseTemplate.id) != other_than)
    return bool(await session.scalar(select(exists().where(condition))))


# --- responses ------------------------------------------------------------------------------


async def get_response(session: AsyncSession, response_id: uuid.UUID) -> ReportResponse | None:
    return await session.get(ReportResponse, response_id)


async def responses_of(
    session: AsyncSession, report_id: uuid.UUID, *, published_only: bool
) -> list[ReportResponse]:
    query = select(ReportResponse).where(col(ReportResponse.report_id) == report_id)
    if published_only:
        query = query.where(col(ReportResponse.state) == ResponseState.published)
    rows = await session.execute(
        query.order_by(col(ReportResponse.created_at), col(ReportResponse.id))
    )
    return list(rows.scalars())


async def waiting_response(
    session: AsyncSession, report_id: uuid.UUID, round_number: int
) -> ReportResponse | None:
    """The round's response waiting for moderation, if any."""
    rows = await session.execute(
        select(ReportResponse).where(
            col(ReportResponse.report_id) == report_id,
            col(ReportResponse.round_number) == round_number,
            col(ReportResponse.state) == ResponseState.pending_moderation,
        )
    )
    return rows.scalars().first()


def answer_queue_select() -> Select[Any]:
    """Responses waiting for moderation, each with its report's read-model row."""
    return (
        reports.view_select()
        .add_columns(ReportResponse)
        .join(ReportResponse, col(ReportResponse.report_id) == Report.id)
        .where(col(ReportResponse.state) == ResponseState.pending_moderation)
    )


# --- rounds and ratings ---------------------------------------------------------------------


async def rating_of(
    session: AsyncSession, report_id: uuid.UUID, round_number: int, user_id: uuid.UUID
) -> ReportRating | None:
    rows = await session.execute(
        select(ReportRating).where(
            col(ReportRating.report_id) == report_id,
            col(ReportRating.round_number) == round_number,
            col(ReportRating.user_id) == user_id,
        )
    )
    return rows.scalars().first()


async def round_ratings(session: AsyncSession, report_id: uuid.UUID) -> dict[int, Any]:
    """Per round: the reporter's score and resolved, and supporters' count and average."""
    by_reporter = col(ReportRating.by_reporter)
    rows = await session.execute(
        select(
            col(ReportRating.round_number),
            func.max(col(ReportRating.score)).filter(by_reporter).label("reporter_score"),
            func.bool_or(col(ReportRating.resolved)).filter(by_reporter).label("resolved"),
            func.count().filter(~by_reporter).label("supporters"),
            func.avg(col(ReportRating.score)).filter(~by_reporter).label("supporters_avg"),
        )
        .where(col(ReportRating.report_id) == report_id)
        .group_by(col(ReportRating.round_number))
    )
    return {row.round_number: row for row in rows}


async def is_supporter(session: AsyncSession, report_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    col(ReportSupport.report_id) == report_id,
                    col(ReportSupport.user_id) == user_id,
                )
            )
        )
    )


# --- referrals ------------------------------------------------------------------------------


async def referred_rows(
    session: AsyncSession, departments: list[uuid.UUID], limit: int
) -> list[Any]:
    """Reports of ``departments`` referred to the supervisor and still waiting for them
    (answered, the current round referred), the oldest referral first: rows of the reports'
    read model with ``referred_at``."""
    query = (
        reports.view_select()
        .add_columns(col(ReportRound.referred_at).label("referred_at"))
        .join(
            ReportRound,
            and_(
                col(ReportRound.report_id) == Report.id,
                col(ReportRound.number) == Report.round,
            ),
        )
        .where(
            col(Report.department_id).in_(departments),
            col(Report.state) == ReportState.answered,
            col(ReportRound.referred_at).is_not(None),
        )
        .order_by(col(ReportRound.referred_at), col(Report.id))
        .limit(limit)
    )
    return list((await session.execute(query)).all())

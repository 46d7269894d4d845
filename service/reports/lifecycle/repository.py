"""SQL of the life cycle: rounds, the people told of a report's changes, and the set-based
statements of the SLA engine's batches. No rules live here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import literal, select, text, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, RoleGrant, User
from service.reports.models import Report, ReportRound, ReportSubscription, ReportSupport
from service.reports.states import ReportState


async def round_of(session: AsyncSession, report_id: uuid.UUID, number: int) -> ReportRound | None:
    """The round; its report must be locked by the caller when it is to be changed (the
    report's lock covers its rounds: see the package's lock order)."""
    rows = await session.execute(
        select(ReportRound).where(
            col(ReportRound.report_id) == report_id, col(ReportRound.number) == number
        )
    )
    return rows.scalars().first()


async def audience(session: AsyncSession, report: Report) -> list[User]:
    """The reporter, supporters and subscribers of a report, once each, who can be told."""
    people = union(
        select(literal(report.reporter_id).label("user_id")),
        select(col(ReportSupport.user_id)).where(col(ReportSupport.report_id) == report.id),
        select(col(ReportSubscription.user_id)).where(
            col(ReportSubscription.report_id) == report.id
        ),
    ).subquery()
    rows = await session.execute(
        select(User)
        .join(people, people.c.user_id == User.id)
        .where(col(User.disabled_at).is_(None))
        .order_by(col(User.id))
    )
    return list(rows.scalars())


async def holders(
    session: AsyncSession, roles: tuple[Role, ...], department_id: uuid.UUID | None = None
) -> list[User]:
    """Active users holding any of ``roles`` (in ``department_id``, when given)."""
    query = (
        select(User)
        .join(RoleGrant, col(RoleGrant.user_id) == User.id)
        .where(col(RoleGrant.role).in_(roles), col(User.disabled_at).is_(None))
        .distinct()
    )
    if department_id is not None:
        query = query.where(col(RoleGrant.department_id) == department_id)
    return list((await session.execute(query)).scalars())


async def nearest_supervisors(session: AsyncSession, department_id: uuid.UUID) -> list[User]:
    """The supervisors of the department, or of the nearest department above it that has
    any (a supervisor heads the subtree)."""
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE up(id, parent_id, depth) AS (
                SELECT id, parent_id, 0 FROM department WHERE id = :department
                UNION ALL
                SELECT d.id, d.parent_id, up.depth + 1
                FROM department d JOIN up ON d.id = up.parent_id
            ),
            heads AS (
                SELECT g.user_id, up.depth FROM up
                JOIN role_grant g ON g.department_id = up.id AND g.role = :role
                JOIN user_account u ON u.id = g.user_id AND u.disabled_at IS NULL
            )
            SELECT DISTINCT user_id FROM heads WHERE depth = (SELECT min(depth) FROM heads)
            """
        ),
        {"department": department_id, "role": Role.supervisor.value},
    )
    ids = [row[0] for row in rows]
    if not ids:
        return []
    users = await session.execute(select(User).where(col(User.id).in_(ids)).order_by(col(User.id)))
    return list(users.scalars())


async def lock_expired_answers(
    session: AsyncSession, answered_before: datetime, limit: int
) -> list[tuple[Report, ReportRound]]:
    """Answered reports whose current round was answered before ``answered_before`` and
    not referred to the supervisor, with that round; both locked, the report first (rows
    another transaction holds are skipped: it is changing them)."""
    rows = await session.execute(
        select(Report, ReportRound)
        .join(
            ReportRound,
            (col(ReportRound.report_id) == Report.id) & (col(ReportRound.number) == Report.round),
        )
        .where(
            col(Report.state) == ReportState.answered,
            col(ReportRound.answered_at) < answered_before,
            col(ReportRound.referred_at).is_(None),
        )
        .order_by(col(ReportRound.answered_at))
        .limit(limit)
        .with_for_update(of=[Report, ReportRound], skip_locked=True)
    )
    return [(row.Report, row.ReportRound) for row in rows]


async def lock_unplanned_rounds(
    session: AsyncSession, batch: int
) -> list[tuple[Report, ReportRound]]:
    """Open rounds whose SLA timers are missing or were planned for another due time, each
    locked with its report (both, or the pair is skipped: a request is changing it)."""
    rows = await session.execute(
        select(Report, ReportRound)
        .join(ReportRound, col(ReportRound.report_id) == Report.id)
        .where(
            col(ReportRound.ended_at).is_(None),
            col(ReportRound.timers_for_due).is_distinct_from(col(ReportRound.due_at)),
            col(ReportRound.number) == Report.round,
        )
        .limit(batch)
        .with_for_update(of=[Report, ReportRound], skip_locked=True)
    )
    return [(row.Report, row.ReportRound) for row in rows]


async def mark_breached(
    session: AsyncSession, rounds: list[tuple[uuid.UUID, int]], now: datetime
) -> None:
    """Mark these (report, round) overdue: the report and the round, in that order."""
    if not rounds:
        return
    reports = [report_id for report_id, _ in rounds]
    await session.execute(
        text("UPDATE report SET breached_at = :now WHERE id = ANY(:reports)"),
        {"now": now, "reports": reports},
    )
    await session.execute(
        text(
            "UPDATE report_round rr SET breached_at = :now "
            "FROM unnest(CAST(:reports AS uuid[]), CAST(:numbers AS integer[])) "
            "AS b (report_id, number) "
            "WHERE rr.report_id = b.report_id AND rr.number = b.number"
        ),
        {"now": now, "reports": reports, "numbers": [number for _, number in rounds]},
    )

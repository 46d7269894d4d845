"""SQL of the SLA engine: timers, rounds to plan, and who is told."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, and_, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.db import table_of
from service.feedback.models import ReportRating
from service.reports.models import Report
from service.reports.states import ReportState
from service.sla.models import SlaTimer, TimerKind


async def upsert_timer(
    session: AsyncSession,
    report_id: uuid.UUID,
    round_number: int,
    kind: TimerKind,
    level: int,
    fire_at: datetime,
    due_basis: datetime | None,
) -> uuid.UUID | None:
    """Create the timer, or move it while it has not fired; returns its id when pending."""
    table = table_of(SlaTimer)
    statement = (
        insert(table)
        .values(
            id=uuid.uuid4(),
            report_id=report_id,
            round_number=round_number,
            kind=kind.value,
            level=level,
            fire_at=fire_at,
            due_basis=due_basis,
        )
        .on_conflict_do_update(
            constraint="uq_sla_timer_once",
            set_={"fire_at": fire_at, "due_basis": due_basis, "cancelled_at": None},
            where=table.c.fired_at.is_(None),
        )
        .returning(table.c.id)
    )
    found: uuid.UUID | None = (await session.execute(statement)).scalar_one_or_none()
    return found


@dataclass(frozen=True)
class Claimed:
    """A due timer claimed for firing, with what deciding and acting on it needs."""

    id: uuid.UUID
    report_id: uuid.UUID
    round_number: int
    kind: TimerKind
    level: int
    fire_at: datetime
    due_basis: datetime | None
    state: str
    report_round: int
    assignee_id: uuid.UUID | None
    tracking_code: str
    # The round's; None when the round is gone.
    round_due_at: datetime | None
    round_ended_at: datetime | None
    department_id: uuid.UUID | None
    department_name: str | None
    parent_department_id: uuid.UUID | None


_CLAIM = """
SELECT t.id, t.report_id, t.round_number, t.kind, t.level, t.fire_at, t.due_basis,
       r.state, r.round AS report_round, r.assignee_id, r.tracking_code,
       rr.due_at AS round_due_at, rr.ended_at AS round_ended_at,
       rr.department_id, d.name AS department_name, d.parent_id AS parent_department_id
FROM sla_timer t
JOIN report r ON r.id = t.report_id
LEFT JOIN report_round rr ON rr.report_id = t.report_id AND rr.number = t.round_number
LEFT JOIN department d ON d.id = rr.department_id
WHERE t.fired_at IS NULL AND t.cancelled_at IS NULL AND t.fire_at <= :now
  -- A paused clock owes nothing yet (the deadline moves when it resumes): not claimed, so
  -- paused rounds never hold the head of the queue.
  AND r.paused_at IS NULL AND r.state <> 'awaiting_info'
  AND {which}
ORDER BY t.fire_at
LIMIT :batch
FOR UPDATE OF t, r SKIP LOCKED
"""


async def claim_due(
    session: AsyncSession, now: datetime, batch: int, timer_id: uuid.UUID | None = None
) -> list[Claimed]:
    """Up to ``batch`` pending timers whose time has come (only ``timer_id`` when given),
    oldest first, each locked with its report; timers or reports another transaction holds
    are skipped (it is firing them, or changing the report: the next pass sees the result).
    """
    which = "t.id = :timer_id" if timer_id is not None else "true"
    params: dict[str, Any] = {"now": now, "batch": batch}
    if timer_id is not None:
        params["timer_id"] = timer_id
    rows = await session.execute(text(_CLAIM.format(which=which)), params)
    return [Claimed(**{**row._asdict(), "kind": TimerKind(row.kind)}) for row in rows.all()]


async def mark_fired(session: AsyncSession, timers: list[Claimed], now: datetime) -> None:
    if timers:
        await session.execute(
            text(
                "UPDATE sla_timer SET fired_at = :now, lag_seconds = "
                "greatest(0, extract(epoch FROM CAST(:now AS timestamptz) - fire_at)) "
                "WHERE id = ANY(:ids)"
            ),
            {"now": now, "ids": [timer.id for timer in timers]},
        )


async def mark_cancelled(session: AsyncSession, timer_ids: list[uuid.UUID], now: datetime) -> None:
    if timer_ids:
        await session.execute(
            text("UPDATE sla_timer SET cancelled_at = :now WHERE id = ANY(:ids)"),
            {"now": now, "ids": timer_ids},
        )


async def users(session: AsyncSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not user_ids:
        return {}
    found = await session.execute(select(User).where(col(User.id).in_(user_ids)))
    return {user.id: user for user in found.scalars()}


async def claim_moderation_overdue(
    session: AsyncSession, now: datetime, batch: int
) -> list[uuid.UUID]:
    """Submitted reports past their moderation deadline, each claimed once for good (the
    unique timer row is the claim); returns their ids."""
    table = table_of(SlaTimer)
    waiting = (
        select(
            func.gen_random_uuid(),
            col(Report.id),
            literal(0),
            literal(TimerKind.moderation.value),
            literal(1),
            col(Report.moderation_due_at),
            literal(now, DateTime(timezone=True)),
        )
        .where(
            col(Report.state) == ReportState.submitted,
            col(Report.moderation_due_at) <= now,
            ~select(table.c.id)
            .where(
                and_(
                    table.c.report_id == Report.id,
                    table.c.kind == TimerKind.moderation.value,
                )
            )
            .exists(),
        )
        .limit(batch)
    )
    return [report_id for report_id, _ in await _claim(session, waiting)]


async def claim_rating_reminders(
    session: AsyncSession, now: datetime, remind_after: datetime, batch: int
) -> list[tuple[uuid.UUID, int]]:
    """Answered reports whose round was answered before ``remind_after`` (so the rating
    window ends soon) and whose reporter has not rated it, each claimed once per round (the
    unique timer row is the claim); returns (report id, round)."""
    table = table_of(SlaTimer)
    rated = (
        select(literal(1))
        .select_from(ReportRating)
        .where(
            col(ReportRating.report_id) == Report.id,
            col(ReportRating.round_number) == Report.round,
            col(ReportRating.by_reporter),
        )
        .exists()
    )
    claimed = (
        select(table.c.id)
        .where(
            table.c.report_id == Report.id,
            table.c.round_number == Report.round,
            table.c.kind == TimerKind.rating_reminder.value,
        )
        .exists()
    )
    waiting = (
        select(
            func.gen_random_uuid(),
            col(Report.id),
            col(Report.round),
            literal(TimerKind.rating_reminder.value),
            literal(1),
            literal(now, DateTime(timezone=True)),
            literal(now, DateTime(timezone=True)),
        )
        .where(
            col(Report.state) == ReportState.answered,
            col(Report.answered_at) <= remind_after,
            ~rated,
            ~claimed,
        )
        .limit(batch)
    )
    return await _claim(session, waiting)


async def _claim(session: AsyncSession, waiting: Any) -> list[tuple[uuid.UUID, int]]:
    """Insert fired timer rows for ``waiting`` (id, report, round, kind, level, fire_at,
    fired_at); the unique (report, round, kind, level) lets each be claimed once. Returns
    the (report id, round) of those this call claimed."""
    table = table_of(SlaTimer)
    statement: Any = (
        insert(table)
        .from_select(
            ["id", "report_id", "round_number", "kind", "level", "fire_at", "fired_at"], waiting
        )
        .on_conflict_do_nothing(constraint="uq_sla_timer_once")
        .returning(table.c.report_id, table.c.round_number)
    )
    return [(row[0], int(row[1])) for row in await session.execute(statement)]

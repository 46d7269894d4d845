"""Asking the reporter a question and taking the answer, with the SLA clock paused between
(the pause and the deadline's move are the life cycle's: ``lifecycle.ask_reporter`` and
``lifecycle.take_reply``).

The pause is counted in working time on the department's calendar: a question asked on
Tuesday at 15:00 and answered on Wednesday at 10:00 (working hours 08:30–17:00) paused the
clock for 2 h + 1.5 h = 3.5 working hours, and the deadline moves by 3.5 working hours.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.queues.work import workable
from service.reports import lifecycle
from service.reports.models import Report


async def ask(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, question: str, now: datetime
) -> Report:
    """accepted / in_progress → awaiting_info: the clock pauses and the reporter is told
    the question (it is on the public timeline too)."""
    report, _ = await workable(session, actor, report_id)
    await lifecycle.ask_reporter(session, report, actor, question, now)
    await session.flush()
    return report


async def answer(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, text: str, now: datetime
) -> Report:
    """The reporter's answer: awaiting_info → in_progress; the paused working time is added
    to the round and the deadline moves by as much working time."""
    report = await lifecycle.own_report(session, actor, report_id)
    await lifecycle.take_reply(session, report, actor, text, now)
    await session.flush()
    return report

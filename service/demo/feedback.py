"""The feedback side of the demo reports: rounds, official responses, ratings and the
timeline events that go with them, derived from each report's walk through the transition
table (:mod:`service.demo.reports`), so the rows hold what the services would have written.

* Each acceptance and each reopen opens a round in the report's department, due after the
  reason's SLA on the working calendar; a question to the reporter pauses it (the paused
  working time moves the deadline); an answer records the working time to it and whether it
  was on time; a breach is the due instant of a round answered late or still open past it.
* Each answer is a published response in the reporter's language with a plausible outcome.
* A reopen follows the reporter's "not resolved" rating of the round; a close follows a
  "resolved" rating, or, for some reports, the end of the rating window (the close is then
  moved to the window's end). Some supporters rate the last answer too.

A random generator of its own keeps the reports themselves as they were before feedback.

(Over 400 lines: generated demo data, one pass over the demo reports.)
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.calendar import TimeUnit, WorkingCalendar, add_working_time, working_time_between
from service.catalog.models import Reason
from service.city.models import Department
from service.db import table_of
from service.feedback.models import (
    Outcome,
    ReportRating,
    ReportResponse,
    ResponseState,
    ResponseTemplate,
)
from service.feedback.templates import placeholders_in
from service.reports.models import ReportEvent, ReportRound
from service.reports.states import OPEN_STATES, Action, ReportState

S = ReportState
OUTCOMES = [
    (Outcome.fixed, 55),
    (Outcome.scheduled, 20),
    (Outcome.not_ours, 10),
    (Outcome.no_action, 15),
]
TEXTS: dict[Outcome, dict[str, str]] = {
    Outcome.fixed: {
        "et": "Täname teatamast! Probleem on kõrvaldatud.",
        "ru": "Спасибо за сообщение! Проблема устранена.",
    },
    Outcome.scheduled: {
        "et": "Täname teatamast! Töö on kavas, teeme selle määratud kuupäevaks.",
        "ru": "Спасибо за сообщение! Работы запланированы и будут выполнены к указанной дате.",
    },
    Outcome.not_ours: {
        "et": "See ei ole linna hallata; edastasime teate omanikule.",
        "ru": "Это не в ведении города; мы передали сообщение владельцу.",
    },
    Outcome.no_action: {
        "et": "Praegu me siin midagi ette ei võta.",
        "ru": "Сейчас мы здесь ничего предпринимать не будем.",
    },
}
JUSTIFICATIONS = {
    "et": "Tänav ehitatakse järgmisel aastal ümber; ajutine parandus ei ole mõistlik.",
    "ru": "Улицу перестроят в следующем году; временный ремонт нецелесообразен.",
}
# The reporter's score when the answer resolved it, and a supporter's.
RESOLVED_SCORES = ([5, 4, 3, 2], [50, 32, 14, 4])
UNRESOLVED_SCORES = ([1, 2], [65, 35])
SUPPORTER_SCORES = ([5, 4, 3, 2, 1], [30, 30, 20, 12, 8])
WINDOW_CLOSE_SHARE = 0.35
SUPPORTER_RATING_SHARE = 0.35


@dataclass
class _Round:
    number: int
    opened_at: datetime
    due_at: datetime
    row: dict[str, Any]
    paused_since: datetime | None = None


@dataclass
class DemoFeedback:
    """Collects the feedback rows of the demo reports, then writes them."""

    calendar: WorkingCalendar
    now: datetime
    window_days: int
    languages: dict[uuid.UUID, str]
    rng: random.Random = field(default_factory=lambda: random.Random(2019))
    rounds: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    closed_by: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    def plan(self, report: Any) -> None:
        """Decide how a closed report closed; one closed by the rating window closes at the
        window's end (its last step, so nothing after it moves)."""
        if report.state != S.closed:
            return
        rule, _ = report.steps[-1]
        answered_at = report.moment_of_last(Action.answer)
        window_end = answered_at + self.window
        by_window = self.rng.random() < WINDOW_CLOSE_SHARE and window_end < self.now - timedelta(
            hours=1
        )
        assert rule.action == Action.close
        if by_window:
            report.steps[-1] = (rule, window_end)
        self.closed_by[report.id] = "rating_window" if by_window else "reporter"

    def add(
        self,
        report: Any,
        row: dict[str, Any],
        events: list[dict[str, Any]],
        department_id: uuid.UUID,
    ) -> None:
        """The rounds, responses and ratings of one report; completes its row (due time,
        breach, pause) and its answer, reopen and close events."""
        row["breached_at"] = None
        row["paused_at"] = None
        language = self.languages.get(report.reporter, "et")
        reason = report.reason
        current: _Round | None = None
        by_moment = {(e["type"], e["at"]): e for e in events}
        for rule, moment in report.steps:
            action = rule.action
            if action in (Action.accept, Action.reopen):
                if current is not None:
                    self._rate(report, current, moment, resolved=False)
                    current.row["ended_at"] = moment
                    self._finish(current, moment)
                due = add_working_time(moment, reason.sla_amount, reason.sla_unit, self.calendar)
                current = self._open(report, department_id, moment, due)
            elif current is None:
                continue
            elif action == Action.ask_info:
                current.paused_since = moment
            elif action == Action.receive_info:
                assert current.paused_since is not None
                paused = working_time_between(current.paused_since, moment, self.calendar)
                current.row["paused_working_seconds"] += int(paused.total_seconds())
                current.due_at = add_working_time(
                    current.due_at,
                    paused.total_seconds() / 3600,
                    TimeUnit.working_hours,
                    self.calendar,
                )
                current.row["due_at"] = current.due_at
                current.paused_since = None
            elif action == Action.answer:
                response_id = self._answer(report, current, moment, language)
                by_moment[("answer", moment)]["data"].update(
                    response_id=str(response_id),
                    round=current.number,
                    outcome=self.responses[-1]["outcome"],
                )
            elif action == Action.close:
                by = self.closed_by.get(report.id, "reporter")
                if by == "reporter":
                    self._rate(report, current, moment, resolved=True)
                current.row["ended_at"] = moment
                by_moment[("close", moment)]["data"].update(round=current.number, by=by)
        if current is None:
            return
        # The clock of a round still open runs until now, or until the pause of a report
        # waiting for its reporter; a withdrawn or merged report's stopped with it.
        if report.state == S.awaiting_info:
            row["paused_at"] = until = current.paused_since
        elif report.state in OPEN_STATES:
            until = self.now
        else:
            until = report.steps[-1][1]
        assert until is not None
        self._finish(current, until)
        row["due_at"] = current.due_at
        row["breached_at"] = current.row["breached_at"]

    def _open(
        self, report: Any, department_id: uuid.UUID, moment: datetime, due: datetime
    ) -> _Round:
        number = len([r for r in self.rounds if r["report_id"] == report.id]) + 1
        row = {
            "id": uuid.uuid4(),
            "report_id": report.id,
            "number": number,
            "department_id": department_id,
            "opened_at": moment,
            "due_at": due,
            "initial_due_at": due,
            "paused_working_seconds": 0,
            "extensions": 0,
            "answered_at": None,
            "answer_working_seconds": None,
            "on_time": None,
            "breached_at": None,
            "ended_at": None,
        }
        self.rounds.append(row)
        return _Round(number=number, opened_at=moment, due_at=due, row=row)

    @staticmethod
    def _finish(current: _Round, until: datetime) -> None:
        """Mark the breach of a round that was not answered by its due time."""
        answered_at = current.row["answered_at"]
        end = answered_at or until
        if current.due_at < end and current.row["breached_at"] is None:
            current.row["breached_at"] = current.due_at

    def _answer(self, report: Any, current: _Round, moment: datetime, language: str) -> uuid.UUID:
        outcomes, weights = zip(*OUTCOMES, strict=True)
        outcome: Outcome = self.rng.choices(outcomes, weights)[0]
        local_day = moment.astimezone(self.calendar.zone).date()
        response_id = uuid.uuid4()
        self.responses.append(
            {
                "id": response_id,
                "report_id": report.id,
                "round_number": current.number,
                "author_id": None,
                "template_id": None,
                "outcome": outcome.value,
                "scheduled_for": local_day + timedelta(days=self.rng.randint(3, 40))
                if outcome == Outcome.scheduled
                else None,
                "justification": JUSTIFICATIONS[language] if outcome == Outcome.no_action else None,
                "text": TEXTS[outcome].get(language) or TEXTS[outcome]["et"],
                "state": ResponseState.published.value,
                "created_at": moment,
                "moderated_by_id": None,
                "moderated_at": moment if report.reason.needs_answer_moderation else None,
                "moderation_comment": None,
                "published_at": moment,
            }
        )
        worked = working_time_between(current.opened_at, moment, self.calendar).total_seconds()
        current.row["answered_at"] = moment
        current.row["answer_working_seconds"] = max(
            0, int(worked) - current.row["paused_working_seconds"]
        )
        current.row["on_time"] = moment <= current.due_at
        self._finish(current, moment)
        return response_id

    def _rate(self, report: Any, current: _Round, moment: datetime, *, resolved: bool) -> None:
        """The reporter's rating that reopened or closed the round."""
        scores, weights = RESOLVED_SCORES if resolved else UNRESOLVED_SCORES
        score = self.rng.choices(scores, weights)[0]
        self.ratings.append(
            self._rating(report.id, current.number, report.reporter, True, score, resolved, moment)
        )
        self.events.append(
            {
                "id": uuid.uuid4(),
                "report_id": report.id,
                "at": moment,
                "actor_id": report.reporter,
                "actor_role": "resident",
                "type": "rating",
                "from_state": None,
                "to_state": None,
                "public": True,
                "data": {
                    "round": current.number,
                    "score": score,
                    "resolved": resolved,
                    "edited": False,
                },
            }
        )

    @staticmethod
    def _rating(
        report_id: uuid.UUID,
        number: int,
        user_id: uuid.UUID,
        by_reporter: bool,
        score: int,
        resolved: bool,
        moment: datetime,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "report_id": report_id,
            "round_number": number,
            "user_id": user_id,
            "by_reporter": by_reporter,
            "score": score,
            "resolved": resolved,
            "comment": None,
            "created_at": moment,
            "updated_at": moment,
        }

    def add_supporter_ratings(self, report: Any, supporters: list[uuid.UUID]) -> None:
        """Some supporters rate the last answer, within its window and before now."""
        answered_at = report.moment_of_last(Action.answer)
        if answered_at is None or report.state not in (S.answered, S.closed):
            return
        number = len([r for r in self.rounds if r["report_id"] == report.id])
        latest = min(answered_at + self.window, self.now) - timedelta(minutes=1)
        for supporter in supporters:
            if self.rng.random() >= SUPPORTER_RATING_SHARE or latest <= answered_at:
                continue
            moment = answered_at + (latest - answered_at) * self.rng.random()
            score = self.rng.choices(*SUPPORTER_SCORES)[0]
            self.ratings.append(
                self._rating(report.id, number, supporter, False, score, score >= 3, moment)
            )
            self.events.append(
                {
                    "id": uuid.uuid4(),
                    "report_id": report.id,
                    "at": moment,
                    "actor_id": supporter,
                    "actor_role": "resident",
                    "type": "supporter_rating",
                    "from_state": None,
                    "to_state": None,
                    "public": False,
                    "data": {"round": number, "score": score, "resolved": score >= 3},
                }
            )

    async def write(self, session: AsyncSession) -> None:
        """Insert the rows (after the reports they belong to)."""
        for model, rows in (
            (ReportRound, self.rounds),
            (ReportResponse, self.responses),
            (ReportRating, self.ratings),
            (ReportEvent, self.events),
        ):
            for chunk in range(0, len(rows), 2000):
                await session.execute(insert(table_of(model)), rows[chunk : chunk + 2000])
        # The demo's history happened before the city ran meielinn's SLA engine: its rounds
        # count as planned, so starting the demo sends no backlog of reminders and breach
        # notices for half a year of made-up deadlines. New rounds are planned as usual.
        await session.execute(
            update(table_of(ReportRound)).values(timers_for_due=table_of(ReportRound).c.due_at)
        )
        # Likewise the demo's reports waiting for moderation since before today: their
        # moderation deadline counts as flagged already.
        await session.execute(
            text(
                """
                INSERT INTO sla_timer (id, report_id, round_number, kind, level, fire_at,
                                       fired_at)
                SELECT gen_random_uuid(), id, 0, 'moderation', 1, moderation_due_at, now()
                FROM report
                WHERE state = 'submitted' AND moderation_due_at <= now()
                ON CONFLICT ON CONSTRAINT uq_sla_timer_once DO NOTHING
                """
            )
        )
        # And the demo's made-up answers: nobody is reminded to rate them (a new answer is).
        await session.execute(
            text(
                """
                INSERT INTO sla_timer (id, report_id, round_number, kind, level, fire_at,
                                       fired_at)
                SELECT gen_random_uuid(), id, round, 'rating_reminder', 1, now(), now()
                FROM report
                WHERE state = 'answered'
                ON CONFLICT ON CONSTRAINT uq_sla_timer_once DO NOTHING
                """
            )
        )


# Response templates of the demo city (code, reason or department code, outcome, texts).
DEMO_TEMPLATES: list[tuple[str, str, str, Outcome, dict[str, str]]] = [
    (
        "pothole-patched",
        "reason",
        "pothole",
        Outcome.fixed,
        {
            "et": "Auk aadressil {address} on lapitud. Täname teatamast!",
            "en": "The pothole at {address} has been patched. Thank you for the report!",
            "ru": "Яма по адресу {address} заделана. Спасибо за сообщение!",
        },
    ),
    (
        "lamp-replaced",
        "reason",
        "lamp-out",
        Outcome.fixed,
        {
            "et": "Valgusti aadressil {address} on vahetatud.",
            "en": "The lamp at {address} has been replaced.",
            "ru": "Светильник по адресу {address} заменён.",
        },
    ),
    (
        "roads-scheduled",
        "department",
        "roads",
        Outcome.scheduled,
        {
            "et": "{department}: töö on kavas {scheduled_date} (teade {tracking_code}).",
            "en": "{department}: the work is scheduled for {scheduled_date} (report "
            "{tracking_code}).",
            "ru": "{department}: работы запланированы на {scheduled_date} (сообщение "
            "{tracking_code}).",
        },
    ),
]


async def seed_templates(session: AsyncSession) -> None:
    """The demo's response templates, matched by code (a second run changes nothing)."""
    reasons = dict((await session.execute(select(col(Reason.code), col(Reason.id)))).all())
    departments = dict(
        (await session.execute(select(col(Department.code), col(Department.id)))).all()
    )
    for code, scope, owner, outcome, texts in DEMO_TEMPLATES:
        for body in texts.values():
            placeholders_in(body)  # a demo template must render
        await session.execute(
            insert(table_of(ResponseTemplate))
            .values(
                id=uuid.uuid4(),
                code=code,
                reason_id=reasons[owner] if scope == "reason" else None,
                department_id=departments[owner] if scope == "department" else None,
                outcome=outcome.value,
                texts=texts,
                active=True,
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )


async def reporter_languages(
    session: AsyncSession, residents: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(col(User.id), col(User.language)).where(col(User.id).in_(residents))
    )
    return {user_id: str(language) for user_id, language in rows.all()}

"""A report's life in one place: every notice reaches the inbox and webhooks, the timeline
is causal, the life cycle is the only writer of reports, rounds and timelines, and every
declared notice type is produced (and nothing undeclared is)."""

from __future__ import annotations

import ast
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.config import Settings
from service.notifications.events import EVENT_TYPES
from service.notifications.models import Channel, NotificationDelivery, NotificationEvent
from service.reports.models import EVENT_SEQ, ReportEvent
from tests.factories import KESKLINN, bearer, reason_by_code
from tests.feedback_setup import Cast, cast, department_id

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"


async def _file_and_accept(
    client: AsyncClient, settings: Settings, people: Cast, reason_id: uuid.UUID
) -> str:
    filed = await client.post(
        "/v1/reports",
        json={
            "reason_id": str(reason_id),
            "lat": KESKLINN[0],
            "lon": KESKLINN[1],
            "description": "A deep pothole at the crossing.",
            "attributes": {"size": "large"},
        },
        headers=bearer(settings, people.reporter),
    )
    assert filed.status_code == 201, filed.text
    report_id: str = filed.json()["id"]
    accepted = await client.post(
        f"/v1/moderation/reports/{report_id}/accept",
        headers={**bearer(settings, people.moderator), "If-Match": filed.headers["ETag"]},
    )
    assert accepted.status_code == 200, accepted.text
    return report_id


async def _inbox_types(client: AsyncClient, headers: dict[str, str]) -> list[str]:
    answer = await client.get("/v1/me/notifications?limit=100", headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(item["event_type"] for item in answer.json()["items"])


async def test_the_citys_answer_and_every_step_reach_the_inbox_and_the_webhooks(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Accepted, asked about, answered, reopened and answered again: the reporter's inbox
    holds the question and both answers, the department's the reply and the reopen, and a
    webhook subscribed to answers gets one delivery per answer."""
    people = await cast(session, settings)
    reporter, staff = bearer(settings, people.reporter), bearer(settings, people.staff)
    admin = await _admin(session, settings)
    hook = await client.post(
        "/v1/admin/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["answer_published"]},
        headers=bearer(settings, admin),
    )
    assert hook.status_code == 201, hook.text
    # A working morning, so that the steps fall in working time whenever the suite runs.
    clock = [datetime(2027, 3, 2, 7, 0, tzinfo=UTC)]
    app.state.clock = lambda: clock[0]
    report_id = await _file_and_accept(
        client, settings, people, (await reason_by_code(session, "pothole")).id
    )

    def later(minutes: int) -> None:
        clock[0] += timedelta(minutes=minutes)

    later(30)
    asked = await client.post(
        f"/v1/reports/{report_id}/clarification-requests",
        json={"question": "Which side of the crossing?"},
        headers=staff,
    )
    assert asked.status_code == 200, asked.text
    later(30)
    replied = await client.post(
        f"/v1/reports/{report_id}/clarifications",
        json={"answer": "The north side."},
        headers=reporter,
    )
    assert replied.status_code == 200, replied.text
    for round_number in (1, 2):
        later(60)
        answered = await client.post(
            f"/v1/reports/{report_id}/responses",
            json={"outcome": "fixed", "text": f"Patched, round {round_number}."},
            headers=staff,
        )
        assert answered.status_code == 201, answered.text
        if round_number == 1:
            later(30)
            rated = await client.post(
                f"/v1/reports/{report_id}/rating",
                json={"score": 1, "resolved": False},
                headers=reporter,
            )
            assert rated.status_code == 201 and rated.json()["consequence"] == "reopened"

    assert await _inbox_types(client, reporter) == [
        "answer_published",
        "answer_published",
        "clarification_requested",
        "report_accepted",
    ]
    assert await _inbox_types(client, staff) == ["clarification_answered", "report_reopened"]
    assert "report_reopened" in await _inbox_types(client, bearer(settings, people.supervisor))
    # The reporter's copy of the answer invites a rating; a follower's would not.
    inbox = (await client.get("/v1/me/notifications", headers=reporter)).json()["items"]
    answer = next(item for item in inbox if item["event_type"] == "answer_published")
    assert answer["legal"] is True
    assert "Patched, round 2." in answer["body"] and (
        "Rate" in answer["body"] or "Hinna" in answer["body"]
    )
    hooked = (
        await session.execute(
            select(NotificationEvent.event_type)
            .join(NotificationDelivery, col(NotificationDelivery.event_id) == NotificationEvent.id)
            .where(
                col(NotificationEvent.report_id) == uuid.UUID(report_id),
                col(NotificationDelivery.channel) == Channel.webhook,
            )
        )
    ).scalars()
    assert list(hooked) == ["answer_published", "answer_published"]


async def _admin(session: AsyncSession, settings: Settings):
    from service.auth.models import Role
    from tests.factories import make_user

    return await make_user(session, settings, roles=((Role.admin, None),))


async def _timeline_types(
    client: AsyncClient, report_id: str, headers: dict[str, str]
) -> list[str]:
    answer = await client.get(f"/v1/reports/{report_id}/timeline", headers=headers)
    assert answer.status_code == 200, answer.text
    return [event["type"] for event in answer.json()]


async def test_a_rating_comes_before_the_reopen_or_close_it_causes_every_time(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Events of one transaction share an instant; the database's sequence keeps the order
    they were written in. Several reports, so that an order by chance would show."""
    people = await cast(session, settings)
    reporter, staff = bearer(settings, people.reporter), bearer(settings, people.staff)
    clock = [datetime(2027, 3, 2, 7, 0, tzinfo=UTC)]
    app.state.clock = lambda: clock[0]
    pothole = (await reason_by_code(session, "pothole")).id
    for _ in range(6):
        report_id = await _file_and_accept(client, settings, people, pothole)
        for resolved in (False, True):
            clock[0] += timedelta(minutes=20)
            answered = await client.post(
                f"/v1/reports/{report_id}/responses",
                json={"outcome": "fixed", "text": "Patched."},
                headers=staff,
            )
            assert answered.status_code == 201, answered.text
            rated = await client.post(
                f"/v1/reports/{report_id}/rating",
                json={"score": 4 if resolved else 1, "resolved": resolved},
                headers=reporter,
            )
            assert rated.status_code == 201, rated.text
        public = await _timeline_types(client, report_id, {})
        assert public[-5:] == ["answer", "rating", "reopen", "answer", "rating", "close"][-5:]
        assert public.index("rating") < public.index("reopen")
        assert public[-2:] == ["rating", "close"]
        stored = (
            await session.execute(
                select(ReportEvent.type, EVENT_SEQ)
                .where(col(ReportEvent.report_id) == uuid.UUID(report_id))
                .order_by(EVENT_SEQ)
            )
        ).all()
        assert [seq for _, seq in stored] == sorted(seq for _, seq in stored)
    # Open311's updates come in the same order.
    updates = await client.get(
        "/open311/v2/servicerequestupdates.json",
        params={"start_date": "2027-03-01T00:00:00Z", "end_date": "2027-03-31T00:00:00Z"},
    )
    assert updates.status_code == 200, updates.text
    by_report: dict[str, list[str]] = {}
    for update in updates.json():
        by_report.setdefault(update["service_request_id"], []).append(update["status"])
    assert len(by_report) == 6
    for statuses in by_report.values():
        # accept, answer, the rating (of an answered report), reopen, answer, rating, close:
        # a rating after the reopen it caused would read OPEN, a close before its rating
        # would leave the rating CLOSED.
        assert statuses == ["OPEN", "FIXED", "FIXED", "OPEN", "FIXED", "FIXED", "CLOSED"]


# --- static checks of the code ----------------------------------------------------------------

_LIFECYCLE_TABLES = re.compile(
    r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+report(_round|_event)?\b", re.I
)
_LIFECYCLE_MODELS = ("Report", "ReportRound", "ReportEvent")


def _python_files_outside_reports() -> list[Path]:
    return [
        path
        for path in SERVICE.rglob("*.py")
        if not path.is_relative_to(SERVICE / "reports")
        # The demo city's history is generated in bulk before anyone uses the city.
        and not path.is_relative_to(SERVICE / "demo")
    ]


def test_only_the_reports_package_writes_reports_rounds_and_timelines() -> None:
    """No SQL statement, model construction or attribute assignment on a report, a round or
    a timeline event outside ``service/reports`` (erasure and retention of a person's part
    of the reports are the reports package's own steps)."""
    offences: list[str] = []
    for path in _python_files_outside_reports():
        source = path.read_text()
        relative = path.relative_to(ROOT)
        for match in _LIFECYCLE_TABLES.finditer(source):
            offences.append(f"{relative}: {match.group(0)}")
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if name in ("ReportRound", "ReportEvent"):
                    offences.append(f"{relative}:{node.lineno}: {name}(…)")
                if (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("update", "insert", "delete")
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in _LIFECYCLE_MODELS
                ):
                    offences.append(f"{relative}:{node.lineno}: {node.func.id}({node.args[0].id})")
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                for element in ast.walk(target):
                    if (
                        isinstance(element, ast.Attribute)
                        and isinstance(element.value, ast.Name)
                        and element.value.id in ("report", "rnd", "round_", "event")
                        and element.attr
                        in {
                            "state",
                            "assignee_id",
                            "priority_id",
                            "due_at",
                            "breached_at",
                            "round",
                            "department_id",
                            "version",
                            "paused_at",
                            "closed_at",
                            "answered_at",
                            "ended_at",
                            "updated_at",
                            "data",
                            "timers_for_due",
                            "ambassador_confirmations",
                        }
                    ):
                        offences.append(f"{relative}:{target.lineno}: {ast.unparse(target)} =")
    assert sorted(set(offences)) == []


# Functions that pass their event-type argument on to ``Notice``: (name, argument index).
_NOTICE_WRAPPERS = {
    "Notice": 0,
    "tell": 2,
    "tell_user": 2,
    "tell_author": 2,
    "tell_people": 2,
    "_notify_reporter": 2,
}


def _literals(value: ast.expr) -> list[str] | None:
    """The strings an expression can be: a literal, a choice between literals, or a literal
    dict looked up (``{"approve": "idea_design_approved", …}[decision]``); None otherwise."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, ast.IfExp):
        body, orelse = _literals(value.body), _literals(value.orelse)
        return body + orelse if body is not None and orelse is not None else None
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Dict):
        found: list[str] = []
        for item in value.value.values:
            literal = _literals(item)
            if literal is None:
                return None
            found += literal
        return found
    return None


def _assigned(tree: ast.AST, name: str) -> list[str] | None:
    """What a local name is assigned from, when every assignment is literal."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            literal = _literals(node.value)
            if literal is None:
                return None
            found += literal
    return found or None


def _produced_event_types() -> tuple[set[str], list[str]]:
    """The event types the code produces (literal first arguments of ``Notice`` and its
    wrappers), and the calls whose event type is not a literal."""
    produced: set[str] = set()
    unknown: list[str] = []
    for path in SERVICE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        # Inside a wrapper, ``Notice`` gets the wrapper's parameter: its callers are checked.
        inside_wrappers = {
            id(call)
            for node in ast.walk(tree)
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
            and node.name in _NOTICE_WRAPPERS
            for call in ast.walk(node)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in _NOTICE_WRAPPERS:
                continue
            index = _NOTICE_WRAPPERS[name]
            argument: ast.expr | None = node.args[index] if len(node.args) > index else None
            for keyword in node.keywords:
                if keyword.arg in ("event_type", "template") and argument is None:
                    argument = keyword.value
            literal = _literals(argument) if argument is not None else None
            if literal is None and isinstance(argument, ast.Name):
                literal = _assigned(tree, argument.id)
            if literal is not None:
                produced.update(literal)
            elif id(node) not in inside_wrappers:
                # A wrapper passes its own parameter on; its callers are checked instead.
                unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return produced, unknown


def test_every_declared_notice_is_produced_and_nothing_undeclared_is() -> None:
    produced, unknown = _produced_event_types()
    assert unknown == [], "a notice's event type must be a literal the declaration names"
    assert sorted(set(EVENT_TYPES) - produced) == [], "declared, but no code path tells anyone"
    assert sorted(produced - set(EVENT_TYPES)) == [], "told, but not declared"


async def test_a_transfer_tells_the_department_it_moves_to(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """A supervisor's transfer: the target department's staff get ``report_transferred``;
    the department the report left does not."""
    people = await cast(session, settings)
    report_id = await _file_and_accept(
        client, settings, people, (await reason_by_code(session, "pothole")).id
    )
    moved = await client.post(
        f"/v1/reports/{report_id}/transfer",
        json={
            "to_department_id": str(await department_id(session, "greenery")),
            "reason": "A tree's roots lifted the asphalt.",
        },
        headers=bearer(settings, people.supervisor),
    )
    assert moved.status_code == 200, moved.text
    assert "report_transferred" in await _inbox_types(client, bearer(settings, people.other_staff))
    assert "report_transferred" not in await _inbox_types(client, bearer(settings, people.staff))

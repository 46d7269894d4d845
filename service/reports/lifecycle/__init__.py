"""The life cycle of a report: the one writer of ``report``, ``report_round`` and
``report_event``.

Whoever asks for a change (the reporter, moderators, the department's queue, ratings, the
SLA engine, Open311's case systems, ambassadors) calls this facade; no other package writes
those tables. Every change of state goes through the transition table (``states.py``) and
leaves a timeline event; every notice a person may be told of goes through
``notifications.dispatch.notify`` (``notices.py`` has the table of who is told what).

Lock order, the same for the API and the worker:

1. the **report** row (``lock``, ``FOR UPDATE``) — every change starts here; a request
   that changes several reports (bulk actions, a merge) locks them in id order;
2. its **rounds** (``report_round``): changed only while the report is held;
3. its **SLA timers** (``sla_timer``);
4. the requests about it (transfer and extension requests), and then the rest
   (responses, ratings, notices, outbox jobs).

The worker's batches claim the report together with what they change (``FOR UPDATE OF
report, report_round SKIP LOCKED``, ``FOR UPDATE OF sla_timer, report SKIP LOCKED``), so a
report a request holds is skipped, never waited for while holding another of its rows. A
deadlock or serialization failure that slips through anyway (a new path, an operator's
statement) is retried once with the whole request by the API (``service.db``) and then
answered 503 with ``Retry-After``, never 500.

Timeline order: ``report_event.seq`` is given by the database at insert, in the order the
events were recorded, so events of one transaction (one instant) keep their causal order —
a rating before the reopen or close it causes, a transfer before its receipt. Every view
of a timeline and Open311's ``servicerequestupdates`` order by it.
"""

from __future__ import annotations

from service.reports.lifecycle.outcomes import (
    MAX_REOPENS,
    Consequence,
    close,
    close_expired,
    close_referred,
    publish_answer,
    reporter_verdict,
)
from service.reports.lifecycle.reporter import (
    disown,
    disownable,
    mark_submitted,
    not_editable,
    own_report,
    send_draft,
    submit_draft,
    update_report,
    withdraw,
)
from service.reports.lifecycle.repository import lock_unplanned_rounds, mark_breached, round_of
from service.reports.lifecycle.rounds import (
    ask_reporter,
    current_round,
    due_value,
    extend,
    mark_planned,
    open_round,
    take_reply,
)
from service.reports.lifecycle.timeline import (
    SystemEvent,
    add_system_events,
    apply_transition,
    check_version,
    lock,
    new_event,
    record_event,
    touch,
)
from service.reports.lifecycle.work import (
    TRANSFER_HOOKS,
    TransferHook,
    add_note,
    confirm_by_ambassador,
    move,
    on_transfer,
    refuse_unmoderated_text,
    set_assignee,
    set_priority,
    start_work,
)

__all__ = [
    "MAX_REOPENS",
    "TRANSFER_HOOKS",
    "Consequence",
    "SystemEvent",
    "TransferHook",
    "add_note",
    "add_system_events",
    "apply_transition",
    "ask_reporter",
    "check_version",
    "close",
    "close_expired",
    "close_referred",
    "confirm_by_ambassador",
    "current_round",
    "disown",
    "disownable",
    "due_value",
    "extend",
    "lock",
    "lock_unplanned_rounds",
    "mark_breached",
    "mark_planned",
    "mark_submitted",
    "move",
    "new_event",
    "not_editable",
    "on_transfer",
    "open_round",
    "own_report",
    "publish_answer",
    "record_event",
    "refuse_unmoderated_text",
    "reporter_verdict",
    "round_of",
    "send_draft",
    "set_assignee",
    "set_priority",
    "start_work",
    "submit_draft",
    "take_reply",
    "touch",
    "update_report",
    "withdraw",
]

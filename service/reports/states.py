"""The report life cycle as one transition table.

```
draft ─► submitted ─► accepted ─► in_progress ─► answered ─► closed
              │           │  ▲          │    ▲         │
              ▼           │  └─ awaiting_info ┘         ├─► reopened ─► in_progress …
          rejected        ├─► transferred (back to accepted in the new department)
                          └─► duplicate (merged into another report)
  any open state ─► withdrawn (by the reporter, before an answer)
```

Every change of state goes through :func:`transition`, which refuses what the table does not
list (409 naming the current state); the caller writes the timeline event it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.errors import Conflict


class ReportState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    in_progress = "in_progress"
    awaiting_info = "awaiting_info"
    answered = "answered"
    closed = "closed"
    reopened = "reopened"
    rejected = "rejected"
    transferred = "transferred"
    duplicate = "duplicate"
    withdrawn = "withdrawn"


class Action(StrEnum):
    submit = "submit"
    accept = "accept"
    reject = "reject"
    mark_duplicate = "mark_duplicate"
    start_work = "start_work"
    ask_info = "ask_info"
    receive_info = "receive_info"
    answer = "answer"
    close = "close"
    reopen = "reopen"
    transfer = "transfer"
    receive_transfer = "receive_transfer"
    withdraw = "withdraw"


S = ReportState


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[ReportState]
    target: ReportState
    public: bool = True  # whether the timeline event is shown to the public


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.submit, frozenset({S.draft}), S.submitted, public=False),
    Transition(Action.accept, frozenset({S.submitted}), S.accepted),
    Transition(Action.reject, frozenset({S.submitted}), S.rejected, public=False),
    Transition(Action.mark_duplicate, frozenset({S.submitted, S.accepted}), S.duplicate),
    Transition(Action.start_work, frozenset({S.accepted, S.reopened}), S.in_progress),
    Transition(Action.ask_info, frozenset({S.accepted, S.in_progress}), S.awaiting_info),
    Transition(Action.receive_info, frozenset({S.awaiting_info}), S.in_progress),
    Transition(Action.answer, frozenset({S.accepted, S.in_progress, S.reopened}), S.answered),
    Transition(Action.close, frozenset({S.answered, S.awaiting_info}), S.closed),
    Transition(Action.reopen, frozenset({S.answered}), S.reopened),
    Transition(Action.transfer, frozenset({S.accepted, S.in_progress, S.reopened}), S.transferred),
    Transition(Action.receive_transfer, frozenset({S.transferred}), S.accepted),
    Transition(
        Action.withdraw,
        frozenset(
            {S.draft, S.submitted, S.accepted, S.in_progress, S.awaiting_info, S.transferred}
        ),
        S.withdrawn,
    ),
)
_BY_ACTION = {t.action: t for t in TRANSITIONS}

# What the public may see: everything a moderator let through. A duplicate is public only if
# it had been accepted before it was merged (see ``is_public``): one merged straight from
# moderation was never checked for what it says.
PUBLIC_STATES = frozenset(
    {
        S.accepted,
        S.in_progress,
        S.awaiting_info,
        S.answered,
        S.closed,
        S.reopened,
        S.transferred,
        S.duplicate,
    }
)
# Open for the department: the SLA clock may run.
OPEN_STATES = frozenset({S.accepted, S.in_progress, S.awaiting_info, S.reopened, S.transferred})
# States a reporter may still change the description and photos in.
EDITABLE_STATES = frozenset({S.draft, S.submitted})


def is_public(state: ReportState | str, accepted_at: object) -> bool:
    if state == S.duplicate:
        return accepted_at is not None
    return state in PUBLIC_STATES


def transition(current: ReportState | str, action: Action) -> Transition:
    """The transition ``action`` makes from ``current``, or 409 naming the current state."""
    current = ReportState(current)
    rule = _BY_ACTION[action]
    if current not in rule.sources:
        allowed = ", ".join(sorted(rule.sources))
        raise Conflict(
            f"Cannot {action.value.replace('_', ' ')} a report that is {current.value}.",
            current_state=current.value,
            allowed_from=allowed,
        )
    return rule


def legal_pairs() -> list[tuple[ReportState, Action, ReportState]]:
    """Every (state, action, next state) the table allows."""
    return [(source, t.action, t.target) for t in TRANSITIONS for source in sorted(t.sources)]

"""An idea's life cycle as data, checked in one place (:func:`transition`):

```
draft ─► submitted ─► experts ─► design ─► committee ─► decided (implement | pilot | declined)
  ▲          │                     │  │
  └ returned ◄┘ (failed checks)    │  └─► rejected
        ▲──────────────────────────┘ (returned for revision)
any state before a decision ─► withdrawn (by the author)
```

An idea is public from when it passes the automatic checks (``published_at``), in whatever
state it is in later, except that a return for revision takes it off the public side (the
author may change it) until it passes the checks again; before that only its author and the
project office see it.
"""

from __future__ import annotations

from enum import StrEnum

from service.errors import Conflict
from service.ideas.models import IdeaState

S = IdeaState


class IdeaAction(StrEnum):
    submit = "submit"
    withdraw = "withdraw"
    pass_checks = "pass_checks"  # noqa: S105 - an action, not a secret
    fail_checks = "fail_checks"
    close_reviews = "close_reviews"
    approve = "approve"
    return_for_revision = "return_for_revision"
    reject = "reject"
    decide = "decide"


# action → (states it may start from, the state it leads to)
TRANSITIONS: dict[IdeaAction, tuple[frozenset[IdeaState], IdeaState]] = {
    IdeaAction.submit: (frozenset({S.draft, S.returned}), S.submitted),
    IdeaAction.withdraw: (
        frozenset({S.draft, S.submitted, S.returned, S.experts, S.design, S.committee}),
        S.withdrawn,
    ),
    IdeaAction.pass_checks: (frozenset({S.submitted}), S.experts),
    IdeaAction.fail_checks: (frozenset({S.submitted}), S.returned),
    IdeaAction.close_reviews: (frozenset({S.experts}), S.design),
    IdeaAction.approve: (frozenset({S.design}), S.committee),
    IdeaAction.return_for_revision: (frozenset({S.design}), S.returned),
    IdeaAction.reject: (frozenset({S.design}), S.rejected),
    IdeaAction.decide: (frozenset({S.committee}), S.decided),
}

# The author may still change the idea and its attachments.
EDITABLE_STATES = frozenset({S.draft, S.returned})
# Residents may support it.
SUPPORTABLE_STATES = frozenset({S.experts, S.design, S.committee, S.decided})


class IllegalTransition(Conflict):
    slug, title = "illegal-idea-transition", "Not possible in the idea's state"


def transition(current: IdeaState | str, action: IdeaAction) -> IdeaState:
    """The state ``action`` leads to from ``current``; 409 naming the current state."""
    sources, target = TRANSITIONS[action]
    state = IdeaState(current)
    if state not in sources:
        raise IllegalTransition(
            f"An idea cannot {action.value.replace('_', ' ')} when it is {state.value}.",
            state=state.value,
            action=action.value,
        )
    return target


def refuse_unless(state: IdeaState | str, allowed: frozenset[IdeaState], what: str) -> None:
    """409 naming the state when ``what`` is not possible in it."""
    if IdeaState(state) not in allowed:
        raise IllegalTransition(
            f"{what} is not possible while the idea is {IdeaState(state).value}.",
            state=str(state),
        )

"""A programme's life cycle as data: draft → open → running → finished, and what each state
allows. Checked in one place (:func:`transition`)."""

from __future__ import annotations

from enum import StrEnum

from service.errors import Conflict
from service.training.models import ProgrammeState

P = ProgrammeState


class ProgrammeAction(StrEnum):
    publish = "publish"
    start = "start"
    finish = "finish"


# action → (states it may start from, the state it leads to)
TRANSITIONS: dict[ProgrammeAction, tuple[frozenset[ProgrammeState], ProgrammeState]] = {
    ProgrammeAction.publish: (frozenset({P.draft}), P.open),
    ProgrammeAction.start: (frozenset({P.open}), P.running),
    ProgrammeAction.finish: (frozenset({P.running}), P.finished),
}

# Seen by everyone (a draft only by its coordinators and admins).
PUBLIC_STATES = frozenset({P.open, P.running, P.finished})
# The coordinator may still change the programme and its sessions.
EDITABLE_STATES = frozenset({P.draft, P.open, P.running})
# Residents may enrol (within the enrolment window) and check in.
ENROLLING_STATES = frozenset({P.open, P.running})
# The coordinator may mark and correct attendance.
ROSTER_STATES = frozenset({P.open, P.running, P.finished})
# Awards may be given (the award event may come before the programme is closed).
AWARDING_STATES = frozenset({P.running, P.finished})


class IllegalTransition(Conflict):
    slug, title = "illegal-programme-transition", "Not possible in the programme's state"


def transition(current: ProgrammeState | str, action: ProgrammeAction) -> ProgrammeState:
    """The state ``action`` leads to from ``current``; 409 naming the current state."""
    sources, target = TRANSITIONS[action]
    state = ProgrammeState(current)
    if state not in sources:
        raise IllegalTransition(
            f"A programme cannot {action} when it is {state}.", state=state.value, action=action
        )
    return target


def refuse_unless(
    state: ProgrammeState | str, allowed: frozenset[ProgrammeState], what: str
) -> None:
    """409 naming the state when ``what`` is not possible in it."""
    if ProgrammeState(state) not in allowed:
        raise IllegalTransition(
            f"{what} is not possible while the programme is {ProgrammeState(state)}.",
            state=str(state),
        )

"""The parts of the staff console (``/staff``) and the roles that open each: the console's
menu and front page show a person the parts their roles open. Each part's pages check their
roles again (their dependencies carry the policies), so a link is a convenience, not the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.auth.actor import Actor
from service.auth.models import Role
from service.web.i18n import N_

CONSOLE_ROLES = (
    Role.staff,
    Role.supervisor,
    Role.moderator,
    Role.coordinator,
    Role.idea_office,
    Role.lab_manager,
    Role.admin,
)


@dataclass(frozen=True)
class Part:
    """A part of the console: where it is, what it is called, and who it is for."""

    path: str
    title: str
    summary: str
    roles: frozenset[Role]


PARTS = (
    Part(
        "/staff/queue",
        N_("Department queue"),
        N_("Open reports by due time: claim, ask, answer, transfer."),
        frozenset({Role.staff, Role.supervisor, Role.admin}),
    ),
    Part(
        "/staff/requests",
        N_("Requests to decide"),
        N_("Extensions, transfers and referrals of your departments."),
        frozenset({Role.supervisor, Role.admin}),
    ),
    Part(
        "/staff/kpis",
        N_("Department figures"),
        N_("Received, answered, on time, answer hours, ratings and reopens by week."),
        frozenset({Role.supervisor, Role.admin}),
    ),
    Part(
        "/staff/moderation",
        N_("Moderation"),
        N_("New reports and answers waiting for a decision."),
        frozenset({Role.moderator, Role.admin}),
    ),
    Part(
        "/staff/training",
        N_("Training programmes"),
        N_("Programmes, sessions, check-in screens, rosters and awards."),
        frozenset({Role.coordinator, Role.admin}),
    ),
    Part(
        "/staff/ideas",
        N_("Idea office"),
        N_("Ideas to assess and design decisions."),
        frozenset({Role.idea_office, Role.admin}),
    ),
    Part(
        "/staff/ideas/committee",
        N_("Idea committee"),
        N_("Ideas of your department's areas to rank and decide."),
        frozenset({Role.supervisor, Role.admin}),
    ),
    Part(
        "/staff/lab",
        N_("Living lab"),
        N_("The test panel, pilots, their draws, recruitment and results."),
        frozenset({Role.lab_manager, Role.idea_office, Role.admin}),
    ),
    Part(
        "/staff/admin",
        N_("Administration"),
        N_("Users and roles, API keys, departments, calendars, catalogue, templates, webhooks."),
        frozenset({Role.admin}),
    ),
)


def console_parts(actor: Actor | None) -> list[Part]:
    """The console's parts ``actor``'s roles open (for the front page and the menu)."""
    if actor is None:
        return []
    return [part for part in PARTS if actor.has_any_role(*part.roles)]

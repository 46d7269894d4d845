"""Who may see what of a report (PRODUCT.md §1 and §9), in one place.

Three levels:

* ``PUBLIC`` — anyone: reports a moderator let through, never an email address, no reporter
  name when the reporter asked to be anonymous or once the report is closed, only public
  timeline events.
* ``REPORTER`` — the person who filed it: also its private part (their own name, the
  moderation deadline, a rejection's reason), and the timeline's public events plus their
  own actions.
* ``STAFF`` — the handling department's staff, supervisors of it or of any department above
  it, moderators and admins, and API keys holding ``reports:private``: everything, the
  reporter's email and every internal event included.

Coordinators run training programmes: they see reports as the public does. So do API keys
without ``reports:private``, whatever their owner's roles (a key holds no roles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col

from service.auth.actor import Actor
from service.auth.models import Role
from service.auth.scopes import Scope
from service.errors import NotFound
from service.reports.models import Report, ReportEvent
from service.reports.states import PUBLIC_STATES, ReportState, is_public

PUBLIC, REPORTER, STAFF = 0, 1, 2
CITY_WIDE_ROLES = (Role.moderator, Role.admin)
DEPARTMENT_ROLES = (Role.staff, Role.supervisor)


def sees_everything(actor: Actor | None) -> bool:
    """Whether ``actor`` sees every report at STAFF level, whatever its department."""
    if actor is None:
        return False
    if actor.is_api_key:
        return actor.holds_scope(Scope.reports_private)
    return actor.has_any_role(*CITY_WIDE_ROLES)


def access_level(actor: Actor | None, *, department_id: Any, reporter_id: Any) -> int:
    """PUBLIC, REPORTER or STAFF for a report of ``department_id`` filed by ``reporter_id``."""
    if actor is None:
        return PUBLIC
    if sees_everything(actor):
        return STAFF
    if actor.is_api_key:
        return PUBLIC
    if department_id in actor.departments(*DEPARTMENT_ROLES):
        return STAFF
    # Supervisors work the whole subtree (computed once when the caller was identified).
    if department_id in actor.supervised_departments:
        return STAFF
    if actor.user_id == reporter_id:
        return REPORTER
    return PUBLIC


def level_for(actor: Actor | None, report: Report) -> int:
    return access_level(actor, department_id=report.department_id, reporter_id=report.reporter_id)


def check_visible(actor: Actor | None, report: Report, *, at_least: int = PUBLIC) -> int:
    """The caller's level on ``report``; 404 when the caller may not know it exists."""
    level = max(level_for(actor, report), at_least)
    if level == PUBLIC and not is_public(report.state, report.accepted_at):
        raise NotFound("No such report.")
    return level


def public_condition() -> Any:
    """SQL for :func:`service.reports.states.is_public`."""
    return or_(
        col(Report.state).in_(sorted(PUBLIC_STATES - {ReportState.duplicate})),
        and_(col(Report.state) == ReportState.duplicate, col(Report.accepted_at).is_not(None)),
    )


def public_sql(param: Callable[[Any], str]) -> str:
    """:func:`public_condition` as SQL on ``report r``; ``param`` adds a parameter."""
    states = param([str(s) for s in sorted(PUBLIC_STATES - {ReportState.duplicate})])
    return (
        f"(r.state = ANY({states}::text[])"
        f" OR (r.state = {param(str(ReportState.duplicate))} AND r.accepted_at IS NOT NULL))"
    )


def public_reporter_name(report: Report, name: str | None) -> str | None:
    """The reporter's name as the public may see it: none when anonymous or closed (§9)."""
    return reporter_name_shown(report.anonymous_public, report.state, name)


def reporter_name_shown(anonymous_public: bool, state: str, name: str | None) -> str | None:
    """The reporter's name as the public may see it: none when anonymous or closed (§9)."""
    if anonymous_public or state == ReportState.closed:
        return None
    return name


def events_condition(level: int, actor: Actor | None) -> Any:
    """Which timeline events the caller sees: all (STAFF), public ones and their own
    (REPORTER), public ones (PUBLIC)."""
    if level >= STAFF:
        return None
    if level == REPORTER and actor is not None:
        return or_(col(ReportEvent.public), col(ReportEvent.actor_id) == actor.user_id)
    return col(ReportEvent.public)


def actor_role(actor: Actor | None) -> str:
    """The role an event is recorded under: the highest the actor holds."""
    if actor is None:
        return "system"
    if actor.is_api_key:
        return "api_key"
    for role in (Role.admin, Role.moderator, Role.coordinator, Role.supervisor, Role.staff):
        if actor.has_role(role):
            return role.value
    return "resident"

"""Route access policies: who may call a route, declared by the dependency that enforces it.

A route's policy is read from its dependencies, so the declaration and the check are one
thing and cannot drift apart:

* **Who** (function level, OWASP API5): the caller dependency carries its :class:`Policy`
  — ``require_roles(...)``, ``require_scope(...)``, ``PersonActor``, ``CurrentActor``,
  ``OptionalActor`` (a public route that shows more to some callers), Open311's
  ``open311_key(...)``. A route that needs no caller says so with ``dependencies=[PUBLIC]``
  (or ``CREDENTIALS`` when a token in the request is what admits it: a refresh token, an
  emailed code).
* **Whose objects** (object level, OWASP API1): a route whose path names an object that
  belongs to someone adds ``dependencies=[OWN]`` (the caller's own: their report, their
  notification) or ``dependencies=[DEPARTMENTS]`` (their department's, a supervisor's
  subtree) or ``dependencies=[PROGRAMMES]`` (a coordinator's own programmes). The services
  enforce these (404 for an object the caller may not know of); the marker states it.

:func:`route_policy` reads both back; ``tests/test_route_policies.py`` enumerates every
route of the app, fails for one without a policy, and probes each route as an anonymous
caller, a resident, another resident, staff of another department, an admin's API key and
the right caller, expecting the outcome the policy implies.

Adding a route: use one of the caller dependencies (the policy comes with it), or add
``dependencies=[PUBLIC]``; add an object marker when the path names someone's object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Depends
from fastapi.dependencies.models import Dependant

from service.auth.models import Role

POLICY_ATTRIBUTE = "route_policy"


class Caller(StrEnum):
    """Who gets past the function-level check."""

    anyone = "anyone"  # no credentials needed (they may show more to some callers)
    credentials = "credentials"  # a token or code in the request itself admits the caller
    signed_in = "signed_in"  # a person or an API key
    person = "person"  # a signed-in person, never an API key
    verified_person = "verified_person"  # a person with a verified email address
    role = "role"  # a person holding one of ``roles``
    scope = "scope"  # a person (verified when ``verified``), or an API key with ``scope``
    api_key = "api_key"  # only an API key carrying ``scope`` (Open311 writes)


class Objects(StrEnum):
    """Whose object the path names, beyond the function-level check."""

    any = "any"  # anything the caller may call the route for (public, or the role's)
    own = "own"  # the caller's own
    departments = "departments"  # of the caller's departments (a supervisor's subtree)
    programmes = "programmes"  # of a coordinator's own programmes


@dataclass(frozen=True)
class Policy:
    caller: Caller
    roles: frozenset[Role] = field(default_factory=frozenset)
    scope: str | None = None
    verified: bool = False
    objects: Objects = Objects.any

    def describe(self) -> str:
        parts = [self.caller.value]
        if self.roles:
            parts.append("|".join(sorted(self.roles)))
        if self.scope:
            parts.append(self.scope)
        if self.objects is not Objects.any:
            parts.append(f"objects={self.objects}")
        return " ".join(parts)


F = TypeVar("F", bound=Callable[..., Any])


def declare(policy: Policy) -> Callable[[F], F]:
    """Attach ``policy`` to the dependency that enforces it."""

    def attach(dependency: F) -> F:
        setattr(dependency, POLICY_ATTRIBUTE, policy)
        return dependency

    return attach


def _marker(policy: Policy, name: str) -> Any:
    async def marker() -> None:
        return None

    marker.__name__ = marker.__qualname__ = name
    return Depends(declare(policy)(marker))


# Function level, for routes whose caller dependency does not state it.
PUBLIC = _marker(Policy(Caller.anyone), "public")
CREDENTIALS = _marker(Policy(Caller.credentials), "credentials")
# Object level: refine whatever the caller dependency says.
OWN = _marker(Policy(Caller.anyone, objects=Objects.own), "own_objects")
DEPARTMENTS = _marker(Policy(Caller.anyone, objects=Objects.departments), "department_objects")
PROGRAMMES = _marker(Policy(Caller.anyone, objects=Objects.programmes), "programme_objects")
_OBJECT_MARKERS = {"own_objects", "department_objects", "programme_objects"}


def _walk(dependant: Dependant) -> Iterator[tuple[int, Any]]:
    pending = [(0, d) for d in dependant.dependencies]
    while pending:
        depth, current = pending.pop(0)
        yield depth, current.call
        pending.extend((depth + 1, d) for d in current.dependencies)


def route_policy(dependant: Dependant) -> Policy | None:
    """The policy a route's dependencies declare: the outermost caller dependency with one,
    refined by an object marker; None when none declares any."""
    found: Policy | None = None
    objects = Objects.any
    for _, call in _walk(dependant):
        policy = getattr(call, POLICY_ATTRIBUTE, None)
        if not isinstance(policy, Policy):
            continue
        if getattr(call, "__name__", "") in _OBJECT_MARKERS:
            objects = policy.objects
        # A router's PUBLIC yields to a route of it that asks for a caller.
        elif found is None or (
            found.caller is Caller.anyone and policy.caller is not Caller.anyone
        ):
            found = policy
    if found is None:
        return None
    return replace(found, objects=objects)

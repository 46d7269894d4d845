"""Who is calling: the authenticated user (or API key) with their roles and scopes.

Every service takes an :class:`Actor` and checks object-level rules against it; the routers
check the function-level rule (the role) with the dependencies in ``dependencies.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from service.auth.models import Role, User
from service.languages import Language


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    email: str
    display_name: str
    language: Language
    email_verified: bool
    # (role, department id or None) for each grant.
    # Always empty for an API key: a key never acts through its owner's roles.
    grants: frozenset[tuple[Role, uuid.UUID | None]] = field(default_factory=frozenset)
    # The buildings of the actor's building-scoped grants (the ambassador role): a grant
    # scoped to a building is in ``grants`` as (role, None) and its building here.
    buildings: frozenset[uuid.UUID] = field(default_factory=frozenset)
    api_key_id: uuid.UUID | None = None
    # None: a person signed in, acting through their roles. A set: an API key, which may do
    # exactly what these scopes name (``service.auth.scopes``) and nothing else.
    scopes: frozenset[str] | None = None
    ip: str | None = None
    # Every department below the ones the actor supervises (those included), looked up once
    # when the caller is identified, so report-level checks per row need no query.
    supervised_departments: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @classmethod
    def for_user(
        cls,
        user: User,
        grants: Iterable[tuple[Role, uuid.UUID | None]] = (),
        *,
        buildings: Iterable[uuid.UUID] = (),
        api_key_id: uuid.UUID | None = None,
        scopes: Iterable[str] | None = None,
        ip: str | None = None,
        supervised_departments: Iterable[uuid.UUID] = (),
    ) -> Actor:
        return cls(
            user_id=user.id,
            email=user.email,
            display_name=user.display_name,
            language=user.language,
            email_verified=user.email_verified_at is not None,
            grants=frozenset(grants) if api_key_id is None else frozenset(),
            buildings=frozenset(buildings) if api_key_id is None else frozenset(),
            api_key_id=api_key_id,
            scopes=frozenset(scopes) if scopes is not None else None,
            ip=ip,
            supervised_departments=(
                frozenset(supervised_departments) if api_key_id is None else frozenset()
            ),
        )

    def has_role(self, role: Role, department_id: uuid.UUID | None = None) -> bool:
        """True when a grant of ``role`` exists (for ``department_id``, when given)."""
        return any(
            granted == role and (department_id is None or scope == department_id)
            for granted, scope in self.grants
        )

    def has_any_role(self, *roles: Role) -> bool:
        return any(self.has_role(role) for role in roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.admin)

    def departments(self, *roles: Role) -> frozenset[uuid.UUID]:
        """Departments where the actor holds any of ``roles``."""
        return frozenset(
            scope for granted, scope in self.grants if granted in roles and scope is not None
        )

    def ambassador_of(self, building_id: uuid.UUID | None) -> bool:
        """Whether the actor is an ambassador of ``building_id``."""
        return building_id is not None and building_id in self.buildings

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def allows(self, scope: str) -> bool:
        """Whether an API key's scopes allow ``scope`` (people are not limited by scopes)."""
        return self.scopes is None or scope in self.scopes

    def holds_scope(self, scope: str) -> bool:
        """Whether this is an API key granted ``scope`` (people hold no scopes)."""
        return self.scopes is not None and scope in self.scopes

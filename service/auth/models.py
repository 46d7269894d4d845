"""Accounts, role grants, refresh tokens, web sessions, emailed tokens and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ARRAY, Index, String, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk
from service.languages import Language


class Role(StrEnum):
    """Granted roles. Every verified user is a resident without a grant."""

    ambassador = "ambassador"
    staff = "staff"
    supervisor = "supervisor"
    moderator = "moderator"
    coordinator = "coordinator"
    # The project office of the idea bank (service.ideas): assesses the design of ideas the
    # experts have scored, city-wide.
    idea_office = "idea_office"
    # The living lab (service.lab): runs pilots with their panels of testers, city-wide.
    lab_manager = "lab_manager"
    admin = "admin"


DEPARTMENT_ROLES = frozenset({Role.staff, Role.supervisor})
# Roles held for one building: an ambassador helps the neighbours of the building (or
# buildings) a training programme awarded them for (service.training.awards).
BUILDING_ROLES = frozenset({Role.ambassador})


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (Index("uq_user_account_email_lower", text("lower(email)"), unique=True),)

    id: uuid.UUID = uuid_pk()
    email: str = Field(max_length=320)
    display_name: str = Field(max_length=120)
    language: Language = enum_field(Language.et, length=2)
    password_hash: str = Field(max_length=256)
    email_verified_at: datetime | None = timestamp(nullable=True)
    disabled_at: datetime | None = timestamp(nullable=True)
    # A contact reporter: an address a report was filed for (on behalf, Open311) without an
    # account of its own. No password, never signs in; registering the address claims it.
    contact_only: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    created_at: datetime = timestamp(default_now=True)
    last_login_at: datetime | None = timestamp(nullable=True)
    # Access tokens issued before this instant are refused: set by a password change, a
    # password reset and "sign out everywhere" (an access token cannot be recalled otherwise).
    sessions_valid_after: datetime | None = timestamp(nullable=True)
    # Set when the person erased their account (service.privacy): the row stays as an
    # anonymised tombstone so that the reports, ratings and attendance it holds still count.
    erased_at: datetime | None = timestamp(nullable=True)


class RoleGrant(SQLModel, table=True):
    """A role held by a user; staff and supervisor roles are scoped to a department, the
    ambassador role to a building."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "role",
            "department_id",
            "building_id",
            name="uq_role_grant_scope",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    role: Role = enum_field()
    department_id: uuid.UUID | None = Field(
        default=None, foreign_key="department.id", index=True, ondelete="CASCADE"
    )
    building_id: uuid.UUID | None = Field(
        default=None, foreign_key="building.id", index=True, ondelete="CASCADE"
    )
    granted_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    granted_at: datetime = timestamp(default_now=True)


class RefreshToken(SQLModel, table=True):
    """An opaque refresh token (stored as its SHA-256). Tokens rotate within a family;
    presenting a rotated token again revokes the whole family."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp()
    rotated_at: datetime | None = timestamp(nullable=True)
    revoked_at: datetime | None = timestamp(nullable=True)


class WebSession(SQLModel, table=True):
    """A browser's signed-in session (the web app's cookie holds the secret; the table its
    SHA-256). It ends at ``expires_at``, when the person signs out (``ended_at``), and with
    every other session when the account's ``sessions_valid_after`` passes its
    ``created_at`` (sign out everywhere, a password change or reset, erasure)."""

    __tablename__ = "web_session"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True)


class EmailTokenPurpose(StrEnum):
    verify_email = "verify_email"
    password_reset = "password_reset"  # noqa: S105
    # A resident withdrawing a report someone filed for them (service.reports.filing).
    disown_report = "disown_report"


# The API page an emailed one-time link opens, per purpose (service/auth/pages.py).
EMAIL_TOKEN_PAGES: dict[EmailTokenPurpose, str] = {
    # The web app's pages (``service.web.pages.account``); the API's own pages at
    # ``/v1/auth/verify-email`` and ``/v1/auth/reset-password`` still take links sent before.
    EmailTokenPurpose.verify_email: "/verify-email",
    EmailTokenPurpose.password_reset: "/reset-password",
    EmailTokenPurpose.disown_report: "/v1/reports/disown",
}


class EmailToken(SQLModel, table=True):
    """A single-use secret sent by email (stored as its SHA-256).

    The row is written when the email is asked for, with the hash of a throwaway value; the
    secret itself is minted when the message is delivered (``rearm_email_token``), so that it
    exists only in the delivering worker's memory and in the recipient's mailbox.
    """

    __tablename__ = "email_token"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    purpose: EmailTokenPurpose = enum_field()
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp()
    used_at: datetime | None = timestamp(nullable=True)


class ApiKey(SQLModel, table=True):
    """An integrator's key: shown once, stored as its SHA-256, acting for its owner only
    through its scopes (``service.auth.scopes``), until revoked or past ``expires_at``."""

    __tablename__ = "api_key"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_column=Column(ARRAY(String(64)), nullable=False))
    owner_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp(default_now=True)
    last_used_at: datetime | None = timestamp(nullable=True)
    revoked_at: datetime | None = timestamp(nullable=True)
    expires_at: datetime | None = timestamp(nullable=True)

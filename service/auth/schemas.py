"""What enters and leaves the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from service.auth.models import Language, Role
from service.fields import PatchBody, PlainText, Text

Password = Annotated[str, StringConstraints(min_length=10, max_length=128), PlainText]
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), PlainText
]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=256), PlainText]


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Password
    display_name: DisplayName
    language: Language = Language.et


class SignInForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, with its fields as guarded text."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: Annotated[str, Form(), PlainText],
        password: Annotated[str, Form(json_schema_extra={"format": "password"}), PlainText],
        scope: Annotated[str, Form(), PlainText] = "",
        client_id: Annotated[Text | None, Form()] = None,
        client_secret: Annotated[
            Text | None, Form(json_schema_extra={"format": "password"})
        ] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class VerifyRequest(BaseModel):
    token: Secret


class RefreshRequest(BaseModel):
    refresh_token: Secret


class PasswordResetRequest(BaseModel):
    email: EmailStr


class PasswordResetConfirm(BaseModel):
    token: Secret
    new_password: Password


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the access token expires.")


class RoleGrantPublic(BaseModel):
    id: uuid.UUID
    role: Role
    department_id: uuid.UUID | None
    granted_at: datetime


class UserPrivate(BaseModel):
    """A user as they see themselves, and as admins see them."""

    id: uuid.UUID
    email: str
    display_name: str
    language: Language
    email_verified: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    roles: list[RoleGrantPublic]


class UserUpdate(PatchBody):
    display_name: DisplayName | None = None
    language: Language | None = None
    new_password: Password | None = None
    current_password: Annotated[str, StringConstraints(max_length=128), PlainText] | None = None

    @model_validator(mode="after")
    def _password_change_needs_current(self) -> UserUpdate:
        if self.new_password is not None and not self.current_password:
            raise ValueError("current_password is required to set new_password")
        return self


class RoleGrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    department_id: uuid.UUID | None = None


class UserPage(BaseModel):
    items: list[UserPrivate]
    next_cursor: str | None


ApiKeyScope = Literal["reports:read", "reports:write", "reports:on_behalf", "open311:write"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), PlainText
    ]
    scopes: list[ApiKeyScope] = Field(min_length=1)
    owner_id: uuid.UUID | None = Field(
        default=None, description="The user the key acts for; the creating admin by default."
    )


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    owner_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown once; only its hash is stored.")

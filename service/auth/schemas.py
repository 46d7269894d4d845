"""What enters and leaves the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from service.auth.models import Role
from service.auth.scopes import Scope
from service.fields import PatchBody, PlainText, Text
from service.languages import Language

PASSWORD_MIN = 10
PASSWORD_MAX = 128
Password = Annotated[
    str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX), PlainText
]
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


class RegistrationAccepted(BaseModel):
    """The same answer whether the address was free or had an account already."""

    status: Literal["accepted"] = "accepted"
    detail: str = "Check your email to continue."


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
    building_id: uuid.UUID | None = Field(description="The building of an ambassador grant.")
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


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128), PlainText]
    new_password: Password


class RoleGrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    department_id: uuid.UUID | None = Field(
        default=None, description="Needed by staff and supervisor, refused for other roles."
    )
    building_id: uuid.UUID | None = Field(
        default=None, description="Needed by ambassador, refused for other roles."
    )


class UserPage(BaseModel):
    items: list[UserPrivate]
    next_cursor: str | None


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), PlainText
    ]
    scopes: list[Scope] = Field(min_length=1)
    owner_id: uuid.UUID | None = Field(
        default=None,
        description="The user the key acts for: only the creating admin (the default); a key "
        "is never made for someone else to act as them.",
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the key stops working (with a UTC offset); never, when absent.",
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
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown once; only its hash is stored.")


class ErasureRequest(BaseModel):
    """Erasing an account is confirmed with its password."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, StringConstraints(min_length=1, max_length=128), PlainText]

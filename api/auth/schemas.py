"""Wire shapes of authentication and staff administration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["worker", "backoffice", "admin"]
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{1,63}$"


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        default=None, description="Staff only; rotate it through grant_type=refresh_token."
    )
    scope: str | None = Field(default=None, description="Granted scopes (partners).")


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(
        default=None, max_length=200, description="End this session only; without it every session of the account ends."
    )


class LogoutResponse(BaseModel):
    revoked: int


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


class Me(BaseModel):
    kind: Literal["staff", "partner"]
    id: str
    municipality_code: str
    role: Role | None
    scopes: list[str]
    device_id: uuid.UUID | None = Field(default=None, description="Set for a device-bound token.")


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    active: bool
    locked_until: datetime | None = Field(
        default=None,
        description="Failed sign-ins locked the account until then (`POST /v1/users/{id}/unlock` lifts it).",
    )


class UserList(BaseModel):
    items: list[UserOut]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="Lower case; unique within the municipality.")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=12, max_length=256, description="At least 12 characters.")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=256)

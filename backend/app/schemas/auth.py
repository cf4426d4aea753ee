from __future__ import annotations

import uuid
from typing import Literal

from pydantic import EmailStr, Field

from backend.app.models.enums import Role
from backend.app.schemas.base import RequestModel, ResponseModel


class RegisterRequest(RequestModel):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=128)
    full_name: str = Field(min_length=1, max_length=200)


class LoginRequest(RequestModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class TokenResponse(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class UserRead(ResponseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role

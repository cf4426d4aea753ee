from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

# PostgreSQL cannot store NUL in text (a query with one fails as a 500), and no name, e-mail,
# id or search needs one: refused at the edge, as a 422 naming the field, on every database.
NO_NUL_PATTERN = r"^[^\x00]*$"
NO_NUL_MESSAGE = "must not contain NUL characters"


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    return False


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields (422 naming the field), so typos never pass silently,
    and NUL characters in any string (see ``NO_NUL_PATTERN``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _refuse_nul(cls, value: object) -> object:
        if _contains_nul(value):
            raise ValueError(NO_NUL_MESSAGE)
        return value


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

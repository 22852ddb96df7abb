"""The JSON bodies of error answers, as the protocol shapes them (contract §3.4).

They are built in `runfolio.server.errors`; these models only describe them, so that
the OpenAPI document declares what a client really receives.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, RootModel


class ErrorDetail(BaseModel):
    """`{"detail": "<text>"}`: unknown ids and routes, conflicts, paging limits, bad headers."""

    detail: str


class FieldError(BaseModel):
    """One refused field, in pydantic's error shape."""

    type: str
    loc: list[str | int]
    msg: str
    input: Any = None
    ctx: dict[str, Any] = Field(default_factory=dict)


class InvalidRequest(BaseModel):
    """A request refused by validation: every field at fault, and the body as received."""

    exception_message: str
    exception_detail: list[FieldError]
    request_body: Any


class ServerFault(BaseModel):
    """`{"exception_message": "..."}`: the server, not the request, failed."""

    exception_message: str


class Rejected(RootModel[InvalidRequest | ErrorDetail]):
    """A 422: fields refused by validation, or a paging limit (`{"detail": ...}`)."""


class Unavailable(RootModel[ServerFault | ErrorDetail]):
    """A 503: the database is unavailable, or too busy to take the write in time."""

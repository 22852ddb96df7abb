"""Building blocks shared by every schema: base models, UTC datetimes, ids."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer
from uuid_utils.compat import uuid7

UTC = dt.UTC


def _iso_z(value: dt.datetime) -> str:
    # Always microseconds and a Z suffix, as the wire contract shows.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# A UTC datetime that always serialises as 2026-11-26T20:27:25.081153Z.
DateTime = Annotated[dt.datetime, PlainSerializer(_iso_z, return_type=str, when_used="json")]

# A time the server took with `utcnow()` (never a whole second, so pydantic's own,
# much faster serializer writes the same text as `DateTime`). Used where lists are long.
ServerTime = dt.datetime


def utcnow() -> dt.datetime:
    now = dt.datetime.now(UTC)
    # A zero microsecond would be written without a fraction by pydantic (see ServerTime).
    return now if now.microsecond else now.replace(microsecond=1)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7): id order is creation order."""
    return uuid7()


class ObjectModel(BaseModel):
    """A stored object as the API returns it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ActionModel(BaseModel):
    """A request body: unknown fields are refused, as the contract requires."""

    model_config = ConfigDict(extra="forbid")


class FilterModel(BaseModel):
    """A filter criterion: unknown operators are refused."""

    model_config = ConfigDict(extra="forbid")


def json_dumps_default(value: Any) -> Any:
    """`default=` hook so UUIDs and datetimes inside JSON payloads serialise."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return _iso_z(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

"""Building blocks shared by every schema: base models, UTC datetimes, ids."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError
from uuid_utils.compat import uuid7

UTC = dt.UTC


def _iso_z(value: dt.datetime) -> str:
    # Always microseconds and a Z suffix, as the wire contract shows.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# A UTC datetime that always serialises as 2026-11-26T20:27:25.081153Z.
DateTime = Annotated[dt.datetime, PlainSerializer(_iso_z, return_type=str, when_used="json")]

# The ISO 8601 start of a time sent as JSON text.
_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]")


def _iso_text_only(value: Any) -> Any:
    # pydantic would read a number (or a string of digits) as seconds since the epoch;
    # the document declares date-time text, so that is all a request may send.
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _ISO_DATETIME.match(value)):
        return value
    raise PydanticCustomError(
        "datetime_type", "Input should be an ISO 8601 date-time string like 2026-11-26T20:27:25Z"
    )


def _within_utc_range(value: dt.datetime) -> dt.datetime:
    # Year 1 at +14:00 or year 9999 at -12:00 has no UTC equivalent; stored times are UTC.
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise PydanticCustomError(
                "datetime_range", "Input should be a date-time between years 1 and 9999 in UTC"
            ) from None
    return value


# A time in a request body: ISO 8601 text only, and one UTC can hold.
InputDateTime = Annotated[
    DateTime, BeforeValidator(_iso_text_only), AfterValidator(_within_utc_range)
]


def _number_only(value: Any) -> Any:
    # pydantic would read `true` as 1 and `"1"` as 1; JSON Schema's integer is a number
    # without a fraction (so `1.0` is 1, and `1.5` is refused by the int check).
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# An integer in a request body: a JSON number without a fraction, never a bool or text.
# Bounds go before `NUMBER_ONLY` (`Annotated[int, Field(le=9), NUMBER_ONLY]`): after it,
# pydantic leaves them out of the JSON schema's `minimum`/`maximum`.
NUMBER_ONLY = BeforeValidator(_number_only)
JsonInt = Annotated[int, NUMBER_ONLY]
# One that fits an integer column (PostgreSQL's INTEGER is 32-bit).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX), NUMBER_ONLY]
# A boolean in a request body: `true` or `false`, not 0, 1 or "true".
JsonBool = Annotated[bool, Strict()]

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


# How deep JSON in a request may nest. Deeper values could be stored but not
# serialised again (every listing that held one would fail), and no artifact,
# parameter or state needs a tenth of it.
MAX_JSON_DEPTH = 64
JSON_TOO_DEEP = "json_too_deep"


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` is more than `limit` levels of lists and objects deep.

    Level by level, without recursion (a deep value must not exhaust the stack).
    """
    level: list[Any] = [value]
    depth = 0
    while level:
        if depth >= limit:
            return any(type(item) in (dict, list, tuple) for item in level)
        deeper: list[Any] = []
        push = deeper.append
        for item in level:
            kind = type(item)
            if kind is dict:
                children: Any = item.values()
            elif kind is list or kind is tuple:
                children = item
            else:
                continue
            for child in children:
                if type(child) in (dict, list):
                    push(child)
        level = deeper
        depth += 1
    return False


def _deepest_path(value: Any, limit: int) -> list[str | int]:
    """Where `value` first nests past `limit` levels (only called once it does)."""
    path: list[str | int] = []
    while len(path) <= limit:
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for name, child in pairs:
            if isinstance(child, dict | list) and json_depth_exceeds(child, limit - len(path) - 2):
                path.append(name)
                value = child
                break
        else:
            break
    return path


class BoundedJsonModel(BaseModel):
    """Refuses request bodies whose JSON nests past `MAX_JSON_DEPTH` levels, naming where."""

    @model_validator(mode="before")
    @classmethod
    def _bounded_depth(cls, value: Any) -> Any:
        if isinstance(value, dict) and json_depth_exceeds(value, MAX_JSON_DEPTH):
            where = ".".join(str(part) for part in _deepest_path(value, MAX_JSON_DEPTH)[:3])
            raise PydanticCustomError(
                JSON_TOO_DEEP,
                "JSON nests deeper than the limit of {limit} levels (at {where}...)",
                {"limit": MAX_JSON_DEPTH, "where": where},
            )
        return value


class ObjectModel(BaseModel):
    """A stored object as the API returns it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ActionModel(BoundedJsonModel):
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

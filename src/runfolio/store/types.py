"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from pydantic_core import from_json
from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from runfolio.schemas.common import json_depth_exceeds, json_dumps_default

log = logging.getLogger("runfolio.store")

# Deeper than this, a stored value could not be serialised into a response;
# such a value (only possible from before request depth was bounded) reads as null.
READABLE_JSON_DEPTH = 200


class JSONText(TypeDecorator[Any]):
    """JSON kept as text, so what is stored is exactly what is returned.

    (A native JSON column on SQLite has numeric affinity and turns a top-level
    `100.0` into `100`.) Non-standard `NaN`/`Infinity` are read back as floats.
    A value too deep to be served again reads as null, so one bad row cannot
    break every listing that holds it.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), default=json_dumps_default
        )

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            # pydantic-core's parser: faster than json's, and it stops at ~200 levels.
            return from_json(value, allow_inf_nan=True)
        except ValueError:
            pass
        # Deep, or text only Python's parser reads (e.g. an escaped lone surrogate).
        try:
            parsed = json.loads(value)
            unreadable = json_depth_exceeds(parsed, READABLE_JSON_DEPTH)
        except RecursionError:  # deeper than Python's own parser goes
            unreadable = True
        if unreadable:
            log.warning(
                "a stored JSON value nests past %d levels; read as null", READABLE_JSON_DEPTH
            )
            return None
        return parsed


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime with microseconds on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        # SQLite stores text: drop the offset so every row compares lexically.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from runfolio.schemas.common import json_dumps_default


class JSONText(TypeDecorator[Any]):
    """JSON kept as text, so what is stored is exactly what is returned.

    (A native JSON column on SQLite has numeric affinity and turns a top-level
    `100.0` into `100`.) Non-standard `NaN`/`Infinity` are read back as floats.
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
        return json.loads(value)


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

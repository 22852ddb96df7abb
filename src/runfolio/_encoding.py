"""How each artifact type's data is encoded on the wire (the protocol's encodings)."""

from __future__ import annotations

import functools
import json
import logging
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import TypeAdapter

log = logging.getLogger("runfolio.artifacts")


@functools.cache
def _float() -> TypeAdapter[float]:
    # Built on first use: pydantic's TypeAdapter machinery is not needed to import the SDK.
    from pydantic import TypeAdapter

    return TypeAdapter(float)


TABLE_SHAPES = "a list of dicts, a dict of lists, a list of lists, or a pandas DataFrame"


def link_markdown(link: str, link_text: str | None) -> str:
    """`[text](url)`; the URL itself is the text when none is given."""
    return f"[{link_text or link}]({link})"


def _is_dataframe(value: Any) -> bool:
    cls = type(value)
    return cls.__name__ == "DataFrame" and cls.__module__.startswith("pandas")


def _plain(value: Any) -> Any:
    """JSON-ready copy: NaN and ±inf become None, numpy scalars become Python ones."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return _plain(item())
    if type(value).__name__ in ("Timestamp", "NaTType") and type(value).__module__.startswith(
        "pandas"
    ):
        return None if type(value).__name__ == "NaTType" else value.isoformat()
    return value


def _check_shape(table: Any) -> None:
    if isinstance(table, dict):
        if all(isinstance(col, list | tuple) for col in table.values()):
            return
    elif isinstance(table, list | tuple):
        if all(isinstance(row, dict) for row in table) or all(
            isinstance(row, list | tuple) for row in table
        ):
            return
    raise ValueError(f"table must be {TABLE_SHAPES}; got {type(table).__name__}")


def table_json(table: Any) -> str:
    """The table as the JSON *string* the protocol stores (its structure unchanged)."""
    if _is_dataframe(table):
        table = table.to_dict(orient="records")
    _check_shape(table)
    try:
        return json.dumps(_plain(table))
    except TypeError as exc:
        raise TypeError(f"table is not JSON-serialisable: {exc}") from None


def table_rows(rows: Any) -> list[Any]:
    """Rows to append to a table, JSON-ready: a list of dicts, a list of lists, or a
    pandas DataFrame (its records)."""
    if _is_dataframe(rows):
        rows = rows.to_dict(orient="records")
    if not isinstance(rows, list | tuple) or not (
        all(isinstance(row, dict) for row in rows)
        or all(isinstance(row, list | tuple) for row in rows)
    ):
        raise ValueError(
            f"rows must be a list of dicts, a list of lists or a pandas DataFrame; "
            f"got {type(rows).__name__}"
        )
    try:
        plain = _plain(list(rows))
        json.dumps(plain)
    except TypeError as exc:
        raise TypeError(f"rows are not JSON-serialisable: {exc}") from None
    return list(plain)


def progress_value(progress: Any) -> float:
    """A float in [0, 100]; values outside are clamped with a warning."""
    from pydantic import ValidationError

    try:
        value = _float().validate_python(progress)
    except ValidationError:
        raise ValueError(f"progress must be a number between 0 and 100, got {progress!r}") from None
    if math.isnan(value):
        raise ValueError("progress must be a number between 0 and 100, got nan")
    if value < 0 or value > 100:
        clamped = 0.0 if value < 0 else 100.0
        log.warning("The progress value %s is not between 0 and 100.", value)
        log.warning("Progress will be set to %s.", clamped)
        return clamped
    return value


def generic_json(data: Any) -> str:
    """A generic artifact's data: JSON-encoded into a string."""
    try:
        return json.dumps(data)
    except TypeError as exc:
        raise TypeError(f"artifact data is not JSON-serialisable: {exc}") from None

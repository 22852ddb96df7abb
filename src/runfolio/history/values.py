"""Artifact data as the history sees it: tables as columns and rows of raw values,
single links, and numbers.

Table data is what the SDK sends (a JSON string) or a JSON structure, in the three
shapes of the protocol; `parse_table` decides which data is a table.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

from runfolio.schemas.artifacts import parse_table

# A markdown artifact whose whole text is one link (what create_link_artifact sends).
_LINK = re.compile(r"\[(?P<text>[^\]\n]*)\]\((?P<url>[^()\s]+)\)")


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[tuple[Any, ...]]  # one value per column (None where a row has none)
    shape: Literal["objects", "columns", "lists"] = "objects"  # as it was sent


def _object_rows(structure: list[dict[str, Any]]) -> Table:
    names = list(structure[0])
    # The common case, one shape: every row has the first row's keys (itemgetter finds
    # them all) and no more (the same count), checked by C loops (map, itemgetter).
    if names and set(map(len, structure)) == {len(names)}:
        pick = itemgetter(*names)
        try:
            picked = list(map(pick, structure))
        except KeyError:
            picked = None
        if picked is not None:
            if len(names) == 1:
                return Table(names, [(value,) for value in picked])
            return Table(names, picked)
    keys: dict[str, None] = {}
    for row in structure:
        keys.update(dict.fromkeys(row))
    names = list(keys)
    return Table(names, [tuple(row.get(c) for c in names) for row in structure])


def as_table(data: Any) -> Table | None:
    """The table held by `data`, or None when it is not a table in any known shape."""
    try:
        structure = parse_table(data)
    except ValueError:
        return None
    if isinstance(structure, dict):  # object of lists: one list per column
        columns = [str(k) for k in structure]
        lists = list(structure.values())
        height = max((len(col) for col in lists), default=0)
        rows = [tuple(col[i] if i < len(col) else None for col in lists) for i in range(height)]
        return Table(columns, rows, "columns")
    if structure and all(isinstance(row, dict) for row in structure):  # list of objects
        return _object_rows(structure)
    width = max((len(row) for row in structure), default=0)  # list of lists
    return Table(
        [str(i + 1) for i in range(width)],
        [tuple(row) + (None,) * (width - len(row)) for row in structure],
        "lists",
    )


def cell_text(value: Any) -> str:
    """How one cell reads: null empty, floats as written, nested values as compact JSON
    (the same as the UI's table renderer)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def as_link(data: Any) -> tuple[str, str] | None:
    """(text, url) when markdown `data` is one link and nothing else."""
    if not isinstance(data, str):
        return None
    match = _LINK.fullmatch(data.strip())
    return (match["text"], match["url"]) if match else None


def as_number(value: Any) -> float | None:
    """A finite number held by `value` (numbers, and strings that spell one), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def decode_json_text(data: Any) -> Any:
    """`data`, or the structure a JSON string in it holds (what `Artifact.create` sends
    for generic data), so structures are compared as structures."""
    if isinstance(data, str) and data[:1] in ("{", "["):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data

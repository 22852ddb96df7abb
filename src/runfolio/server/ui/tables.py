"""Table artifacts: any of the three shapes, as columns and rows of display strings.

Table data arrives as a JSON string (what the SDK sends, possibly with the
non-standard `Infinity`/`NaN` tokens) or as a JSON array/object, shaped as a
list of objects, an object of lists or a list of lists. Every shape becomes
`columns` + `rows` of strings; null is the empty string. Escaping is left to
the template (autoescape) and to the browser's textContent in table.js.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runfolio.schemas.artifacts import parse_table

PAGE_ROWS = 100  # rows shown per page; the rest are paged by table.js
MAX_EMBEDDED_ROWS = 20_000  # rows sent to the browser for sorting/paging; CSV has all


@dataclass(frozen=True)
class TableView:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # per column: every non-empty cell is a number (aligned right)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def first_page(self) -> list[list[str]]:
        return self.rows[:PAGE_ROWS]

    @property
    def embedded(self) -> dict[str, Any]:
        """What table.js sorts and pages (capped at MAX_EMBEDDED_ROWS rows)."""
        return {"columns": self.columns, "rows": self.rows[:MAX_EMBEDDED_ROWS]}

    @property
    def truncated(self) -> bool:
        return len(self.rows) > MAX_EMBEDDED_ROWS


def cell_text(value: Any) -> str:
    """How one cell reads: null empty, floats as written, nested values as compact JSON."""
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


def _rows(data: Any) -> tuple[list[str], list[list[Any]]]:
    if isinstance(data, dict):  # object of lists: one list per column
        columns = [str(k) for k in data]
        lists = list(data.values())
        height = max((len(col) for col in lists), default=0)
        return columns, [[col[i] if i < len(col) else None for col in lists] for i in range(height)]
    if data and all(isinstance(row, dict) for row in data):  # list of objects
        keys: dict[str, None] = {}
        for row in data:
            keys.update(dict.fromkeys(row))
        columns = list(keys)
        return columns, [[row.get(c) for c in columns] for row in data]
    width = max((len(row) for row in data), default=0)  # list of lists: positional columns
    return [str(i + 1) for i in range(width)], [
        [row[i] if i < len(row) else None for i in range(width)] for row in data
    ]


def table_view(data: Any) -> TableView | None:
    """The table held by `data`, or None when it is not a table in any known shape."""
    try:
        structure = parse_table(data)
    except ValueError:
        return None
    columns, raw = _rows(structure)
    numeric = [
        any(row[i] is not None for row in raw)
        and all(row[i] is None or _is_number(row[i]) for row in raw)
        for i in range(len(columns))
    ]
    rows = [[cell_text(v) for v in row] for row in raw]
    return TableView(columns=columns, rows=rows, numeric=numeric)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(text: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (numbers stay as they are)."""
    if text.startswith(_FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


CSV_CHUNK_CHARS = 64 * 1024


def csv_lines(view: TableView) -> Iterator[str]:
    """The table as CSV text (header first), in chunks of whole lines of ~CSV_CHUNK_CHARS.

    Many rows per chunk: a streaming response moves each item of a sync
    iterator through the thread pool, so one item per row made a large export slow.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_safe(cell) for cell in view.columns])
    for row in view.rows:
        writer.writerow([_csv_safe(cell) for cell in row])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()

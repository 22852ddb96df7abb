"""Table artifacts: any of the three shapes, as columns and rows of display strings.

Table data arrives as a JSON string (what the SDK sends, possibly with the
non-standard `Infinity`/`NaN` tokens) or as a JSON array/object, shaped as a
list of objects, an object of lists or a list of lists. Every shape becomes
`columns` + `rows` of strings; null is the empty string. Escaping is left to
the template (autoescape) and to the browser's textContent in table.js.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runfolio.history.csvfile import CSV_CHUNK_CHARS, csv_chunks
from runfolio.history.values import cell_text
from runfolio.schemas.artifacts import parse_table

PAGE_ROWS = 100  # rows shown per page; the rest are paged by table.js
MAX_EMBEDDED_ROWS = 20_000  # rows sent to the browser for sorting/paging; CSV has all
__all__ = ["CSV_CHUNK_CHARS", "TableView", "cell_text", "csv_lines", "table_view"]


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


def csv_lines(view: TableView) -> Iterator[str]:
    """The table as CSV text (header first, formula-like cells neutralised), in chunks."""
    return csv_chunks(view.columns, view.rows)

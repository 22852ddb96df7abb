"""Table diffs: rows matched on a key column, so reordering rows changes nothing.

Rows whose key cell reads the same are matched in order of appearance (the second
"a" with the second "a"). Matched rows are compared on the columns both versions
have; columns only one version has are listed as added or removed columns instead of
marking every row changed. Cells are compared as they read (`values.cell_text`), so
1 and 1.0 are one number; a row whose JSON values are all equal is unchanged (Python's
equality: `true` and 1 compare equal there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from itertools import repeat
from typing import Any

from pydantic import BaseModel

from runfolio.errors import Invalid
from runfolio.history.values import Table, cell_text

# Rows listed per group (added, removed, changed); the counts always cover every row.
MAX_LISTED_ROWS = 1_000


class RowChange(BaseModel):
    key: str
    before: list[str]  # cells in the order of `TableDiff.columns` ("" where absent)
    after: list[str]
    changed: list[str]  # the columns whose cells differ


class TableCounts(BaseModel):
    added: int
    removed: int
    changed: int
    unchanged: int


class TableDiff(BaseModel):
    key_column: str | None
    columns: list[str]  # the later version's columns, then the ones it dropped
    added_columns: list[str]
    removed_columns: list[str]
    counts: TableCounts
    added: list[list[str]]
    removed: list[list[str]]
    changed: list[RowChange]
    truncated: bool  # some groups list only their first MAX_LISTED_ROWS rows


def choose_key_column(before: Table, after: Table, wanted: str | None) -> str | None:
    """`wanted` when either version has it (else `Invalid`), else the first column."""
    if wanted is not None:
        if wanted not in after.columns and wanted not in before.columns:
            known = ", ".join(dict.fromkeys(after.columns + before.columns)) or "none"
            message = f"no column {wanted!r} in either version (columns: {known})"
            raise Invalid(
                f"key_column: {message}",
                [{"type": "value_error", "loc": ["key_column"], "msg": message, "input": wanted}],
            )
        return wanted
    columns = after.columns or before.columns
    return columns[0] if columns else None


Row = tuple[Any, ...]


def _aligned(table: Table, columns: list[str]) -> Callable[[Row], Row]:
    """A row of `table` as cells in the order of `columns` (None where it has no such column)."""
    if table.columns == columns:
        return lambda row: row
    where = {name: i for i, name in enumerate(table.columns)}
    picks = [where.get(name, -1) for name in columns]
    return lambda row: tuple(row[i] if i >= 0 else None for i in picks)


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]  # it is a str: checked just above
    if kind is int:
        return str(value)
    return cell_text(value)


def diff_tables(before: Table, after: Table, key_column: str | None = None) -> TableDiff:
    key = choose_key_column(before, after, key_column)
    columns = after.columns + [c for c in before.columns if c not in after.columns]
    shared = [i for i, c in enumerate(columns) if c in before.columns and c in after.columns]
    old_cells, new_cells = _aligned(before, columns), _aligned(after, columns)
    same_layout = before.columns == after.columns
    kb = before.columns.index(key) if key in before.columns else -1
    ka = after.columns.index(key) if key in after.columns else -1

    waiting: dict[str, list[int]] = defaultdict(list)  # key -> old rows not matched yet
    count = len(before.rows)
    names = map(_text, (row[kb] for row in before.rows)) if kb >= 0 else repeat("", count)
    for i, name in enumerate(names):
        waiting[name].append(i)
    for pending in waiting.values():
        pending.reverse()  # pop() takes the first occurrence

    added: list[list[str]] = []
    added_count = 0
    changed: list[RowChange] = []
    changed_count = unchanged = 0
    for raw in after.rows:
        name = _text(raw[ka]) if ka >= 0 else ""
        queue = waiting.get(name)
        if not queue:
            added_count += 1
            if len(added) < MAX_LISTED_ROWS:
                added.append([_text(v) for v in new_cells(raw)])
            continue
        was_raw = before.rows[queue.pop()]
        # Equal JSON values first (fast, in C): most rows of a new version did not change.
        # Only the others are read cell by cell, as they show.
        if same_layout and was_raw == raw:
            unchanged += 1
            continue
        was = [_text(v) for v in old_cells(was_raw)]
        now = [_text(v) for v in new_cells(raw)]
        differ = [columns[i] for i in shared if was[i] != now[i]]
        if not differ:
            unchanged += 1
            continue
        changed_count += 1
        if len(changed) < MAX_LISTED_ROWS:
            changed.append(RowChange(key=name, before=was, after=now, changed=differ))
    left = sorted(i for queue in waiting.values() for i in queue)
    removed = [[_text(v) for v in old_cells(before.rows[i])] for i in left[:MAX_LISTED_ROWS]]
    counts = TableCounts(
        added=added_count, removed=len(left), changed=changed_count, unchanged=unchanged
    )
    return TableDiff(
        key_column=key,
        columns=columns,
        added_columns=[c for c in after.columns if c not in before.columns],
        removed_columns=[c for c in before.columns if c not in after.columns],
        counts=counts,
        added=added,
        removed=removed,
        changed=changed,
        truncated=max(added_count, len(left), changed_count) > MAX_LISTED_ROWS,
    )

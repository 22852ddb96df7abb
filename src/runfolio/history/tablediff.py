"""Table diffs: rows matched on a key column, so reordering rows changes nothing.

Rows whose key cell reads the same are matched in order of appearance (the second
"a" with the second "a"). Matched rows are compared on the columns both versions
have; columns only one version has are listed as added or removed columns instead of
marking every row changed. Cells are compared as they read (`values.cell_text`).
"""

from __future__ import annotations

from collections import defaultdict

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


def _texts(table: Table, columns: list[str]) -> list[list[str]]:
    where = {name: i for i, name in enumerate(table.columns)}
    picks = [where.get(name, -1) for name in columns]
    return [[cell_text(row[i]) if i >= 0 else "" for i in picks] for row in table.rows]


def diff_tables(before: Table, after: Table, key_column: str | None = None) -> TableDiff:
    key = choose_key_column(before, after, key_column)
    columns = after.columns + [c for c in before.columns if c not in after.columns]
    shared = [i for i, c in enumerate(columns) if c in before.columns and c in after.columns]
    old, new = _texts(before, columns), _texts(after, columns)
    k = columns.index(key) if key is not None else -1

    waiting: dict[str, list[int]] = defaultdict(list)  # key -> old rows not matched yet
    for i, row in enumerate(old):
        waiting[row[k] if k >= 0 else ""].append(i)
    for queue in waiting.values():
        queue.reverse()  # pop() takes the first occurrence

    added: list[list[str]] = []
    changed: list[RowChange] = []
    unchanged = 0
    for row in new:
        name = row[k] if k >= 0 else ""
        queue = waiting.get(name, [])
        if not queue:
            added.append(row)
            continue
        was = old[queue.pop()]
        differ = [columns[i] for i in shared if was[i] != row[i]]
        if differ:
            changed.append(RowChange(key=name, before=was, after=row, changed=differ))
        else:
            unchanged += 1
    left = sorted(i for queue in waiting.values() for i in queue)
    removed = [old[i] for i in left]
    counts = TableCounts(
        added=len(added), removed=len(removed), changed=len(changed), unchanged=unchanged
    )
    return TableDiff(
        key_column=key,
        columns=columns,
        added_columns=[c for c in after.columns if c not in before.columns],
        removed_columns=[c for c in before.columns if c not in after.columns],
        counts=counts,
        added=added[:MAX_LISTED_ROWS],
        removed=removed[:MAX_LISTED_ROWS],
        changed=changed[:MAX_LISTED_ROWS],
        truncated=max(len(added), len(removed), len(changed)) > MAX_LISTED_ROWS,
    )

"""What changed between two versions of an artifact: one entry point, `diff_data`.

The kind of comparison follows the data: tables by rows, markdown and other text
by lines and words, progress and other numbers as before → after with the delta,
links and images side by side, and anything else (other types, or a version whose
type changed) as a structural JSON diff.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel

from runfolio.errors import Invalid
from runfolio.history.jsondiff import JsonDiff, diff_json
from runfolio.history.tablediff import TableDiff, diff_tables
from runfolio.history.textdiff import TextDiff, diff_text
from runfolio.history.values import as_link, as_number, as_table, decode_json_text

DiffKind = Literal["table", "text", "value", "link", "image", "json"]


class Side(BaseModel):
    """One of the two versions compared."""

    id: uuid.UUID
    number: int | None = None  # its place in the key's timeline (1 = first)
    type: str | None = None
    created: dt.datetime | None = None


class ValueDiff(BaseModel):
    before: float | None
    after: float | None
    delta: float | None  # after - before, when both are numbers


class LinkSide(BaseModel):
    url: str | None
    text: str | None = None


class UrlDiff(BaseModel):
    before: LinkSide
    after: LinkSide


class ArtifactDiff(BaseModel):
    kind: DiffKind
    identical: bool
    summary: str
    note: str | None = None  # why this kind was chosen, when it is not the type's own
    table: TableDiff | None = None
    text: TextDiff | None = None
    value: ValueDiff | None = None
    urls: UrlDiff | None = None
    structure: JsonDiff | None = None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _table_summary(d: TableDiff) -> str:
    c = d.counts
    parts = [f"{c.added:,} added", f"{c.removed:,} removed", f"{c.changed:,} changed"]
    text = ", ".join(parts) + f" ({_plural(c.unchanged, 'row')} unchanged)"
    if d.added_columns or d.removed_columns:
        text += f"; columns added: {', '.join(d.added_columns) or 'none'}"
        text += f", removed: {', '.join(d.removed_columns) or 'none'}"
    return text


def _number_text(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}"


def _value_diff(before: Any, after: Any) -> ArtifactDiff:
    a, b = as_number(before), as_number(after)
    delta = b - a if a is not None and b is not None else None
    sign = "" if delta is None else f" ({delta:+g})"
    same = a == b
    return ArtifactDiff(
        kind="value",
        identical=same,
        summary=f"{_number_text(a)} → {_number_text(b)}{sign}",
        value=ValueDiff(before=a, after=b, delta=delta),
    )


def _url_diff(kind: DiffKind, before: LinkSide, after: LinkSide) -> ArtifactDiff:
    same = before == after
    what = "link" if kind == "link" else "image URL"
    return ArtifactDiff(
        kind=kind,
        identical=same,
        summary=f"The {what} is the same." if same else f"The {what} changed.",
        urls=UrlDiff(before=before, after=after),
    )


def diff_data(
    before_type: str | None,
    before: Any,
    after_type: str | None,
    after: Any,
    *,
    key_column: str | None = None,
) -> ArtifactDiff:
    """Compare `before` with `after` (decoded data, as the API returns it).

    `key_column` names the column that matches table rows (default: the first); it is
    refused (`Invalid`) for data that is not two tables.
    """
    note = None
    if before_type != after_type:
        note = f"The type changed from {before_type or 'none'} to {after_type or 'none'}."
    same_type = before_type == after_type
    if same_type and before_type == "table":
        old, new = as_table(before), as_table(after)
        if old is not None and new is not None:
            table = diff_tables(old, new, key_column)
            c = table.counts
            identical = not (c.added or c.removed or c.changed or table.added_columns)
            identical = identical and not table.removed_columns
            return ArtifactDiff(
                kind="table", identical=identical, summary=_table_summary(table), table=table
            )
        note = "One of the versions is not a table in a known shape."
    if key_column is not None:
        message = "only tables are matched on a key column"
        raise Invalid(
            f"key_column: {message}",
            [{"type": "value_error", "loc": ["key_column"], "msg": message, "input": key_column}],
        )
    numbers = as_number(before) is not None and as_number(after) is not None
    if same_type and (before_type == "progress" or (numbers and not isinstance(before, str))):
        return _value_diff(before, after).model_copy(update={"note": note})
    if same_type and before_type == "image" and isinstance(before, str) and isinstance(after, str):
        return _url_diff("image", LinkSide(url=before), LinkSide(url=after))
    old_link, new_link = as_link(before), as_link(after)
    if same_type and old_link is not None and new_link is not None:
        (a_text, a_url), (b_text, b_url) = old_link, new_link
        return _url_diff("link", LinkSide(url=a_url, text=a_text), LinkSide(url=b_url, text=b_text))
    a, b = decode_json_text(before), decode_json_text(after)
    if isinstance(a, str) and isinstance(b, str):
        text = diff_text(a, b)
        identical = a == b
        summary = (
            "The text is the same."
            if identical
            else (
                f"{_plural(text.added, 'line')} added, {text.removed:,} removed, "
                f"{text.changed:,} changed"
            )
        )
        return ArtifactDiff(kind="text", identical=identical, summary=summary, note=note, text=text)
    structure = diff_json(a, b)
    count = len(structure.changes)
    more = "+" if structure.truncated else ""
    return ArtifactDiff(
        kind="json",
        identical=count == 0,
        summary="The data is the same." if count == 0 else f"{count:,}{more} changes",
        note=note,
        structure=structure,
    )

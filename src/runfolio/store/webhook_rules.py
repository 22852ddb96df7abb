"""Whether an artifact event concerns a webhook: its events, key glob, types and rule.

Judged when the event happens, on the artifact's data as stored then. A rule on
an update fires only when the update makes it hold (it did not before): a
progress bar reaching 100 calls once, not on every later update.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from runfolio.schemas.artifacts import parse_table

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _number(value: Any) -> float | None:
    """A JSON number or text that reads as one (tables often hold "0.93"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _cell(data: Any, column: str | int, row: int) -> tuple[bool, Any]:
    """(found, value) of one cell of table `data` in any of its three shapes."""
    try:
        table = parse_table(data)
    except ValueError:
        return False, None
    if isinstance(table, dict):  # object of lists
        if isinstance(column, int):
            names = list(table)
            if not -len(names) <= column < len(names):
                return False, None
            column = names[column]
        values = table.get(str(column))
        if values is None or not -len(values) <= row < len(values):
            return False, None
        return True, values[row]
    if not -len(table) <= row < len(table):
        return False, None
    record = table[row]
    if isinstance(record, dict):
        if isinstance(column, int):
            names = list(record)
            if not -len(names) <= column < len(names):
                return False, None
            column = names[column]
        return (True, record[column]) if column in record else (False, None)
    if isinstance(column, int) and -len(record) <= column < len(record):
        return True, record[column]
    return False, None


def _table_cell(rule: Mapping[str, Any], data: Any) -> bool:
    found, cell = _cell(data, rule["column"], rule.get("row", -1))
    if not found or cell is None:
        return False
    compare = _OPS[rule["op"]]
    wanted = rule["value"]
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        number = _number(cell)
        return number is not None and compare(number, float(wanted))
    text = cell if isinstance(cell, str) else json.dumps(cell)
    return compare(text, str(wanted))


def rule_holds(rule: Mapping[str, Any] | None, type_: str | None, data: Any) -> bool:
    """Whether the content rule holds for an artifact of `type_` holding `data`."""
    if rule is None:
        return True
    kind = rule.get("kind")
    if kind == "progress_at_least":
        number = _number(data)
        return type_ == "progress" and number is not None and number >= float(rule["value"])
    if kind == "markdown_contains":
        return type_ == "markdown" and isinstance(data, str) and rule["text"] in data
    if kind == "table_cell":
        return type_ == "table" and _table_cell(rule, data)
    return False


def concerns(
    hook: Mapping[Any, Any],
    event: str,
    key: str | None,
    type_: str | None,
    data: Any,
    before: Any = None,
    had_before: bool = False,
) -> bool:
    """Whether `hook` (a webhooks row) wants `event` for this artifact.

    `before`/`had_before`: an update's data before it, so that a rule fires when it
    starts to hold.
    """
    if event not in hook["events"]:
        return False
    pattern = hook["key_pattern"]
    if pattern is not None and (key is None or not fnmatchcase(key, pattern)):
        return False
    types = hook["artifact_types"]
    if types is not None and type_ not in types:
        return False
    rule = hook["rule"]
    if not rule_holds(rule, type_, data):
        return False
    return not (rule is not None and had_before and rule_holds(rule, type_, before))

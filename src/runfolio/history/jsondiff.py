"""A structural diff of two JSON values: the paths where they differ.

Objects are compared key by key and lists position by position; a value whose
type changes is one change at its path. Paths read like `$.metrics[2].name`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

MAX_CHANGES = 1_000
MAX_SHOWN_CHARS = 2_000  # a changed value longer than this as JSON is cut


class JsonChange(BaseModel):
    path: str
    op: Literal["added", "removed", "changed"]
    before: str | None = None  # the value as compact JSON
    after: str | None = None


class JsonDiff(BaseModel):
    changes: list[JsonChange]
    truncated: bool


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "…"


def _member(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name)}]"


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same JSON type (1 and 1.0 are one number; true is not 1)."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return isinstance(a, bool) == isinstance(b, bool) and a == b
    return type(a) is type(b) and a == b


def diff_json(before: Any, after: Any) -> JsonDiff:
    changes: list[JsonChange] = []
    # An explicit stack, not recursion: stored data may nest a couple of hundred levels.
    stack: list[tuple[str, Any, Any]] = [("$", before, after)]
    while stack and len(changes) <= MAX_CHANGES:
        path, a, b = stack.pop()
        if isinstance(a, dict) and isinstance(b, dict):
            for name in reversed([*a, *(n for n in b if n not in a)]):
                where = _member(path, str(name))
                if name not in b:
                    changes.append(JsonChange(path=where, op="removed", before=_shown(a[name])))
                elif name not in a:
                    changes.append(JsonChange(path=where, op="added", after=_shown(b[name])))
                else:
                    stack.append((where, a[name], b[name]))
        elif isinstance(a, list) and isinstance(b, list):
            for i in reversed(range(max(len(a), len(b)))):
                where = f"{path}[{i}]"
                if i >= len(b):
                    changes.append(JsonChange(path=where, op="removed", before=_shown(a[i])))
                elif i >= len(a):
                    changes.append(JsonChange(path=where, op="added", after=_shown(b[i])))
                else:
                    stack.append((where, a[i], b[i]))
        elif not _same(a, b):
            changes.append(JsonChange(path=path, op="changed", before=_shown(a), after=_shown(b)))
    changes.sort(key=lambda c: c.path)
    truncated = len(changes) > MAX_CHANGES
    return JsonDiff(changes=changes[:MAX_CHANGES], truncated=truncated)

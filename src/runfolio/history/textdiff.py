"""Text (markdown) diffs: changed lines, and within a changed line the changed words.

difflib's matcher pairs the lines; a replaced block pairs its lines in order, and
each pair is diffed again word by word, so one edited word marks that word only.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel

LineOp = Literal["same", "added", "removed", "changed"]
# Words, runs of white space, and single other characters: punctuation is its own token.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
# Lines longer than this are marked whole: the word pass is quadratic in the worst case.
MAX_WORD_DIFF_LINE_CHARS = 5_000


class Span(BaseModel):
    text: str
    changed: bool = False


class TextLine(BaseModel):
    op: LineOp
    before_no: int | None = None  # 1-based line numbers, None on the side without the line
    after_no: int | None = None
    before: list[Span] = []
    after: list[Span] = []


class TextDiff(BaseModel):
    lines: list[TextLine]
    added: int
    removed: int
    changed: int


def _words(before: str, after: str) -> tuple[list[Span], list[Span]]:
    if len(before) > MAX_WORD_DIFF_LINE_CHARS or len(after) > MAX_WORD_DIFF_LINE_CHARS:
        return [Span(text=before, changed=True)], [Span(text=after, changed=True)]
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    left: list[Span] = []
    right: list[Span] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        changed = op != "equal"
        if i2 > i1:
            _append(left, "".join(a[i1:i2]), changed)
        if j2 > j1:
            _append(right, "".join(b[j1:j2]), changed)
    return left, right


def _append(spans: list[Span], text: str, changed: bool) -> None:
    if spans and spans[-1].changed == changed:
        spans[-1] = Span(text=spans[-1].text + text, changed=changed)
    else:
        spans.append(Span(text=text, changed=changed))


def diff_text(before: str, after: str) -> TextDiff:
    """Line by line; a line edited in place is `changed`, with its changed words marked."""
    a, b = before.splitlines(), after.splitlines()
    lines: list[TextLine] = []
    counts = {"added": 0, "removed": 0, "changed": 0}
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                text = [Span(text=a[i1 + k])]
                lines.append(
                    TextLine(
                        op="same",
                        before_no=i1 + k + 1,
                        after_no=j1 + k + 1,
                        before=text,
                        after=text,
                    )  # fmt: skip
                )
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(paired):
            left, right = _words(a[i1 + k], b[j1 + k])
            lines.append(
                TextLine(
                    op="changed",
                    before_no=i1 + k + 1,
                    after_no=j1 + k + 1,
                    before=left,
                    after=right,
                )  # fmt: skip
            )
        for i in range(i1 + paired, i2):
            lines.append(TextLine(op="removed", before_no=i + 1, before=[Span(text=a[i])]))
        for j in range(j1 + paired, j2):
            lines.append(TextLine(op="added", after_no=j + 1, after=[Span(text=b[j])]))
        counts["changed"] += paired
        counts["removed"] += i2 - i1 - paired
        counts["added"] += j2 - j1 - paired
    return TextDiff(lines=lines, **counts)

"""Tables as CSV text, safe to open in a spreadsheet, written in chunks.

One rule for every CSV runfolio writes (the UI's table.csv and the exports): a
text cell that starts like a formula (= + - @, tab, carriage return) gets a
leading apostrophe, so spreadsheet programs show it instead of running it;
numbers such as -3 stay as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_CHUNK_CHARS = 64 * 1024


def csv_safe(text: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (numbers stay as they are)."""
    if text.startswith(_FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def csv_chunks(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """The table as CSV text (header first), in chunks of whole lines of ~CSV_CHUNK_CHARS.

    Many rows per chunk: a streaming response moves each item of a sync
    iterator through the thread pool, so one item per row made a large export slow.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()

"""Downloads: one artifact version in its natural file format, and a key's whole
history as one zip archive.

    markdown        .md (the text as stored), or .json; one link: .json (with `url`) or .md
    table           .csv (formula-like cells neutralised, see csvfile) or .json (the rows)
    anything else   .json: the version's record, its data decoded; a link also gets `url`

Everything is produced in chunks, so a large table or a long history is streamed
rather than built as one string.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from runfolio.errors import Invalid
from runfolio.history.csvfile import CSV_CHUNK_CHARS, csv_chunks
from runfolio.history.values import as_link, as_table, cell_text
from runfolio.schemas.artifacts import Artifact

Format = Literal["md", "csv", "json"]
FORMATS: tuple[Format, ...] = ("md", "csv", "json")
MEDIA_TYPES: dict[Format, str] = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_STEM_CHARS = 120


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    media_type: str
    chunks: Iterator[str]


def formats_for(artifact: Artifact) -> tuple[Format, ...]:
    """The formats `artifact` downloads as, its natural one first."""
    if artifact.type == "table" and as_table(artifact.data) is not None:
        return ("csv", "json")
    if artifact.type == "markdown" and isinstance(artifact.data, str):
        # A link is a URL first: its record (with `url`) is what a reader wants.
        return ("json", "md") if as_link(artifact.data) else ("md", "json")
    return ("json",)


def safe_stem(artifact: Artifact) -> str:
    """A file name stem any file system and any Content-Disposition header accept."""
    stem = _UNSAFE.sub("_", artifact.key or str(artifact.id))[:MAX_STEM_CHARS]
    return stem.strip("._") or str(artifact.id)


def choose_format(artifact: Artifact, wanted: str | None) -> Format:
    allowed = formats_for(artifact)
    if wanted is None:
        return allowed[0]
    for fmt in allowed:
        if fmt == wanted:
            return fmt
    message = f"a {artifact.type or 'typeless'} artifact downloads as {', '.join(allowed)}"
    raise Invalid(
        f"format: {message}",
        [{"type": "value_error", "loc": ["format"], "msg": message, "input": wanted}],
    )


def _record(artifact: Artifact) -> dict[str, Any]:
    record = artifact.model_dump(mode="json")
    link = as_link(artifact.data) if artifact.type == "markdown" else None
    if link is not None:
        record["link_text"], record["url"] = link
    elif artifact.type == "image" and isinstance(artifact.data, str):
        record["url"] = artifact.data
    return record


def _json_rows(rows: Iterable[Any]) -> Iterator[str]:
    """A list of rows as JSON text, a chunk of rows at a time."""
    parts = ["["]
    size = 1
    for i, row in enumerate(rows):
        text = ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False, allow_nan=True)
        parts.append(text)
        size += len(text)
        if size >= CSV_CHUNK_CHARS:
            yield "".join(parts)
            parts, size = [], 0
    parts.append("\n]\n")
    yield "".join(parts)


def chunks(artifact: Artifact, fmt: Format) -> Iterator[str]:
    """`artifact` as `fmt` (one of `formats_for(artifact)`), in chunks."""
    if fmt == "md":
        yield artifact.data if isinstance(artifact.data, str) else ""
        return
    table = as_table(artifact.data) if artifact.type == "table" else None
    if fmt == "csv":
        if table is None:
            raise Invalid("format: only tables download as csv")
        yield from csv_chunks(table.columns, ([cell_text(v) for v in row] for row in table.rows))
        return
    if table is not None:
        if table.shape == "lists":  # a table of lists stays one: its columns have no names
            yield from _json_rows(list(row) for row in table.rows)
        else:  # rows as objects, whatever the shape: what a JSON reader expects of a table
            yield from _json_rows(dict(zip(table.columns, row, strict=True)) for row in table.rows)
        return
    yield json.dumps(_record(artifact), ensure_ascii=False, indent=2, allow_nan=True) + "\n"


def download(artifact: Artifact, wanted: str | None = None) -> Download:
    """`artifact` as a file: in `wanted` format, default its natural one (`Invalid` when
    it does not download as `wanted`)."""
    fmt = choose_format(artifact, wanted)
    return Download(f"{safe_stem(artifact)}.{fmt}", MEDIA_TYPES[fmt], chunks(artifact, fmt))


class _Sink:
    """Where zipfile writes: bytes wait here until the stream takes them.

    zipfile writes to an unseekable file by putting each entry's sizes after its data,
    so the archive can go out while it is being made."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


@dataclass(frozen=True, slots=True)
class Numbered:
    number: int  # the version's place in the key's timeline
    artifact: Artifact


def history_zip(key: str, versions: Iterable[Numbered]) -> Iterator[bytes]:
    """A zip of every version (oldest first, each in its natural format) and a
    manifest.json listing them, produced as it is read."""
    sink = _Sink()
    manifest: list[dict[str, Any]] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in versions:
            artifact = entry.artifact
            fmt = formats_for(artifact)[0]
            name = f"v{entry.number:04d}-{artifact.id}.{fmt}"
            info = zipfile.ZipInfo(name, date_time=artifact.created.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                for chunk in chunks(artifact, fmt):
                    member.write(chunk.encode("utf-8"))
                    if len(sink.parts) > 16:
                        yield sink.take()
            manifest.append(
                {
                    "version": entry.number,
                    "id": str(artifact.id),
                    "created": artifact.created.isoformat(),
                    "type": artifact.type,
                    "description": artifact.description,
                    "metadata_": artifact.metadata_,
                    "flow_run_id": str(artifact.flow_run_id) if artifact.flow_run_id else None,
                    "task_run_id": str(artifact.task_run_id) if artifact.task_run_id else None,
                    "file": name,
                    "format": fmt,
                }
            )
            yield sink.take()
        body = {"key": key, "versions": manifest}
        archive.writestr("manifest.json", json.dumps(body, ensure_ascii=False, indent=2))
    yield sink.take()

"""`runfolio artifact diff | export`: compare two versions of a key, download artifacts.

Versions are named as on the UI's timeline: a number (1 = the key's first version),
or an artifact id. The diff and the file formats are `runfolio.history`'s, the same
as the UI's; the data comes through the client (the local store or a server).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from runfolio.cli._common import OutputOption, connect, dump_json, fail, fetch_pages, is_json, note
from runfolio.cli._diffview import show
from runfolio.client import RunfolioClient
from runfolio.errors import NotFound
from runfolio.history import export as exporting
from runfolio.history.diff import diff_data
from runfolio.schemas.artifacts import Artifact
from runfolio.schemas.bodies import ArtifactCountBody, ArtifactFilterBody
from runfolio.schemas.filters import ArtifactFilter, KeyFilter
from runfolio.schemas.sorting import ArtifactSort

VersionOption = Annotated[
    str | None,
    typer.Option(metavar="V", help="A version number as on the timeline (1 = the first) or an id."),
]
PAGE = 100


def _of_key(key: str) -> ArtifactFilter:
    return ArtifactFilter(key=KeyFilter(any_=[key]))


def _count(client: RunfolioClient, key: str) -> int:
    return client.count_artifacts(ArtifactCountBody(artifacts=_of_key(key)))


def _newest_first(
    client: RunfolioClient, key: str, limit: int | None, offset: int
) -> list[Artifact]:
    return client.filter_artifacts(
        ArtifactFilterBody(
            artifacts=_of_key(key), limit=limit, offset=offset, sort=ArtifactSort.CREATED_DESC
        )
    )


def _number_of(client: RunfolioClient, key: str, artifact_id: uuid.UUID, total: int) -> int:
    """The timeline number of one of `key`'s versions (found page by page, newest first)."""
    for offset in range(0, total, PAGE):
        for i, version in enumerate(_newest_first(client, key, PAGE, offset)):
            if version.id == artifact_id:
                return total - offset - i
    fail(f"Artifact '{key}' has no version with id {artifact_id}.")


def _version(
    client: RunfolioClient, key: str, spec: str, total: int, option: str
) -> tuple[Artifact, int]:
    spec = spec.strip()
    if spec.isascii() and spec.isdigit():
        number = int(spec)
        if not 1 <= number <= total:
            fail(f"Artifact '{key}' has no version {number}: its versions are 1 to {total}.")
        found = _newest_first(client, key, 1, total - number)
        if not found:
            fail(f"Artifact '{key}' has no version {number}.")
        return found[0], number
    try:
        artifact_id = uuid.UUID(spec)
    except ValueError:
        fail(f"Invalid value for {option}: {spec!r} is neither a version number nor an id.")
    try:
        artifact = client.read_artifact(artifact_id)
    except NotFound:
        fail(f"Artifact with id '{artifact_id}' not found.")
    if artifact.key != key:
        fail(f"Artifact {artifact_id} is not a version of '{key}'.")
    return artifact, _number_of(client, key, artifact_id, total)


def diff(
    key: Annotated[str, typer.Argument(help="The artifact key.", show_default=False)],
    before: Annotated[
        str | None,
        typer.Option("--from", metavar="V", help="The older side (default: the one before)."),
    ] = None,
    after: Annotated[
        str | None, typer.Option("--to", metavar="V", help="The newer side (default: the latest).")
    ] = None,
    key_column: Annotated[
        str | None,
        typer.Option(
            "--key-column",
            metavar="COL",
            help="Match table rows on this column (default: first).",
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Compare two versions of an artifact key (default: the latest with the one before).

    V is a version number as the UI's timeline shows it (1 is the key's first
    version) or an artifact id. Tables are compared row by row, rows matched on a key
    column (so reordered rows are no change); markdown line by line with the changed
    words marked; progress and other numbers as before → after with the difference;
    anything else as a structural diff of its JSON.

    [bold]Examples[/bold]

      runfolio artifact diff my-report

      runfolio artifact diff scores --from 1 --to 3 --key-column name

      runfolio artifact diff scores --output json | jq '.diff.table.counts'
    """
    with connect() as client:
        total = _count(client, key)
        if total == 0:
            fail(f"Artifact '{key}' not found.")
        new, new_number = (
            _version(client, key, after, total, "--to")
            if after
            else (_newest_first(client, key, 1, 0)[0], total)
        )
        if before:
            old, old_number = _version(client, key, before, total, "--from")
        else:
            old_number = max(new_number - 1, 1)
            old = _newest_first(client, key, 1, total - old_number)[0]
        result = diff_data(old.type, old.data, new.type, new.data, key_column=key_column)
    if is_json(output):
        sides = [
            {"number": n, "id": str(a.id), "type": a.type, "created": a.created.isoformat()}
            for n, a in ((old_number, old), (new_number, new))
        ]
        dump_json(
            {"key": key, "from": sides[0], "to": sides[1], "diff": result.model_dump(mode="json")}
        )
        return
    show(f"{key}: v{old_number} → v{new_number}", result)


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", metavar="md|csv|json|zip",
        help="The file format (default: the artifact's natural one; zip: every version of KEY).",
    ),
]  # fmt: skip


def _target(path: str | None, filename: str) -> Path | None:
    """Where to write: PATH, a file named `filename` inside PATH when it is a folder, the
    current folder by default; None for standard output (`-o -`)."""
    if path == "-":
        return None
    if path is None:
        return Path(filename)
    target = Path(path)
    return target / filename if target.is_dir() else target


def _write(target: Path | None, chunks: Iterator[bytes]) -> None:
    if target is None:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"Cannot write {target}: {exc}")
    except BaseException:  # a failed read, or Ctrl-C: no half-written file is left behind
        partial.unlink(missing_ok=True)
        raise
    note(f"Wrote {target} ({target.stat().st_size:,} bytes).")


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")


def _history(client: RunfolioClient, key: str) -> list[exporting.Numbered]:
    """Every version of `key`, oldest first (before any file is opened: a missing key
    writes nothing)."""
    versions = fetch_pages(lambda n, offset: _newest_first(client, key, n, offset), None)
    if not versions:
        fail(f"Artifact '{key}' not found.")
    return [exporting.Numbered(n, a) for n, a in enumerate(reversed(versions), start=1)]


def export(
    key: Annotated[
        str | None,
        typer.Argument(help="The key (its latest version).", show_default=False),
    ] = None,
    artifact_id: Annotated[
        str | None, typer.Option("--id", metavar="ID", help="Export this version instead.")
    ] = None,
    fmt: FormatOption = None,
    path: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="The file (or folder) to write; - for standard output. Default: a file "
            "named after the key in the current folder.",
        ),
    ] = None,
) -> None:
    """Download an artifact in its natural format, or a key's whole history as a zip.

    Markdown is written as .md, tables as .csv (cells that would start a spreadsheet
    formula get a leading ') or .json, links, images, progress and anything else as
    .json. --format zip writes every version of KEY, one file each, and a
    manifest.json listing them.

    [bold]Examples[/bold]

      runfolio artifact export my-report

      runfolio artifact export scores --format json -o scores.json

      runfolio artifact export scores --format zip -o backups/

      runfolio artifact export --id 0190c5e2-7b1c-7d3e-8f00-5a1b2c3d4e5f -o -
    """
    if (key is None) == (artifact_id is None):
        fail("Please provide either a key or an artifact id (--id).")
    if fmt is not None and fmt not in (*exporting.FORMATS, "zip"):
        fail(f"Invalid value for --format: {fmt!r} (use md, csv, json or zip).")
    with connect() as client:
        if fmt == "zip":
            if key is None:
                fail("--format zip exports a key's every version: give a KEY, not --id.")
            chunks = exporting.history_zip(key, iter(_history(client, key)))
            _write(_target(path, f"{exporting.safe_stem(_stem(key))}-history.zip"), chunks)
            return
        if artifact_id is not None:
            try:
                artifact = client.read_artifact(_uuid(artifact_id))
            except NotFound:
                fail(f"Artifact with id '{artifact_id}' not found.")
        else:
            assert key is not None
            try:
                artifact = client.read_latest_artifact(key)
            except NotFound:
                fail(f"Artifact '{key}' not found.")
        found = exporting.download(artifact, fmt)
        _write(_target(path, found.filename), _encoded(found.chunks))


def _stem(key: str) -> Artifact:
    return Artifact.model_construct(id=uuid.UUID(int=0), key=key)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"Invalid value for --id: {value!r} is not a UUID.")

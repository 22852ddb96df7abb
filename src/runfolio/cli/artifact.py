"""`runfolio artifact ls | inspect | delete`: browse and remove artifacts from a terminal."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runfolio.cli import history
from runfolio.cli._common import (
    OutputOption,
    connect,
    dump_json,
    fail,
    fetch_pages,
    is_json,
    limit_option,
    note,
    parse_uuid,
    succeed,
)
from runfolio.cli._format import EMPTY, WIDE, excerpt, make_table, when_cell
from runfolio.client import RunfolioClient
from runfolio.errors import NotFound
from runfolio.schemas.artifacts import Artifact, ArtifactCollection
from runfolio.schemas.bodies import (
    ArtifactCountBody,
    ArtifactFilterBody,
    CollectionCountBody,
    CollectionFilterBody,
)
from runfolio.schemas.filters import ArtifactFilter, KeyFilter
from runfolio.schemas.sorting import ArtifactSort

app = typer.Typer(
    help="List, inspect and delete artifacts.\n\n"
    "Example: runfolio artifact ls --all; runfolio artifact inspect my-report",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

Row = Artifact | ArtifactCollection


def _by_key(items: Sequence[Row]) -> list[Row]:
    """Sorted by key (keyless first, as the server sorts), newest version first within a key."""
    newest_first = sorted(items, key=lambda a: a.created, reverse=True)
    return sorted(newest_first, key=lambda a: (a.key is not None, a.key or ""))


def _of_key(key: str) -> ArtifactFilter:
    return ArtifactFilter(key=KeyFilter(any_=[key]))


def _table(rows: Sequence[Row], title: str, wide: bool) -> Table:
    table = make_table(title)
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("Key", overflow="fold")
    table.add_column("Type")
    table.add_column("Updated (UTC)" if wide else "Updated")
    if wide:
        table.add_column("Description", overflow="fold", min_width=12)
    for row in rows:
        row_id = row.latest_id if isinstance(row, ArtifactCollection) else row.id
        cells: list[str | Text] = [
            str(row_id),
            Text(row.key) if row.key is not None else Text("(no key)", style="dim"),
            Text(row.type or EMPTY),
            when_cell(row.updated, wide),
        ]
        if wide:
            cells.append(Text(excerpt(row.description)))
        table.add_row(*cells)
    return table


def _fetch(client: RunfolioClient, all_versions: bool, limit: int) -> tuple[list[Row], int]:
    """Up to `limit` rows sorted by key, and how many there are in all."""
    rows: Sequence[Row]
    if all_versions:
        rows = fetch_pages(
            lambda n, offset: client.filter_artifacts(
                ArtifactFilterBody(limit=n, offset=offset, sort=ArtifactSort.KEY_ASC)
            ),
            limit,
        )
        total = client.count_artifacts(ArtifactCountBody()) if len(rows) >= limit else len(rows)
    else:
        rows = fetch_pages(
            lambda n, offset: client.filter_latest_artifacts(
                CollectionFilterBody(limit=n, offset=offset, sort=ArtifactSort.KEY_ASC)
            ),
            limit,
        )
        full = len(rows) >= limit
        total = client.count_latest_artifacts(CollectionCountBody()) if full else len(rows)
    return _by_key(rows), total


@app.command("ls")
def ls(
    limit: Annotated[int, limit_option("How many rows to show at most.")] = 100,
    all_versions: Annotated[
        bool, typer.Option("--all", "-a", help="List every version, keyless ones too.")
    ] = False,
    output: OutputOption = None,
) -> None:
    """List artifacts: the latest version of each key, sorted by key.

    With --all, every version of every key, and artifacts without a key, are listed.
    The ID column is the id of the version shown (give it to `delete --id`).

    [bold]Examples[/bold]

      runfolio artifact ls

      runfolio artifact ls --all --limit 500

      runfolio artifact ls --output json | jq '.[].key'
    """
    with connect() as client:
        rows, count = _fetch(client, all_versions, limit)
    if is_json(output):
        dump_json([row.model_dump(mode="json") for row in rows])
        return
    what = "artifact versions" if all_versions else "artifact keys"
    if not rows:
        typer.echo(f"No {what} found.")
        return
    console = Console()
    title = "Artifacts (all versions)" if all_versions else "Artifacts"
    console.print(_table(rows, title, wide=console.width >= WIDE))
    if count > len(rows):
        note(f"Showing {len(rows)} of {count} {what}; use --limit to see more.")


@app.command("inspect")
def inspect(
    key: Annotated[str, typer.Argument(help="The artifact key.", show_default=False)],
    limit: Annotated[int, limit_option("How many versions to show at most.")] = 10,
    output: OutputOption = None,
) -> None:
    """Show every version of an artifact key as JSON, newest first.

    Pretty-printed by default; --output json prints compact JSON on one line.

    [bold]Examples[/bold]

      runfolio artifact inspect my-report

      runfolio artifact inspect my-report --limit 1 --output json | jq '.[0].data'
    """
    with connect() as client:
        versions = fetch_pages(
            lambda n, offset: client.filter_artifacts(
                ArtifactFilterBody(
                    artifacts=_of_key(key), limit=n, offset=offset, sort=ArtifactSort.UPDATED_DESC
                )
            ),
            limit,
        )
        if not versions:
            fail(f"Artifact '{key}' not found.")
        count = (
            client.count_artifacts(ArtifactCountBody(artifacts=_of_key(key)))
            if len(versions) >= limit
            else len(versions)
        )
    payload = [version.model_dump(mode="json") for version in versions]
    if is_json(output):
        dump_json(payload)
        return
    Console().print_json(data=payload, indent=2)
    if count > len(versions):
        note(f"Showing {len(versions)} of {count} versions; use --limit to see more.")


def _confirm(question: str, yes: bool) -> None:
    """Ask on stdin (even when it is not a terminal); anything but yes aborts."""
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # end of input: no answer is a no
        agreed = False
    if not sys.stdin.isatty():  # the answer was not echoed: end the prompt's line
        typer.echo("", err=True)
    if not agreed:
        fail("Deletion aborted.")


def _delete_by_id(client: RunfolioClient, artifact_id: uuid.UUID, yes: bool) -> None:
    missing = f"Artifact with id '{artifact_id}' not found."
    try:
        artifact = client.read_artifact(artifact_id)
    except NotFound:
        fail(missing)
    of_key = f" (a version of key '{artifact.key}')" if artifact.key is not None else ""
    _confirm(f"Are you sure you want to delete artifact with id '{artifact_id}'{of_key}?", yes)
    try:
        client.delete_artifact(artifact_id)
    except NotFound:
        fail(missing)
    succeed(f"Deleted artifact with id '{artifact_id}'.")


def _delete_key(client: RunfolioClient, key: str, yes: bool) -> None:
    # Every version, page by page (not only the first page of the server's limit).
    ids = [
        artifact.id
        for artifact in fetch_pages(
            lambda n, offset: client.filter_artifacts(
                ArtifactFilterBody(
                    artifacts=_of_key(key), limit=n, offset=offset, sort=ArtifactSort.ID_DESC
                )
            ),
            None,
        )
    ]
    if not ids:
        fail(f"Artifact with key '{key}' not found. You can also delete by id with --id.")
    _confirm(f"Are you sure you want to delete {len(ids)} artifact(s) with key '{key}'?", yes)
    deleted = 0
    for artifact_id in ids:
        try:
            client.delete_artifact(artifact_id)
        except NotFound:  # removed by someone else meanwhile
            continue
        deleted += 1
    succeed(f"Deleted {deleted} artifact(s) with key '{key}'.")


@app.command("delete")
def delete(
    key: Annotated[
        str | None,
        typer.Argument(help="Delete every version of this key.", show_default=False),
    ] = None,
    artifact_id: Annotated[
        str | None,
        typer.Option("--id", metavar="ID", help="Delete only the version with this id."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every version of an artifact key, or one version by --id.

    Asks for confirmation first, reading the answer from standard input even
    when it is not a terminal, so a script never deletes by accident; --yes
    skips the question.

    [bold]Examples[/bold]

      runfolio artifact delete my-report

      runfolio artifact delete --id 0190c5e2-7b1c-7d3e-8f00-5a1b2c3d4e5f --yes
    """
    if key is None and artifact_id is None:
        fail("Please provide a key or an artifact id (--id).")
    if key is not None and artifact_id is not None:
        fail("Please provide either a key or an artifact id (--id), not both.")
    target = parse_uuid(artifact_id, "artifact id") if artifact_id is not None else None
    with connect() as client:
        if target is not None:
            _delete_by_id(client, target, yes)
        else:
            assert key is not None
            _delete_key(client, key, yes)


# Comparing versions and downloading (runfolio.cli.history).
app.command("diff")(history.diff)
app.command("export")(history.export)

"""`runfolio retention set | ls | rm` and `runfolio gc`: how long versions are kept, and
a retention pass by hand.

Like `runfolio db` and the other admin commands, they work on the database itself
(RUNFOLIO_DATABASE_URL, else the SQLite file in RUNFOLIO_HOME) as its admin; a
remote server's policies are managed through its API (/api/retention/policies).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from runfolio.cli._admin import database
from runfolio.cli._common import OutputOption, dump_json, fail, is_json, note, succeed
from runfolio.cli._format import exact, make_table
from runfolio.humanize import iso
from runfolio.schemas.retention import PATTERN_MAX, RetentionPolicy, RetentionPolicySet
from runfolio.settings import load_settings
from runfolio.store import retention, workspaces
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.engine import read, write
from runfolio.store.retention_pass import PassReport, run_pass
from runfolio.store.space import vacuum

app = typer.Typer(
    help="Retention policies: how many versions of which keys are kept, and for how long "
    "(on the database itself, as its admin).\n\n"
    "Example: runfolio retention set 'nightly-*' --keep-last 30 --keep-days 90",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

WorkspaceOption = Annotated[
    str,
    typer.Option("--workspace", metavar="ACCOUNT/NAME", help="The workspace (default: default)."),
]
# The pause between a pass's write transactions when other processes may be writing:
# long enough for a writer waiting in SQLite's busy handler to get its turn.
CLI_PAUSE = 0.05


def _policy_json(policy: RetentionPolicy) -> dict[str, Any]:
    return {
        "key_pattern": policy.key_pattern,
        "keep_last": policy.keep_last,
        "keep_days": policy.keep_days,
        "created": iso(policy.created),
        "updated": iso(policy.updated),
    }


def _rules(policy: RetentionPolicy) -> str:
    parts = []
    if policy.keep_last is not None:
        parts.append(f"the last {policy.keep_last}")
    if policy.keep_days is not None:
        parts.append(f"those younger than {policy.keep_days:g} days")
    return "keeps " + " and ".join(parts) + " (and always the latest)"


@app.command("set")
def set_(
    pattern: Annotated[
        str,
        typer.Argument(
            metavar="PATTERN",
            help="Keys it applies to: a key, or a glob with * and ? ('*' for every key).",
            show_default=False,
        ),
    ],
    keep_last: Annotated[
        int | None, typer.Option("--keep-last", metavar="N", help="Keep the N newest versions.")
    ] = None,
    keep_days: Annotated[
        float | None,
        typer.Option("--keep-days", metavar="D", help="Keep the versions younger than D days."),
    ] = None,
    workspace: WorkspaceOption = "default",
) -> None:
    """Set the retention policy of a key pattern (replacing its old one).

    A version is kept when either rule keeps it; a key's latest version is always
    kept. Where several patterns match a key, the most specific wins: an exact key,
    then the pattern with more literal characters, then fewer '*'.

    [bold]Examples[/bold]

      runfolio retention set '*' --keep-last 100

      runfolio retention set 'nightly-*' --keep-last 30 --keep-days 90 --workspace acme/team
    """
    if keep_last is None and keep_days is None:
        fail("Policy not set: give --keep-last N, --keep-days D or both.")
    try:
        action = RetentionPolicySet(key_pattern=pattern, keep_last=keep_last, keep_days=keep_days)
    except ValidationError as exc:
        problems = "; ".join(_problem(err["loc"], err["msg"]) for err in exc.errors())
        fail(f"Policy not set: {problems}. Nothing was changed.")
    with database() as engine, write(engine) as conn:
        place = workspaces.find(conn, workspace)
        policy, created = retention.set_policy(conn, place.id, action)
    verb = "Set" if created else "Changed"
    succeed(f"{verb} the policy of {policy.key_pattern!r} in {place.path}: {_rules(policy)}.")


_OPTIONS = {"key_pattern": "PATTERN", "keep_last": "--keep-last", "keep_days": "--keep-days"}
_PATTERN_RULE = (
    f"1 to {PATTERN_MAX} lowercase letters, digits, dashes, * (any run of characters) "
    "and ? (one character)"
)


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    field = str(loc[0]) if loc else ""
    if field == "key_pattern":
        message = _PATTERN_RULE
    return f"{_OPTIONS.get(field, field)}: {message}"


@app.command("ls")
def ls(workspace: WorkspaceOption = "default", output: OutputOption = None) -> None:
    """List a workspace's retention policies, the most specific pattern first.

    Example: runfolio retention ls --output json
    """
    with database() as engine, read(engine) as conn:
        place = workspaces.find(conn, workspace)
        policies = retention.list_policies(conn, place.id)
    if is_json(output):
        dump_json([_policy_json(policy) for policy in policies])
        return
    if not policies:
        typer.echo(f"No retention policies in {place.path}: every version is kept.")
        return
    table = make_table(f"Retention policies of {place.path}")
    for column in ("Pattern", "Keep last", "Keep days", "Updated (UTC)"):
        table.add_column(column)
    for policy in policies:
        table.add_row(
            policy.key_pattern,
            "" if policy.keep_last is None else str(policy.keep_last),
            "" if policy.keep_days is None else f"{policy.keep_days:g}",
            exact(policy.updated),
        )
    Console().print(table)


@app.command("rm")
def rm(
    pattern: Annotated[
        str, typer.Argument(metavar="PATTERN", help="The policy's pattern.", show_default=False)
    ],
    workspace: WorkspaceOption = "default",
) -> None:
    """Remove the retention policy of a pattern (its keys then follow the next
    matching pattern, or keep every version).

    Example: runfolio retention rm 'nightly-*'
    """
    with database() as engine, write(engine) as conn:
        place = workspaces.find(conn, workspace)
        retention.remove_policy(conn, place.id, pattern)
    succeed(f"Removed the policy of {pattern!r} in {place.path}.")


def _report_json(report: PassReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "versions_deleted": report.versions_deleted,
        "keys_touched": report.keys_touched,
        "blobs_deleted": report.blobs_deleted,
        "blob_bytes_freed": report.blob_bytes_freed,
        "seconds": round(report.seconds, 3),
        "keys": [
            {
                "workspace": outcome.workspace,
                "key": outcome.key,
                "policy": outcome.pattern,
                "versions": outcome.versions,
                "deleted": outcome.deleted,
                "deleted_versions": [
                    {"id": str(version_id), "created": iso(created)}
                    for version_id, created in outcome.listed
                ],
            }
            for outcome in report.keys
        ],
    }


def _print_report(report: PassReport) -> None:
    verb = "would be deleted" if report.dry_run else "deleted"
    if not report.keys:
        typer.echo("Nothing to delete: every version is kept by its key's policy.")
    else:
        table = make_table("Would go (dry run)" if report.dry_run else "Deleted")
        for column in ("Workspace", "Key", "Policy", "Versions", "Deleted"):
            table.add_column(column, overflow="fold")
        if report.dry_run:
            table.add_column("Which (oldest first)", overflow="fold")
        for outcome in report.keys:
            row = [
                outcome.workspace,
                outcome.key,
                outcome.pattern,
                str(outcome.versions),
                str(outcome.deleted),
            ]
            if report.dry_run:
                # The versions that go are always a key's oldest: v1 to vN.
                first, last = outcome.listed[0][1], outcome.listed[-1][1]
                row.append(f"v1–v{outcome.deleted}, made {exact(first)} to {exact(last)}")
            table.add_row(*row)
        Console().print(table)
    summary = (
        f"{report.versions_deleted} version(s) of {len(report.keys)} key(s) {verb} "
        f"in {report.seconds:.2f} s."
    )
    if report.blobs_deleted is not None:
        summary += (
            f" Unreferenced blobs deleted: {report.blobs_deleted} "
            f"({report.blob_bytes_freed or 0} bytes freed)."
        )
    if report.dry_run:
        typer.echo(summary)
    else:
        succeed(summary)


def gc(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List what would be deleted, per key; change nothing."),
    ] = False,
    vacuum_file: Annotated[
        bool,
        typer.Option(
            "--vacuum",
            help="Then compact the SQLite file (VACUUM) so it shrinks on disk; it holds the "
            "write lock while it rewrites the file.",
        ),
    ] = False,
    output: OutputOption = None,
) -> None:
    """Apply the retention policies now: delete the versions they no longer keep, then the
    uploaded blobs no version refers to, and report what was freed.

    [bold]Examples[/bold]

      runfolio gc --dry-run

      runfolio gc --vacuum
    """
    if dry_run and vacuum_file:
        fail("--dry-run changes nothing, so it cannot --vacuum: give one or the other.")
    settings = load_settings()
    files = None if dry_run else BlobFiles(settings.resolved_blob_dir(), settings.blob_max_bytes)
    with database() as engine:
        report = run_pass(engine, dry_run=dry_run, pause=CLI_PAUSE, blob_files=files)
        shrunk = vacuum(engine) if vacuum_file else None
    if is_json(output):
        payload = _report_json(report)
        if shrunk is not None:
            payload["bytes_before"] = shrunk.bytes_before
            payload["bytes_after"] = shrunk.bytes_after
        dump_json(payload)
        return
    _print_report(report)
    if vacuum_file:
        if shrunk is None:
            note("--vacuum: not a SQLite file; PostgreSQL reclaims space by its autovacuum.")
        else:
            freed = shrunk.bytes_before - shrunk.bytes_after
            succeed(
                f"Vacuumed the database file: {shrunk.bytes_before:,} bytes before, "
                f"{shrunk.bytes_after:,} after ({freed:,} freed)."
            )

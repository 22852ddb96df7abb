"""`runfolio webhook create | ls | rm | test | deliveries`: a workspace's webhooks, on the
database itself (as its admin, like `runfolio key`).

The calls are made by the server (`runfolio server start`) on that database: a
delivery queued here, by `test` or by an artifact write, is sent by it.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine

from runfolio.cli._admin import database
from runfolio.cli._common import OutputOption, dump_json, fail, is_json, parse_uuid, succeed
from runfolio.cli._format import excerpt, make_table, when_cell
from runfolio.ops import Caller, Context
from runfolio.ops import webhooks as ops
from runfolio.schemas.webhooks import ARTIFACT_EVENTS, Webhook, WebhookCreate
from runfolio.store.workspaces import parse_path

app = typer.Typer(
    help="Create, list, test and delete webhooks: HTTP calls on artifact events "
    "(on the database itself, as its admin; a running server sends them).\n\n"
    "Example: runfolio webhook create alerts https://hooks.example.com/runfolio "
    '--rule \'{"kind": "progress_at_least", "value": 100}\'',
    no_args_is_help=True,
    rich_markup_mode="rich",
)

WorkspaceOption = Annotated[
    str,
    typer.Option("--workspace", "-w", metavar="ACCOUNT/NAME", help="The webhook's workspace."),
]
WebhookArgument = Annotated[
    str, typer.Argument(metavar="ID", help="The webhook's id (see `webhook ls`).")
]


def _context(engine: Engine, workspace: str) -> Context:
    """The local admin in `workspace` (a bad or unknown one exits 1 through `database`)."""
    account, name = parse_path(workspace)
    return Context(engine, Caller(account=account, workspace=name))


def _refused(exc: ValidationError) -> str:
    names = {"events": "--event", "artifact_types": "--type", "key_pattern": "--key-pattern"}
    reasons = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        field = str(error["loc"][0]) if error["loc"] else ""
        reasons.append(f"{names.get(field, field)} ({where}): {error['msg']}")
    return "Webhook not created: " + "; ".join(reasons) + "."


def _json(hook: Webhook) -> Any:
    return hook.model_dump(mode="json")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the webhook is for.", show_default=False)],
    url: Annotated[
        str, typer.Argument(help="http:// or https:// address to POST to.", show_default=False)
    ],
    workspace: WorkspaceOption = "default/default",
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            "-e",
            help=f"An event to send ({', '.join(ARTIFACT_EVENTS)}); repeat it. Default: all.",
        ),
    ] = None,
    key_pattern: Annotated[
        str | None, typer.Option("--key-pattern", help="Only artifact keys matching this glob.")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only artifacts of this type; repeat it."),
    ] = None,
    rule: Annotated[
        str | None,
        typer.Option("--rule", metavar="JSON", help="A rule on the content, as JSON."),
    ] = None,
    inactive: Annotated[
        bool, typer.Option("--inactive", help="Make it paused (no calls until resumed).")
    ] = False,
    output: OutputOption = None,
) -> None:
    """Create a webhook and print its signing secret, once: it cannot be shown again.

    [bold]Rules[/bold] (at most one):

      {"kind": "table_cell", "column": "accuracy", "row": -1, "op": "<", "value": 0.9}

      {"kind": "progress_at_least", "value": 100}

      {"kind": "markdown_contains", "text": "FAILED"}

    [bold]Example[/bold]

      runfolio webhook create ci https://ci.example.com/hook -e artifact.created -t table
    """
    fields: dict[str, Any] = {"name": name, "url": url, "active": not inactive}
    if event:
        fields["events"] = event
    if key_pattern is not None:
        fields["key_pattern"] = key_pattern
    if type_:
        fields["artifact_types"] = type_
    if rule is not None:
        try:
            fields["rule"] = json.loads(rule)
        except ValueError as exc:
            fail(f"Webhook not created: --rule is not JSON: {exc}.")
    try:
        action = WebhookCreate.model_validate(fields)
    except ValidationError as exc:
        fail(_refused(exc))
    with database() as engine:
        made = ops.create_webhook(_context(engine, workspace), action)
    if is_json(output):
        dump_json({**_json(made), "secret": made.secret})
        return
    succeed(f"Created webhook {made.name} ({made.id}) in {workspace}: POST {made.url}")
    typer.echo(f"\n    {made.secret}\n")
    typer.echo("This signing secret will not be shown again: store it now (see the README for")
    typer.echo("checking the runfolio-signature header with it).")


@app.command("ls")
def ls(workspace: WorkspaceOption = "default/default", output: OutputOption = None) -> None:
    """List the workspace's webhooks (never their secrets).

    Example: runfolio webhook ls -w acme/team
    """
    with database() as engine:
        hooks = ops.list_webhooks(_context(engine, workspace))
    if is_json(output):
        dump_json([_json(hook) for hook in hooks])
        return
    if not hooks:
        typer.echo(f"No webhooks in {workspace}. Create one with `runfolio webhook create`.")
        return
    table = make_table(f"Webhooks of {workspace}")
    for column in ("Id", "Name", "URL", "Events", "Filter", "Active"):
        table.add_column(column, overflow="fold")
    for hook in hooks:
        narrowed = [
            f"keys {hook.key_pattern}" if hook.key_pattern else "",
            f"types {','.join(hook.artifact_types)}" if hook.artifact_types else "",
            f"rule {json.dumps(hook.rule)}" if hook.rule else "",
        ]
        table.add_row(
            str(hook.id),
            hook.name,
            hook.url,
            ", ".join(e.removeprefix("artifact.") for e in hook.events),
            "; ".join(part for part in narrowed if part) or "-",
            "yes" if hook.active else "paused",
        )
    Console().print(table)


def _id(text: str) -> uuid.UUID:
    return parse_uuid(text, "webhook id")


@app.command("rm")
def rm(webhook: WebhookArgument, workspace: WorkspaceOption = "default/default") -> None:
    """Delete a webhook and its delivery log (deliveries not yet sent are dropped).

    Example: runfolio webhook rm 01a2f4c0-...
    """
    webhook_id = _id(webhook)
    with database() as engine:
        ops.delete_webhook(_context(engine, workspace), webhook_id)
    succeed(f"Deleted webhook {webhook_id} and its delivery log.")


@app.command("test")
def test(webhook: WebhookArgument, workspace: WorkspaceOption = "default/default") -> None:
    """Queue a `webhook.test` call to the webhook; a running server sends it.

    Follow it with `runfolio webhook deliveries ID`.

    Example: runfolio webhook test 01a2f4c0-...
    """
    webhook_id = _id(webhook)
    with database() as engine:
        delivery = ops.send_test_event(_context(engine, workspace), webhook_id)
    succeed(f"Queued test event {delivery}: a running server sends it within a second or so.")


@app.command("deliveries")
def deliveries(
    webhook: WebhookArgument,
    workspace: WorkspaceOption = "default/default",
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many.")] = 20,
    output: OutputOption = None,
) -> None:
    """The webhook's latest deliveries, newest first: status, calls made, last answer.

    Example: runfolio webhook deliveries 01a2f4c0-... --limit 5
    """
    webhook_id = _id(webhook)
    with database() as engine:
        found = ops.list_deliveries(_context(engine, workspace), webhook_id, limit)
    if is_json(output):
        dump_json([d.model_dump(mode="json") for d in found])
        return
    if not found:
        typer.echo("No deliveries yet.")
        return
    table = make_table("Deliveries")
    for column in ("Id", "Event", "Status", "Calls", "Last code", "Last error", "Created"):
        table.add_column(column, overflow="fold")
    for d in found:
        table.add_row(
            str(d.id),
            d.event,
            d.status,
            str(d.attempts),
            "-" if d.last_status_code is None else str(d.last_status_code),
            excerpt(d.last_error) if d.last_error else "-",
            when_cell(d.created),
        )
    Console().print(table)

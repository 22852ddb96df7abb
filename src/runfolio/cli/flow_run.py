"""`runfolio flow-run ls | inspect`: runs with their state, timing and artifacts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from runfolio.cli._common import (
    PAGE_SIZE,
    OutputOption,
    connect,
    dump_json,
    fail,
    fetch_pages,
    is_json,
    limit_option,
    parse_uuid,
)
from runfolio.cli._format import EMPTY, WIDE, exact, make_table, run_duration, when, when_cell
from runfolio.client import RunfolioClient
from runfolio.errors import NotFound
from runfolio.schemas.bodies import ArtifactCountBody, ArtifactFilterBody, FlowRunFilterBody
from runfolio.schemas.filters import ArtifactFilter, IdAny
from runfolio.schemas.runs import FlowRun
from runfolio.schemas.sorting import ArtifactSort, FlowRunSort

app = typer.Typer(
    help="List and inspect flow runs.\n\nExample: runfolio flow-run ls --limit 5",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _of_run(run_id: uuid.UUID) -> ArtifactFilter:
    return ArtifactFilter(flow_run_id=IdAny(any_=[run_id]))


def _artifact_count(client: RunfolioClient, run_id: uuid.UUID) -> int:
    return client.count_artifacts(ArtifactCountBody(artifacts=_of_run(run_id)))


def _flow_names(client: RunfolioClient, runs: Iterable[FlowRun]) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for flow_id in {run.flow_id for run in runs}:
        try:
            names[flow_id] = client.read_flow(flow_id).name
        except NotFound:
            names[flow_id] = EMPTY
    return names


def _state(run: FlowRun) -> str:
    if run.state_type is None:
        return EMPTY
    name = run.state_name or run.state_type.value
    return name if name.upper() == run.state_type.value else f"{name} ({run.state_type.value})"


def _summary(run: FlowRun, flow_name: str, artifact_count: int) -> dict[str, Any]:
    return {**run.model_dump(mode="json"), "flow_name": flow_name, "artifact_count": artifact_count}


@app.command("ls")
def ls(
    limit: Annotated[int, limit_option("How many runs to show at most.")] = 20,
    output: OutputOption = None,
) -> None:
    """List flow runs, most recent first, with their state, timing and artifact count.

    Duration is end minus start, or the time so far for a run still going.

    [bold]Examples[/bold]

      runfolio flow-run ls

      runfolio flow-run ls --limit 100 --output json | jq '.[] | {name, artifact_count}'
    """
    with connect() as client:
        runs = fetch_pages(
            lambda n, offset: client.filter_flow_runs(
                FlowRunFilterBody(limit=n, offset=offset, sort=FlowRunSort.EXPECTED_START_TIME_DESC)
            ),
            limit,
        )
        flows = _flow_names(client, runs)
        counts = {run.id: _artifact_count(client, run.id) for run in runs}
    if is_json(output):
        dump_json([_summary(run, flows[run.flow_id], counts[run.id]) for run in runs])
        return
    if not runs:
        typer.echo("No flow runs found.")
        return
    console = Console()
    wide = console.width >= WIDE
    table = make_table("Flow runs")
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("Flow / run", overflow="fold")
    table.add_column("State")
    table.add_column("Start (UTC)" if wide else "Start")
    table.add_column("Duration", justify="right")
    table.add_column("Artifacts", justify="right")
    for run in runs:
        table.add_row(
            str(run.id),
            Text(f"{flows[run.flow_id]} / {run.name}"),
            Text(_state(run)),
            when_cell(run.start_time, wide),
            run_duration(run.start_time, run.end_time),
            str(counts[run.id]),
        )
    console.print(table)


@app.command("inspect")
def inspect(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="The flow run id.")],
    output: OutputOption = None,
) -> None:
    """Show one flow run: state, timing, parameters and the artifacts it published.

    --output json prints the run, its flow name, artifact count and artifacts as compact JSON.

    [bold]Examples[/bold]

      runfolio flow-run inspect 0190c5e2-7b1c-7d3e-8f00-5a1b2c3d4e5f

      runfolio flow-run inspect 0190c5e2-7b1c-7d3e-8f00-5a1b2c3d4e5f --output json
    """
    target = parse_uuid(run_id, "flow run id")
    with connect() as client:
        try:
            run = client.read_flow_run(target)
        except NotFound:
            fail(f"Flow run '{target}' not found.")
        flow_name = _flow_names(client, [run])[run.flow_id]
        count = _artifact_count(client, target)
        artifacts = fetch_pages(
            lambda n, offset: client.filter_artifacts(
                ArtifactFilterBody(
                    artifacts=_of_run(target),
                    limit=n,
                    offset=offset,
                    sort=ArtifactSort.CREATED_DESC,
                )
            ),
            PAGE_SIZE,
        )
    if is_json(output):
        summary = _summary(run, flow_name, count)
        summary["artifacts"] = [
            a.model_dump(mode="json", include={"id", "key", "type", "created", "task_run_id"})
            for a in artifacts
        ]
        dump_json(summary)
        return
    console = Console()
    wide = console.width >= WIDE
    details = Table.grid(padding=(0, 2))
    details.add_column(style="bold")
    details.add_column(overflow="fold")
    fields = [
        ("ID", str(run.id)),
        ("Name", run.name),
        ("Flow", flow_name),
        ("State", _state(run)),
        ("Start", when(run.start_time)),
        ("End", exact(run.end_time)),
        ("Duration", run_duration(run.start_time, run.end_time)),
        ("Parameters", json.dumps(run.parameters, ensure_ascii=False)),
        ("Tags", ", ".join(run.tags) or EMPTY),
        ("Artifacts", str(count)),
    ]
    for label, value in fields:
        details.add_row(label, Text(value))
    parts: list[RenderableType] = [details]
    if artifacts:
        table = make_table("Artifacts of this run")
        table.add_column("ID", no_wrap=True, min_width=36)
        table.add_column("Key", overflow="fold")
        table.add_column("Type")
        table.add_column("Created (UTC)" if wide else "Created")
        for a in artifacts:
            key = Text(a.key) if a.key is not None else Text("(no key)", style="dim")
            table.add_row(str(a.id), key, Text(a.type or EMPTY), when_cell(a.created, wide))
        parts += [Text(""), table]
        if count > len(artifacts):
            parts.append(Text(f"Showing {len(artifacts)} of {count} artifacts.", style="dim"))
    console.print(Group(*parts))

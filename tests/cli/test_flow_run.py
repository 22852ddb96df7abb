import datetime as dt
import json
import uuid

import pytest

from runfolio.client import RunfolioClient
from runfolio.schemas.runs import FlowCreate, FlowRun, FlowRunCreate, StateCreate, StateType
from tests.cli.helpers import Invoke, add, assert_failed

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def make_run(store: RunfolioClient, name: str, seconds: float | None, flow: str = "etl") -> FlowRun:
    """A run that started at T0 and, if `seconds` is given, completed that much later."""
    flow_id = store.create_flow(FlowCreate(name=flow)).id
    run = store.create_flow_run(
        FlowRunCreate(flow_id=flow_id, name=name, parameters={"n": 3}, tags=["nightly"])
    )
    store.set_flow_run_state(run.id, StateCreate(type=StateType.RUNNING, timestamp=T0))
    if seconds is not None:
        end = T0 + dt.timedelta(seconds=seconds)
        store.set_flow_run_state(run.id, StateCreate(type=StateType.COMPLETED, timestamp=end))
    return store.read_flow_run(run.id)


def test_ls_shows_state_start_duration_and_artifact_count(
    cli: Invoke, store: RunfolioClient
) -> None:
    done = make_run(store, "brave-otter", 184)
    running = make_run(store, "calm-heron", None, flow="train")
    for _ in range(2):
        add(store, "report", flow_run_id=done.id)
    add(store, None, flow_run_id=done.id)
    add(store, "elsewhere")

    result = cli("flow-run", "ls")

    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("ID", "Flow / run", "State", "Start (UTC)", "Duration", "Artifacts"):
        assert header in out
    done_line = next(line for line in out.splitlines() if str(done.id) in line)
    assert "etl / brave-otter" in done_line
    assert "Completed" in done_line
    assert "3m 04s" in done_line
    assert done_line.rstrip().endswith(" 3")
    running_line = next(line for line in out.splitlines() if str(running.id) in line)
    assert "Running" in running_line and "(running)" in running_line
    assert running_line.rstrip().endswith(" 0")
    assert "2026-01-02 03:04:05" in out
    assert out.index(str(running.id)) < out.index(str(done.id))  # most recent first


def test_ls_json(cli: Invoke, store: RunfolioClient) -> None:
    run = make_run(store, "brave-otter", 1.5)
    add(store, "report", flow_run_id=run.id)

    result = cli("flow-run", "ls", "--output", "json")

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    [row] = json.loads(result.stdout)
    assert row["id"] == str(run.id)
    assert row["flow_name"] == "etl"
    assert row["artifact_count"] == 1
    assert row["state_type"] == "COMPLETED"
    assert row["start_time"] == "2026-01-02T03:04:05.000000Z"


def test_ls_limit_and_empty(cli: Invoke, store: RunfolioClient) -> None:
    empty = cli("flow-run", "ls")
    assert empty.exit_code == 0 and "No flow runs found." in empty.stdout
    for name in ("a-run", "b-run", "c-run"):
        make_run(store, name, 1)
    assert len(json.loads(cli("flow-run", "ls", "--limit", "2", "-o", "json").stdout)) == 2
    assert_failed(cli("flow-run", "ls", "--limit", "0"), code=2)


def test_inspect_shows_the_run_and_its_artifacts(cli: Invoke, store: RunfolioClient) -> None:
    run = make_run(store, "brave-otter", 0.25)
    artifact = add(store, "report", flow_run_id=run.id)

    result = cli("flow-run", "inspect", str(run.id))

    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        "brave-otter",
        "etl",
        "Completed",
        "2026-01-02 03:04:05 UTC",
        "250ms",
        '{"n": 3}',
        "nightly",
        "Artifacts of this run",
        str(artifact.id),
        "report",
    ):
        assert expected in out


def test_inspect_json(cli: Invoke, store: RunfolioClient) -> None:
    run = make_run(store, "brave-otter", 2)
    artifact = add(store, "report", flow_run_id=run.id)

    result = cli("flow-run", "inspect", str(run.id), "-o", "json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == str(run.id)
    assert data["artifact_count"] == 1
    assert data["artifacts"][0]["id"] == str(artifact.id)
    assert data["parameters"] == {"n": 3}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-a-uuid", "Invalid flow run id 'not-a-uuid': not a UUID."),
        (str(uuid.UUID(int=7)), f"Flow run '{uuid.UUID(int=7)}' not found."),
    ],
)
def test_inspect_bad_or_unknown_id(cli: Invoke, value: str, message: str) -> None:
    result = cli("flow-run", "inspect", value)
    assert_failed(result)
    assert message in result.stderr

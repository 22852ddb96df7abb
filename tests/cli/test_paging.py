"""Listings page with what the server allows: every row, even when its limit is tiny.

The store (embedded) or the server (HTTP, a real process) is configured with
RUNFOLIO_DEFAULT_LIMIT=3, below the CLI's page size, and holds 7 of everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import Result

from runfolio.client import RunfolioClient, client_for
from runfolio.errors import LimitTooLarge
from runfolio.schemas.bodies import ArtifactFilterBody
from runfolio.schemas.runs import FlowCreate, FlowRunCreate
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.cli.helpers import Invoke, add, make_invoke
from tests.pg import PostgresServer
from tests.servers import running_server

SMALL_LIMIT = 3
KEYS = [f"key-{i}" for i in range(7)]
VERSIONED = "key-3"  # 7 versions in all


@dataclass
class Seeded:
    cli: Invoke
    store: RunfolioClient  # sees the same small limit as the CLI
    runs: list[str]  # 7 flow runs, newest first; the oldest published one artifact per key
    versions: list[str]  # the ids of VERSIONED's versions, newest first


def _seed(store: RunfolioClient) -> tuple[list[str], list[str]]:
    flow_id = store.create_flow(FlowCreate(name="etl")).id
    runs = [
        store.create_flow_run(FlowRunCreate(flow_id=flow_id, name=f"run-{i}")).id for i in range(7)
    ]
    first = {key: add(store, key, flow_run_id=runs[0]).id for key in KEYS}
    later = [add(store, VERSIONED, data=f"# {i}").id for i in range(6)]
    versions = [*reversed(later), first[VERSIONED]]
    return [str(r) for r in reversed(runs)], [str(v) for v in versions]


def _with_small_limit(invoke: Invoke) -> Invoke:
    """The CLI on an embedded store, whose limit is the CLI process's own setting."""

    def run(
        *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        small = {"RUNFOLIO_DEFAULT_LIMIT": str(SMALL_LIMIT), **(env or {})}
        return invoke(*args, input=input, env=small)

    return run


@pytest.fixture(
    scope="module",
    params=[
        "embedded-sqlite",
        "embedded-postgresql",
        pytest.param("http-sqlite", marks=pytest.mark.server),
    ],
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    home = tmp_path_factory.mktemp("paging")
    if request.param.startswith("embedded"):
        with ExitStack() as stack:
            url = None
            if request.param == "embedded-postgresql":
                postgres: PostgresServer = request.getfixturevalue("postgres")
                url = stack.enter_context(postgres.database())
            settings = Settings(
                home=home, database_url=url, api_url=None, default_limit=SMALL_LIMIT
            )
            store = client_for(settings)
            runs, versions = _seed(store)
            yield Seeded(_with_small_limit(make_invoke(settings)), store, runs, versions)
            store.close()
            dispose_engines()
        return
    small = {"RUNFOLIO_DEFAULT_LIMIT": str(SMALL_LIMIT)}
    with running_server(home / "server", extra_env=small) as server:
        settings = Settings(home=home / "unused", api_url=server.api_url)
        store = client_for(settings)
        runs, versions = _seed(store)
        yield Seeded(make_invoke(settings), store, runs, versions)
        store.close()


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_larger_page_is_refused_naming_the_maximum(seeded: Seeded) -> None:
    # What the CLI works around: a page of the CLI's size is refused outright.
    with pytest.raises(LimitTooLarge) as refused:
        seeded.store.filter_artifacts(ArtifactFilterBody(limit=SMALL_LIMIT + 1))
    assert refused.value.max_limit == SMALL_LIMIT
    assert len(seeded.store.filter_artifacts(ArtifactFilterBody(limit=SMALL_LIMIT))) == 3


def test_artifact_ls_lists_every_key(seeded: Seeded) -> None:
    rows = _json(seeded.cli("artifact", "ls", "-o", "json"))
    assert [row["key"] for row in rows] == KEYS
    assert rows[KEYS.index(VERSIONED)]["latest_id"] == seeded.versions[0]

    table = seeded.cli("artifact", "ls")
    assert table.exit_code == 0, table.output
    assert all(key in table.stdout for key in KEYS)
    assert "Showing" not in table.stderr


def test_artifact_ls_all_lists_every_version(seeded: Seeded) -> None:
    rows = _json(seeded.cli("artifact", "ls", "--all", "-o", "json"))
    assert len(rows) == 13
    assert [row["id"] for row in rows if row["key"] == VERSIONED] == seeded.versions


def test_artifact_ls_limit_across_pages_says_how_many_exist(seeded: Seeded) -> None:
    result = seeded.cli("artifact", "ls", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert [key for key in KEYS if key in result.stdout] == KEYS[:5]
    assert "Showing 5 of 7 artifact keys" in result.stderr


def test_artifact_inspect_shows_every_version(seeded: Seeded) -> None:
    versions = _json(seeded.cli("artifact", "inspect", VERSIONED, "-o", "json"))
    assert [v["id"] for v in versions] == seeded.versions


def test_flow_run_ls_lists_every_run(seeded: Seeded) -> None:
    runs = _json(seeded.cli("flow-run", "ls", "-o", "json"))
    assert [run["id"] for run in runs] == seeded.runs
    assert runs[-1]["artifact_count"] == 7


def test_flow_run_inspect_lists_every_artifact(seeded: Seeded) -> None:
    run = _json(seeded.cli("flow-run", "inspect", seeded.runs[-1], "-o", "json"))
    assert run["artifact_count"] == 7
    assert sorted(a["key"] for a in run["artifacts"]) == KEYS

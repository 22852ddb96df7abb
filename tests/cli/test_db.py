"""`runfolio db current | upgrade | copy` on real SQLite files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from runfolio.schemas.common import new_id
from runfolio.server.app import create_app
from runfolio.settings import Settings
from runfolio.store.engine import connect, dispose_engines
from runfolio.store.migrations import HEAD_REVISION, alembic_config
from runfolio.store.tables import artifacts
from runfolio.store.transfer import copied_tables, open_unmigrated
from tests.cli.helpers import Invoke, assert_failed, make_invoke
from tests.pg import PostgresServer
from tests.server.conftest import DEFAULT_BASE, Api
from tests.servers import free_port
from tests.workspaces import create_workspaces

NAMED_BASE = "/api/accounts/acme/workspaces/team"


def _app(settings: Settings) -> FastAPI:
    """The app on `settings`' database, with the one named workspace these tests fill."""
    app = create_app(settings)
    create_workspaces(app.state.engine, "acme/team")
    return app


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def source_url(home: Path) -> str:
    """The database in force for `invoke`: the SQLite file in its RUNFOLIO_HOME."""
    return sqlite_url(home / "runfolio.db")


@pytest.fixture
def invoke(home: Path) -> Iterator[Invoke]:
    """`runfolio ...` with RUNFOLIO_HOME set and no RUNFOLIO_DATABASE_URL."""
    yield make_invoke(Settings(home=home, database_url=None, api_url=None, api_key=None))
    dispose_engines()


def at_revision(url: str, revision: str) -> None:
    """Create the database at `url` by running the migrations up to `revision` only."""
    engine = create_engine(url)
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            value: str | None = conn.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar()
            return value
    finally:
        engine.dispose()


def unreachable_url() -> str:
    return f"postgresql+psycopg://runfolio:s3cret@127.0.0.1:{free_port()}/runfolio"


# -- db current


def test_current_on_a_new_home_is_empty_and_creates_nothing(invoke: Invoke, home: Path) -> None:
    result = invoke("db", "current")
    assert result.exit_code == 0, result.output
    assert f"database: sqlite:///{home / 'runfolio.db'}" in result.output
    assert "revision: empty: the file does not exist yet" in result.output
    assert not (home / "runfolio.db").exists()


def test_current_on_an_empty_file_is_empty(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    result = invoke("db", "current", "--url", sqlite_url(tmp_path / "empty.db"))
    assert result.exit_code == 0, result.output
    assert "revision: empty (created at" in result.output


def test_current_up_to_date(invoke: Invoke, source_url: str) -> None:
    connect(source_url).dispose()
    result = invoke("db", "current")
    assert result.exit_code == 0, result.output
    assert f"revision: {HEAD_REVISION}: up to date" in result.output


def test_current_behind_reads_without_migrating(invoke: Invoke, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    at_revision(url, "0001")
    # RUNFOLIO_DATABASE_URL is honoured like everywhere else.
    result = invoke("db", "current", env={"RUNFOLIO_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert f"database: {url}" in result.output
    assert f"revision: 0001: behind: 0001 → {HEAD_REVISION}" in result.output
    assert revision(url) == "0001"


def test_current_on_an_unreachable_database_fails_with_the_password_masked(
    invoke: Invoke,
) -> None:
    result = invoke("db", "current", "--url", unreachable_url())
    assert_failed(result)
    assert "Cannot use the database postgresql+psycopg://runfolio:***@127.0.0.1" in result.output
    assert "s3cret" not in result.output


def test_current_on_a_foreign_database_fails(invoke: Invoke, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "other.db")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE things (id INTEGER)"))
    engine.dispose()
    result = invoke("db", "current", "--url", url)
    assert_failed(result)
    assert "not a runfolio store" in result.output


def test_current_on_an_unknown_revision_fails(invoke: Invoke, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "newer.db")
    connect(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result = invoke("db", "current", "--url", url)
    assert_failed(result)
    assert "9999: unknown to this runfolio" in result.output
    upgraded = invoke("db", "upgrade", "--url", url)
    assert_failed(upgraded)
    assert revision(url) == "9999"


def test_current_with_a_bad_url_fails(invoke: Invoke) -> None:
    result = invoke("db", "current", "--url", "no-such-thing")
    assert_failed(result)
    assert "Cannot use the database" in result.output


# -- db upgrade


def test_upgrade_from_0001_then_again(invoke: Invoke, source_url: str, home: Path) -> None:
    home.mkdir()
    at_revision(source_url, "0001")
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"Upgraded: 0001 → {HEAD_REVISION}." in result.output
    assert revision(source_url) == HEAD_REVISION
    again = invoke("db", "upgrade")
    assert again.exit_code == 0, again.output
    assert "Already at the head revision" in again.output
    assert f"{HEAD_REVISION}: up to date" in invoke("db", "current").output


def test_upgrade_creates_an_empty_database(invoke: Invoke, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "new" / "runfolio.db")
    result = invoke("db", "upgrade", "--url", url)
    assert result.exit_code == 0, result.output
    assert f"Created the tables at the head revision {HEAD_REVISION}." in result.output
    assert revision(url) == HEAD_REVISION


def test_upgrade_unreachable(invoke: Invoke) -> None:
    result = invoke("db", "upgrade", "--url", unreachable_url())
    assert_failed(result)
    assert "s3cret" not in result.output


# -- db copy


def fill(api: Api, tag: str) -> None:
    """Flows, runs with states, task runs, logs and several versions of keys."""
    flow = api.flow(f"etl-{tag}")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n in range(3):
        run = api.flow_run(flow["id"], parameters={"n": n, "tag": tag}, tags=[tag])
        start = (t0 + dt.timedelta(minutes=n)).isoformat()
        assert api.set_state("flow_runs", run["id"], "RUNNING", timestamp=start).status_code == 201
        task = api.task_run(run["id"], dynamic_key=str(n))
        api.set_state("task_runs", task["id"], "COMPLETED", data={"value": n})
        lines = [
            {
                "level": 20,
                "message": f"{tag} line {i}",
                "timestamp": start,
                "flow_run_id": run["id"],
            }
            for i in range(4)
        ]
        assert api.post("/logs/", json=lines).status_code == 201
        for version in range(n + 2):
            api.create(
                key=f"report-{n}",
                type="markdown",
                data=f"# {tag} v{version}",
                description="nightly",
                metadata_={"v": str(version)},
                flow_run_id=run["id"],
                task_run_id=task["id"],
            )
        table = api.create(
            key=None, type="table", data=[{"a": 1.0, "b": None}], flow_run_id=run["id"]
        )
        # Rows appended in place, with the client's id (kept by a copy) and without.
        for append_id in (str(new_id()), None):
            body = {"rows": [{"a": 2.0, "b": n}], **({"id": append_id} if append_id else {})}
            assert api.post(f"/artifacts/{table['id']}/rows", json=body).status_code == 200
        assert api.set_state("flow_runs", run["id"], "COMPLETED").status_code == 201
    api.create(key="progress", type="progress", data=100.0)


def every_row(url: str) -> dict[str, Sequence[Any]]:
    engine = open_unmigrated(url)  # reads json as the text JSONText parses
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                for table in copied_tables()  # short-lived tables are not copied
            }
    finally:
        engine.dispose()


def answers(client: TestClient) -> dict[str, Any]:
    """What the API of one store answers, in both workspaces."""
    seen: dict[str, Any] = {}
    for base in (DEFAULT_BASE, NAMED_BASE):
        api = Api(client, base)
        runs = _ok(api.post("/flow_runs/filter"))
        seen[base] = {
            "filter": api.filter(sort="ID_DESC", limit=200),
            "latest": api.latest_filter(sort="KEY_ASC", limit=200),
            "flows": _ok(api.post("/flows/filter")),
            "flow_runs": runs,
            "task_runs": _ok(api.post("/task_runs/filter")),
            "logs": [
                _ok(api.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [r["id"]]}}}))
                for r in runs
            ],
            "states": [_ok(api.get(f"/flow_runs/{r['id']}/states")) for r in runs],
        }
    return seen


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def store_answers(url: str, home: Path) -> dict[str, Any]:
    settings = Settings(home=home, database_url=url, api_url=None, api_key=None)
    with TestClient(_app(settings)) as client:
        return answers(client)


@pytest.fixture
def filled(home: Path, source_url: str) -> Iterator[str]:
    """The store in `home`, filled through the API in two workspaces."""
    settings = Settings(home=home, database_url=None, api_url=None, api_key=None)
    with TestClient(_app(settings)) as client:
        fill(Api(client, DEFAULT_BASE), "default")
        fill(Api(client, NAMED_BASE), "named")
    dispose_engines()
    yield source_url


def test_copy_round_trip_keeps_every_row(
    invoke: Invoke, filled: str, tmp_path: Path, home: Path
) -> None:
    target = sqlite_url(tmp_path / "target" / "runfolio.db")
    # Small batches: several per table.
    result = invoke("db", "copy", "--to", target, "--batch-size", "7")
    assert result.exit_code == 0, result.output
    assert "the target holds every source row" in result.output
    source_rows = every_row(filled)
    assert every_row(target) == source_rows
    assert len(source_rows["workspaces"]) == 2 and len(source_rows["logs"]) == 24
    assert len(source_rows["artifacts"]) == 2 * (2 + 3 + 4 + 3 + 1)
    appended = source_rows["artifact_row_appends"]
    assert len(appended) == 2 * 3 * 2 and sum(row.client_id is not None for row in appended) == 6
    seen = store_answers(filled, home)
    assert sum(map(len, seen[NAMED_BASE]["logs"])) == 12 and len(seen[DEFAULT_BASE]["latest"]) == 4
    assert store_answers(target, tmp_path / "other") == seen
    assert revision(target) == HEAD_REVISION


def test_copy_again_is_idempotent(invoke: Invoke, filled: str, tmp_path: Path) -> None:
    target = sqlite_url(tmp_path / "target.db")
    assert invoke("db", "copy", "--from", filled, "--to", target).exit_code == 0
    again = invoke("db", "copy", "--from", filled, "--to", target)
    assert again.exit_code == 0, again.output
    assert "Copied 0 rows" in again.output
    assert "other data" not in again.output
    assert every_row(target) == every_row(filled)


def test_copy_into_an_upgraded_empty_store_is_exact(
    invoke: Invoke, filled: str, tmp_path: Path
) -> None:
    target = sqlite_url(tmp_path / "target.db")
    assert invoke("db", "upgrade", "--url", target).exit_code == 0
    result = invoke("db", "copy", "--to", target)
    assert result.exit_code == 0, result.output
    assert every_row(target) == every_row(filled)


def test_copy_leaves_differing_rows_and_says_so(
    invoke: Invoke, filled: str, tmp_path: Path
) -> None:
    target = sqlite_url(tmp_path / "target.db")
    assert invoke("db", "copy", "--to", target).exit_code == 0
    engine = create_engine(target)
    with engine.begin() as conn:
        some = conn.execute(select(artifacts.c.id).limit(2)).scalars().all()
        conn.execute(artifacts.update().where(artifacts.c.id.in_(some)).values(data="changed"))
    engine.dispose()
    result = invoke("db", "copy", "--to", target)
    assert result.exit_code == 0, result.output
    assert "2 rows already in the target with other data" in result.output
    rows = every_row(target)["artifacts"]
    assert sum(1 for row in rows if row.data == "changed") == 2


def test_copy_fails_when_the_target_lacks_rows(invoke: Invoke, filled: str, tmp_path: Path) -> None:
    # The target already has a key of the source under another collection id.
    target_home = tmp_path / "target"
    target = sqlite_url(target_home / "runfolio.db")
    settings = Settings(home=target_home, database_url=None, api_url=None, api_key=None)
    with TestClient(create_app(settings)) as client:
        Api(client, DEFAULT_BASE).create(key="progress", type="progress", data=1.0)
    dispose_engines()
    result = invoke("db", "copy", "--to", target)
    assert_failed(result)
    assert "The target lacks 1 source rows" in result.output
    assert "artifact_collections" in result.output


def test_copy_from_a_source_behind_the_head_suggests_upgrade(
    invoke: Invoke, tmp_path: Path
) -> None:
    source = sqlite_url(tmp_path / "old.db")
    at_revision(source, "0001")
    target = tmp_path / "target.db"
    result = invoke("db", "copy", "--from", source, "--to", sqlite_url(target))
    assert_failed(result)
    assert "at revision 0001" in result.output and "runfolio db upgrade" in result.output
    assert not target.exists()
    assert revision(source) == "0001"


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("{home}/runfolio.db", "{home}/runfolio.db", "are the same database"),
        ("{home}/missing.db", "{tmp}/t.db", "does not exist"),
        ("{home}/runfolio.db", "UNREACHABLE", "Cannot use the target database"),
    ],
    ids=["same", "missing-source", "unreachable-target"],
)
def test_copy_bad_input(
    invoke: Invoke, filled: str, home: Path, tmp_path: Path, source: str, target: str, message: str
) -> None:
    def url(template: str) -> str:
        if template == "UNREACHABLE":
            return unreachable_url()
        return sqlite_url(Path(template.format(home=home, tmp=tmp_path)))

    before = every_row(filled)
    result = invoke("db", "copy", "--from", url(source), "--to", url(target))
    assert_failed(result)
    assert message in result.output
    assert "s3cret" not in result.output
    assert every_row(filled) == before
    assert not (tmp_path / "t.db").exists() and not (home / "missing.db").exists()


def test_copy_into_a_foreign_database_is_refused(
    invoke: Invoke, filled: str, tmp_path: Path
) -> None:
    target = sqlite_url(tmp_path / "other.db")
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE things (id INTEGER)"))
    engine.dispose()
    result = invoke("db", "copy", "--to", target)
    assert_failed(result)
    assert "not a runfolio store" in result.output


def test_copy_needs_a_target(invoke: Invoke) -> None:
    assert_failed(invoke("db", "copy"), code=2)


@pytest.mark.parametrize("empty", [True, False], ids=["empty", "migrated"])
def test_copy_sqlite_to_postgresql_round_trip(
    invoke: Invoke, filled: str, tmp_path: Path, home: Path, postgres: PostgresServer, empty: bool
) -> None:
    # An empty database, or one migrated already (holding only the default workspace).
    with postgres.database(empty=empty) as target:
        if empty:
            assert "revision: empty" in invoke("db", "current", "--url", target).output
        result = invoke("db", "copy", "--to", target, "--batch-size", "5")
        assert result.exit_code == 0, result.output
        assert every_row(target) == every_row(filled)
        assert store_answers(target, tmp_path / "other") == store_answers(filled, home)
        again = invoke("db", "copy", "--to", target)
        assert again.exit_code == 0, again.output
        assert "Copied 0 rows" in again.output and "other data" not in again.output
        current = invoke("db", "current", "--url", target)
        assert current.exit_code == 0 and f"{HEAD_REVISION}: up to date" in current.output
        # And back again, from PostgreSQL into a new SQLite file.
        back = sqlite_url(tmp_path / "back.db")
        result = invoke("db", "copy", "--from", target, "--to", back)
        assert result.exit_code == 0, result.output
        assert every_row(back) == every_row(filled)
        dispose_engines()


def test_upgrade_postgresql_from_0001(invoke: Invoke, postgres: PostgresServer) -> None:
    with postgres.database(empty=True) as url:
        at_revision(url, "0001")
        behind = invoke("db", "current", "--url", url)
        assert f"0001: behind: 0001 → {HEAD_REVISION}" in behind.output
        result = invoke("db", "upgrade", "--url", url)
        assert result.exit_code == 0, result.output
        assert f"Upgraded: 0001 → {HEAD_REVISION}." in result.output
        assert revision(url) == HEAD_REVISION


def test_copy_of_text_postgresql_cannot_hold_names_its_table(
    invoke: Invoke, filled: str, postgres: PostgresServer
) -> None:
    engine = create_engine(filled)
    with engine.begin() as conn:
        conn.execute(text("UPDATE logs SET message = 'a' || char(0) || 'b'"))
    engine.dispose()
    with postgres.database() as target:
        result = invoke("db", "copy", "--to", target)
        assert_failed(result)
        assert "The target cannot hold rows of logs" in result.output

"""The change cursor: every write a page shows leaves one row, in its own transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from runfolio.errors import NotFound
from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from runfolio.schemas.common import new_id
from runfolio.schemas.retention import RetentionPolicySet
from runfolio.schemas.runs import (
    FlowCreate,
    FlowRunCreate,
    StateCreate,
    StateType,
    TaskRunCreate,
    TaskRunRecord,
)
from runfolio.store import (
    appends,
    artifacts,
    changes,
    retention,
    retention_pass,
    runs,
    workspaces,
)
from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID
from runfolio.store.tables import changes as changes_table

WS = DEFAULT_WORKSPACE_ID


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    yield open_engine(database_url or f"sqlite:///{tmp_path / 'runfolio.db'}")
    dispose_engines()


def _seen(engine: Engine, last: int = 0) -> list[tuple[str, str, str, str | None, str | None]]:
    with read(engine) as conn:
        return [
            (c.topic, c.action, str(c.subject_id), c.key, str(c.flow_run_id or "") or None)
            for c in changes.after(conn, last)
        ]


def test_each_kind_of_write_leaves_one_change(db: Engine) -> None:
    with write(db) as conn:
        flow, _ = runs.create_flow(conn, WS, FlowCreate(name="f"))
        run = runs.create_flow_run(conn, WS, FlowRunCreate(flow_id=flow.id))
    r = str(run.id)
    assert _seen(db) == [("flow_run", "created", r, None, r)]
    last = max(c.id for c in _after(db))

    with write(db) as conn:
        runs.set_flow_run_state(conn, WS, run.id, StateCreate(type=StateType.RUNNING))
        task = runs.create_task_run(conn, WS, TaskRunCreate(flow_run_id=run.id, task_key="t"))
        runs.set_task_run_state(conn, WS, task.id, StateCreate(type=StateType.RUNNING))
        made, _ = artifacts.create(
            conn, WS, ArtifactCreate(key="k", type="markdown", data="a", flow_run_id=run.id)
        )
        artifacts.update(conn, WS, made.id, ArtifactUpdate(data="b"))
        artifacts.delete(conn, WS, made.id)
    t, a = str(task.id), str(made.id)
    assert _seen(db, last) == [
        ("flow_run", "state", r, None, r),
        ("task_run", "created", t, None, r),
        ("task_run", "state", t, None, r),  # names the task's flow run: its page listens
        ("artifact", "created", a, "k", r),
        ("artifact", "updated", a, "k", r),
        ("artifact", "deleted", a, "k", r),
    ]


def test_appended_table_rows_are_an_update(db: Engine) -> None:
    with write(db) as conn:
        table, _ = artifacts.create(
            conn, WS, ArtifactCreate(key="t", type="table", data=[{"a": 1}])
        )
    last = max(c.id for c in _after(db))
    with write(db) as conn:
        appends.append(conn, WS, table.id, [{"a": 2}])
    assert _seen(db, last) == [("artifact", "updated", str(table.id), "t", None)]


def test_versions_a_retention_pass_deletes_are_noted(db: Engine) -> None:
    with write(db) as conn:
        made = [
            artifacts.create(conn, WS, ArtifactCreate(key="kept", type="markdown", data=str(i)))[0]
            for i in range(3)
        ]
        retention.set_policy(conn, WS, RetentionPolicySet(key_pattern="kept", keep_last=1))
    last = max(c.id for c in _after(db))
    assert retention_pass.run_pass(db).versions_deleted == 2
    assert _seen(db, last) == [("artifact", "deleted", str(m.id), "kept", None) for m in made[:2]]


def test_a_batch_of_task_runs_leaves_one_change_per_run_moved(db: Engine) -> None:
    with write(db) as conn:
        flow, _ = runs.create_flow(conn, WS, FlowCreate(name="f"))
        run = runs.create_flow_run(conn, WS, FlowRunCreate(flow_id=flow.id))
    now = dt.datetime.now(dt.UTC)
    records = [
        TaskRunRecord(
            task_run=TaskRunCreate(id=new_id(), flow_run_id=run.id, task_key=f"t{i}"),
            states=[
                StateCreate(id=new_id(), type=StateType.RUNNING, timestamp=now),
                StateCreate(id=new_id(), type=StateType.COMPLETED, timestamp=now),
            ],
        )
        for i in range(3)
    ]
    last = max(c.id for c in _after(db))
    with write(db) as conn:
        runs.record_task_runs(conn, WS, records)
    ids = [str(r.task_run.id) for r in records]
    assert _seen(db, last) == [("task_run", "state", i, None, str(run.id)) for i in ids]
    last = max(c.id for c in _after(db))
    with write(db) as conn:  # delivered again: nothing moves, nothing to tell
        runs.record_task_runs(conn, WS, records)
    assert _seen(db, last) == []


def test_a_refused_write_leaves_no_change(db: Engine) -> None:
    with write(db) as conn:
        artifacts.create(conn, WS, ArtifactCreate(key="k", type="markdown", data="a"))
    before = _after(db)
    with pytest.raises(NotFound), write(db) as conn:
        artifacts.update(conn, WS, new_id(), ArtifactUpdate(data="b"))
    with pytest.raises(NotFound), write(db) as conn:
        artifacts.delete(conn, WS, new_id())
    assert _after(db) == before


def test_a_replayed_create_leaves_no_second_change(db: Engine) -> None:
    action = ArtifactCreate(id=new_id(), key="k", type="markdown", data="a")
    with write(db) as conn:
        artifacts.create(conn, WS, action)
    with write(db) as conn:
        _, created = artifacts.create(conn, WS, action)
    assert not created
    assert len(_after(db)) == 1


def test_backlog_is_one_workspaces_own(db: Engine) -> None:
    with write(db) as conn:
        other = workspaces.create(conn, "acme/other").id
        artifacts.create(conn, WS, ArtifactCreate(key="mine", type="markdown", data="a"))
        artifacts.create(conn, other, ArtifactCreate(key="theirs", type="markdown", data="a"))
    with read(db) as conn:
        mine = changes.backlog(conn, WS, after_id=0)
        recent = changes.backlog(conn, other, since=dt.datetime.now(dt.UTC) - dt.timedelta(1))
    assert [c.key for c in mine] == ["mine"]
    assert [c.key for c in recent] == ["theirs"]


def test_prune_keeps_the_newest_so_ids_keep_growing(db: Engine) -> None:
    with write(db) as conn:
        for i in range(3):
            artifacts.create(conn, WS, ArtifactCreate(key=f"k{i}", type="markdown", data="a"))
        old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        conn.execute(update(changes_table).values(at=old))
    newest = max(c.id for c in _after(db))
    with write(db) as conn:
        removed = changes.prune(conn, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert removed == 2
    with write(db) as conn:
        artifacts.create(conn, WS, ArtifactCreate(key="next", type="markdown", data="a"))
    with read(db) as conn:
        assert changes.last_id(conn) > newest
        assert conn.execute(select(func.count()).select_from(changes_table)).scalar_one() == 2


def _after(engine: Engine) -> list[changes.Change]:
    with read(engine) as conn:
        return changes.after(conn, 0)

"""The embedded transport: the same calls go straight to the store on a local database."""

from __future__ import annotations

import uuid

from runfolio.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import (
    ArtifactCountBody,
    ArtifactFilterBody,
    CollectionCountBody,
    CollectionFilterBody,
    FlowRunFilterBody,
    TaskRunFilterBody,
)
from runfolio.schemas.runs import (
    Flow,
    FlowCreate,
    FlowRun,
    FlowRunCreate,
    Log,
    LogCreate,
    State,
    StateCreate,
    TaskRun,
    TaskRunCreate,
    TaskRunRecord,
)
from runfolio.settings import Settings
from runfolio.store import artifacts as artifact_store
from runfolio.store import logs as log_store
from runfolio.store import runs as run_store
from runfolio.store.engine import open_engine, read, write
from runfolio.store.filtering import resolve_page
from runfolio.store.tables import DEFAULT_WORKSPACE_ID


class EmbeddedClient:
    """Reads and writes the database at `settings.resolved_database_url()` in-process."""

    def __init__(self, settings: Settings, workspace_id: uuid.UUID = DEFAULT_WORKSPACE_ID) -> None:
        self.target = settings.resolved_database_url()
        self._engine = open_engine(self.target)
        self._ws = workspace_id
        self._max_limit = settings.default_limit

    def _page(self, limit: int | None, offset: int | None) -> tuple[int, int]:
        return resolve_page(limit, offset, self._max_limit)

    # -- artifacts
    def create_artifact(self, action: ArtifactCreate) -> Artifact:
        with write(self._engine) as conn:
            return artifact_store.create(conn, self._ws, action)[0]

    def read_artifact(self, artifact_id: uuid.UUID) -> Artifact:
        with read(self._engine) as conn:
            return artifact_store.read(conn, self._ws, artifact_id)

    def read_latest_artifact(self, key: str) -> Artifact:
        with read(self._engine) as conn:
            return artifact_store.read_latest(conn, self._ws, key)

    def update_artifact(self, artifact_id: uuid.UUID, action: ArtifactUpdate) -> None:
        with write(self._engine) as conn:
            artifact_store.update(conn, self._ws, artifact_id, action)

    def delete_artifact(self, artifact_id: uuid.UUID) -> None:
        with write(self._engine) as conn:
            artifact_store.delete(conn, self._ws, artifact_id)

    def filter_artifacts(self, body: ArtifactFilterBody) -> list[Artifact]:
        limit, offset = self._page(body.limit, body.offset)
        with read(self._engine) as conn:
            return artifact_store.filter_artifacts(
                conn, self._ws, body.artifacts, body, body.sort, limit, offset
            )

    def filter_latest_artifacts(self, body: CollectionFilterBody) -> list[ArtifactCollection]:
        limit, offset = self._page(body.limit, body.offset)
        with read(self._engine) as conn:
            return artifact_store.filter_collections(
                conn, self._ws, body.artifacts, body, body.sort, limit, offset
            )

    def count_artifacts(self, body: ArtifactCountBody) -> int:
        with read(self._engine) as conn:
            return artifact_store.count_artifacts(conn, self._ws, body.artifacts, body)

    def count_latest_artifacts(self, body: CollectionCountBody) -> int:
        with read(self._engine) as conn:
            return artifact_store.count_collections(conn, self._ws, body.artifacts, body)

    # -- flows and runs
    def create_flow(self, action: FlowCreate) -> Flow:
        with write(self._engine) as conn:
            return run_store.create_flow(conn, self._ws, action)[0]

    def read_flow(self, flow_id: uuid.UUID) -> Flow:
        with read(self._engine) as conn:
            return run_store.read_flow(conn, self._ws, flow_id)

    def create_flow_run(self, action: FlowRunCreate) -> FlowRun:
        with write(self._engine) as conn:
            return run_store.create_flow_run(conn, self._ws, action)

    def read_flow_run(self, run_id: uuid.UUID) -> FlowRun:
        with read(self._engine) as conn:
            return run_store.read_flow_run(conn, self._ws, run_id)

    def filter_flow_runs(self, body: FlowRunFilterBody) -> list[FlowRun]:
        limit, offset = self._page(body.limit, body.offset)
        with read(self._engine) as conn:
            return run_store.filter_flow_runs(
                conn, self._ws, body.flow_runs, body.flows, body.sort, limit, offset
            )

    def set_flow_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        with write(self._engine) as conn:
            return run_store.set_flow_run_state(conn, self._ws, run_id, state)

    def read_flow_run_states(self, run_id: uuid.UUID) -> list[State]:
        with read(self._engine) as conn:
            run_store.read_flow_run(conn, self._ws, run_id)
            return run_store.list_states(conn, self._ws, flow_run_id=run_id)

    def create_task_run(self, action: TaskRunCreate) -> TaskRun:
        with write(self._engine) as conn:
            return run_store.create_task_run(conn, self._ws, action)

    def read_task_run(self, run_id: uuid.UUID) -> TaskRun:
        with read(self._engine) as conn:
            return run_store.read_task_run(conn, self._ws, run_id)

    def filter_task_runs(self, body: TaskRunFilterBody) -> list[TaskRun]:
        limit, offset = self._page(body.limit, body.offset)
        with read(self._engine) as conn:
            return run_store.filter_task_runs(
                conn, self._ws, body.task_runs, body.flow_runs, body.sort, limit, offset
            )

    def set_task_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        with write(self._engine) as conn:
            return run_store.set_task_run_state(conn, self._ws, run_id, state)

    def read_task_run_states(self, run_id: uuid.UUID) -> list[State]:
        with read(self._engine) as conn:
            run_store.read_task_run(conn, self._ws, run_id)
            return run_store.list_states(conn, self._ws, task_run_id=run_id)

    def record_task_runs(self, records: list[TaskRunRecord]) -> None:
        with write(self._engine) as conn:
            run_store.record_task_runs(conn, self._ws, records)

    def create_logs(self, logs: list[LogCreate]) -> None:
        with write(self._engine) as conn:
            log_store.create_logs(conn, self._ws, logs)

    def read_logs(self, flow_run_id: uuid.UUID, limit: int | None = None) -> list[Log]:
        limit, offset = self._page(limit, 0)
        with read(self._engine) as conn:
            return log_store.list_logs(conn, self._ws, flow_run_id, limit, offset)

    def close(self) -> None:
        """Nothing to release: engines are shared per database for the process."""

"""The embedded transport: the same calls go straight to the store on a local database.

The client owns its engine: `close()` disposes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import BinaryIO

from runfolio import ops
from runfolio._recorder import TaskRunRecorder
from runfolio.ops import blobs as blob_ops
from runfolio.schemas.appends import RowsAppend, RowsAppended
from runfolio.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.blobs import Blob
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
    TaskRunRecordFields,
)
from runfolio.settings import Settings
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.engine import DEFAULT_WRITE_TIMEOUT, connect

# A script waits longer for the write lock than a server request does: it has no
# one to answer 503 to.
EMBEDDED_WRITE_TIMEOUT = max(DEFAULT_WRITE_TIMEOUT, 30.0)


class EmbeddedClient:
    """Reads and writes the database at `settings.resolved_database_url()` in-process."""

    def __init__(self, settings: Settings, caller: ops.Caller | None = None) -> None:
        self.target = settings.resolved_database_url()
        self.settings = settings  # a task runner tells its workers where the store is
        engine = connect(
            self.target,
            synchronous=settings.sqlite_synchronous,
            write_timeout=max(settings.write_timeout, EMBEDDED_WRITE_TIMEOUT),
            pool_size=settings.db_pool_size,
        )
        self._ctx = ops.Context.configured(engine, settings, caller)
        self._blob_files = BlobFiles(settings.resolved_blob_dir(), settings.blob_max_bytes)
        self.recorder = TaskRunRecorder(self)

    # -- artifacts
    def create_artifact(self, action: ArtifactCreate) -> Artifact:
        return ops.create_artifact(self._ctx, action)[0]

    def read_artifact(self, artifact_id: uuid.UUID) -> Artifact:
        return ops.read_artifact(self._ctx, artifact_id)

    def read_latest_artifact(self, key: str) -> Artifact:
        return ops.read_latest_artifact(self._ctx, key)

    def update_artifact(self, artifact_id: uuid.UUID, action: ArtifactUpdate) -> None:
        ops.update_artifact(self._ctx, artifact_id, action)

    def append_table_rows(self, artifact_id: uuid.UUID, action: RowsAppend) -> RowsAppended:
        return ops.append_table_rows(self._ctx, artifact_id, action)

    def delete_artifact(self, artifact_id: uuid.UUID) -> None:
        ops.delete_artifact(self._ctx, artifact_id)

    def filter_artifacts(self, body: ArtifactFilterBody) -> list[Artifact]:
        return ops.filter_artifacts(self._ctx, body)

    def filter_latest_artifacts(self, body: CollectionFilterBody) -> list[ArtifactCollection]:
        return ops.filter_latest_artifacts(self._ctx, body)

    def count_artifacts(self, body: ArtifactCountBody) -> int:
        return ops.count_artifacts(self._ctx, body)

    def count_latest_artifacts(self, body: CollectionCountBody) -> int:
        return ops.count_latest_artifacts(self._ctx, body)

    # -- flows and runs
    def create_flow(self, action: FlowCreate) -> Flow:
        return ops.create_flow(self._ctx, action)[0]

    def read_flow(self, flow_id: uuid.UUID) -> Flow:
        return ops.read_flow(self._ctx, flow_id)

    def create_flow_run(self, action: FlowRunCreate) -> FlowRun:
        return ops.create_flow_run(self._ctx, action)

    def read_flow_run(self, run_id: uuid.UUID) -> FlowRun:
        return ops.read_flow_run(self._ctx, run_id)

    def filter_flow_runs(self, body: FlowRunFilterBody) -> list[FlowRun]:
        return ops.filter_flow_runs(self._ctx, body)

    def set_flow_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        return ops.set_flow_run_state(self._ctx, run_id, state)

    def read_flow_run_states(self, run_id: uuid.UUID) -> list[State]:
        return ops.read_flow_run_states(self._ctx, run_id)

    def create_task_run(self, action: TaskRunCreate) -> TaskRun:
        return ops.create_task_run(self._ctx, action)

    def read_task_run(self, run_id: uuid.UUID) -> TaskRun:
        return ops.read_task_run(self._ctx, run_id)

    def filter_task_runs(self, body: TaskRunFilterBody) -> list[TaskRun]:
        return ops.filter_task_runs(self._ctx, body)

    def set_task_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        return ops.set_task_run_state(self._ctx, run_id, state)

    def read_task_run_states(self, run_id: uuid.UUID) -> list[State]:
        return ops.read_task_run_states(self._ctx, run_id)

    def record_task_runs(self, records: Sequence[TaskRunRecordFields]) -> None:
        ops.record_task_runs(self._ctx, records)

    def create_logs(self, logs: list[LogCreate]) -> None:
        ops.create_logs(self._ctx, logs)

    def read_logs(self, flow_run_id: uuid.UUID, limit: int | None = None) -> list[Log]:
        return ops.read_logs(self._ctx, flow_run_id, limit)

    def upload_blob(
        self, source: BinaryIO, content_type: str | None = None, filename: str | None = None
    ) -> Blob:
        return blob_ops.upload_blob(self._ctx, self._blob_files, source, content_type, filename)

    def drain_outbox(self) -> int:
        """Nothing is ever queued: every write is committed before its call returns."""
        return 0

    def close(self) -> None:
        """Write pending task runs, then release the database connections."""
        self.recorder.close()
        self._ctx.db.dispose()

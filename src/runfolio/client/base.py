"""The client interface: one set of calls, two transports (embedded and HTTP).

Every method is synchronous; `runfolio.artifacts` offers async variants at the
edge by running these in a worker thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO, Protocol

# The schemas are only named in annotations: loading them (pydantic models of runs,
# filters, sorts) waits for the first call, so `import runfolio.artifacts` stays quick.
if TYPE_CHECKING:
    from runfolio._recorder import TaskRunRecorder
    from runfolio.schemas.appends import RowsAppend, RowsAppended
    from runfolio.schemas.artifacts import (
        Artifact,
        ArtifactCollection,
        ArtifactCreate,
        ArtifactUpdate,
    )
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


class RunfolioClient(Protocol):
    """What the SDK, the CLI and tests call; implemented by both transports."""

    #: Where the client sends its calls: a URL, or the embedded database's URL.
    target: str
    #: Writes this client's task runs in the background, in batches.
    recorder: TaskRunRecorder

    # -- artifacts
    def create_artifact(self, action: ArtifactCreate) -> Artifact: ...
    def read_artifact(self, artifact_id: uuid.UUID) -> Artifact: ...
    def read_latest_artifact(self, key: str) -> Artifact: ...
    def update_artifact(self, artifact_id: uuid.UUID, action: ArtifactUpdate) -> None: ...
    def append_table_rows(self, artifact_id: uuid.UUID, action: RowsAppend) -> RowsAppended | None:
        """Add rows to a table artifact; None when the write was queued (HTTP outbox)."""
        ...

    def delete_artifact(self, artifact_id: uuid.UUID) -> None: ...
    def filter_artifacts(self, body: ArtifactFilterBody) -> list[Artifact]: ...
    def filter_latest_artifacts(self, body: CollectionFilterBody) -> list[ArtifactCollection]: ...
    def count_artifacts(self, body: ArtifactCountBody) -> int: ...
    def count_latest_artifacts(self, body: CollectionCountBody) -> int: ...

    # -- flows and runs
    def create_flow(self, action: FlowCreate) -> Flow: ...
    def read_flow(self, flow_id: uuid.UUID) -> Flow: ...
    def create_flow_run(self, action: FlowRunCreate) -> FlowRun: ...
    def read_flow_run(self, run_id: uuid.UUID) -> FlowRun: ...
    def filter_flow_runs(self, body: FlowRunFilterBody) -> list[FlowRun]: ...
    def set_flow_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State: ...
    def read_flow_run_states(self, run_id: uuid.UUID) -> list[State]: ...
    def create_task_run(self, action: TaskRunCreate) -> TaskRun: ...
    def read_task_run(self, run_id: uuid.UUID) -> TaskRun: ...
    def filter_task_runs(self, body: TaskRunFilterBody) -> list[TaskRun]: ...
    def set_task_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State: ...
    def read_task_run_states(self, run_id: uuid.UUID) -> list[State]: ...
    def record_task_runs(self, records: Sequence[TaskRunRecordFields]) -> None: ...
    def create_logs(self, logs: list[LogCreate]) -> None: ...
    def read_logs(self, flow_run_id: uuid.UUID, limit: int | None = None) -> list[Log]: ...

    # -- blobs (uploads are sent at once, never queued: the outbox keeps no files)
    def upload_blob(
        self, source: BinaryIO, content_type: str | None = None, filename: str | None = None
    ) -> Blob:
        """Store the bytes read from `source` (streamed) in the blob store of the workspace."""
        ...

    def drain_outbox(self) -> int:
        """Wait (up to RUNFOLIO_OUTBOX_DRAIN_SECONDS) for writes queued because the server
        did not take them; returns how many are still queued (always 0 when embedded)."""
        ...

    def close(self) -> None:
        """Write what the recorder holds, then release connections and threads."""
        ...

"""The HTTP transport: httpx with keep-alive, short timeouts, and an outbox for writes.

Writes (artifact creates and updates, runs, states, task-run records, logs) are
sent once with a short timeout (RUNFOLIO_HTTP_WRITE_TIMEOUT); when the server
does not take one (no connection, a timeout, 408, 429 or 5xx) it is queued in
the outbox on local disk and the call returns what the server would have
answered, built from the request (creates carry client-chosen ids). A sender
delivers the outbox in order in the background (`runfolio.client.sender`); while
anything is queued for the server, later writes are queued behind it.

Reads cannot be queued: connection errors and 5xx answers are retried with
backoff within RUNFOLIO_HTTP_TIMEOUT in all, then raise `ServerUnreachable`
naming the URL. Other error answers become runfolio exceptions.
"""

from __future__ import annotations

import atexit
import functools
import io
import logging
import os
import time
import uuid
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import GenericAlias
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import httpx
from pydantic import BaseModel, TypeAdapter

from runfolio._recorder import TaskRunRecorder
from runfolio._version import __version__
from runfolio.client.sender import Sender, is_transient, release, sender_for
from runfolio.errors import (
    Conflict,
    Forbidden,
    Invalid,
    LimitTooLarge,
    NotFound,
    ServerError,
    ServerUnreachable,
    Unauthenticated,
)
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
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.runs import (
    Flow,
    FlowCreate,
    FlowRun,
    FlowRunCreate,
    Log,
    LogCreate,
    OrchestrationResult,
    State,
    StateCreate,
    StateFields,
    TaskRun,
    TaskRunCreate,
    TaskRunRecordFields,
    default_state_name,
)
from runfolio.settings import Settings

log = logging.getLogger("runfolio")

# Task runs the recorder sends at once without waiting out its interval: the server
# writes them while the flow queues the next ones.
TASK_RUN_BATCH = 200

if TYPE_CHECKING:  # for the checker only: older typing_extensions (as pydantic allows) lack it
    from typing_extensions import TypeForm

M = TypeVar("M", bound=BaseModel)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.2
BACKOFF_MAX_S = 5.0
#: A server that does not accept a connection within this is treated as down.
CONNECT_TIMEOUT_S = 2.0
UPLOAD_CHUNK_BYTES = 1024 * 1024
_JSON = {"Content-Type": "application/json"}

_adapters: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def _list_of(model: type[M], content: bytes) -> list[M]:
    adapter = _adapters.get(model)
    if adapter is None:
        # `list[model]`, built at run time: a type checker cannot read it as the type it is.
        items_type = cast("TypeForm[list[M]]", GenericAlias(list, (model,)))
        adapter = _adapters[model] = TypeAdapter(items_type)
    result: list[M] = adapter.validate_json(content)
    return result


def _error_from(response: httpx.Response) -> Exception:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    detail = body.get("detail") if isinstance(body, dict) else None
    url = str(response.request.url)
    if response.status_code == 404:
        return NotFound(detail or f"Not found: {url}")
    if response.status_code == 409:
        return Conflict(detail or "Conflict")
    if response.status_code == 401:
        return Unauthenticated(
            f"{detail or 'Not authenticated'} (set RUNFOLIO_API_KEY to a key for {url})"
        )
    if response.status_code == 403:
        return Forbidden(detail or "Forbidden")
    if response.status_code == 422:
        max_limit = response.headers.get(LimitTooLarge.header, "")
        if max_limit.isdecimal():
            return LimitTooLarge(int(max_limit))
        errors = body.get("exception_detail") if isinstance(body, dict) else None
        if errors:
            reasons = "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in errors
            )
            return Invalid(f"Invalid request: {reasons}", errors)
        return Invalid(detail or str(body))
    return ServerError(response.status_code, detail or body, url)


def _remaining_size(source: BinaryIO) -> int | None:
    """Bytes left to read in a file or buffer, when it can tell."""
    try:
        return os.fstat(source.fileno()).st_size - source.tell()
    except (AttributeError, OSError, ValueError):
        pass
    if isinstance(source, io.BytesIO):
        return source.getbuffer().nbytes - source.tell()
    return None


def _state_body(state: StateFields) -> dict[str, Any]:
    return {
        "id": state.id,
        "type": state.type,
        "name": state.name,
        "message": state.message,
        "data": state.data,
        "state_details": dict(state.state_details),
        "timestamp": state.timestamp,
    }


def _task_run_record_body(record: TaskRunRecordFields) -> dict[str, Any]:
    """A `TaskRunRecord`'s JSON fields (ids, times and state types as pydantic-core
    writes them), from the record's fields: the SDK's records are not pydantic models."""
    run = record.task_run
    return {
        "task_run": {
            "id": run.id,
            "name": run.name,
            "flow_run_id": run.flow_run_id,
            "task_key": run.task_key,
            "dynamic_key": run.dynamic_key,
            "cache_key": run.cache_key,
            "task_version": run.task_version,
            "empirical_policy": run.empirical_policy,
            "tags": run.tags,
            "labels": run.labels,
            "task_inputs": run.task_inputs,
            "state": None if run.state is None else _state_body(run.state),
        },
        "states": [_state_body(state) for state in record.states],
    }


def _encode(body: Any) -> bytes | None:
    if isinstance(body, BaseModel):
        return body.model_dump_json(exclude_unset=True).encode()
    if body is not None:
        return TypeAdapter(type(body)).dump_json(body)
    return None


class HttpClient:
    """Talks to a runfolio server (or any server of the same protocol) at `settings.api_url`."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.api_url:
            raise ValueError("HttpClient needs settings.api_url")
        self.target = settings.api_url
        headers = {"User-Agent": f"runfolio/{__version__}"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._settings = settings
        self.settings = settings  # a task runner tells its workers where the server is
        # Appends made per artifact: a queued update merges only with updates queued
        # since the last append, so it never moves past rows appended after it.
        self._appends: dict[uuid.UUID, int] = {}
        self._transport = transport
        self._retries = settings.http_retries
        self._read_budget = settings.http_timeout
        self._write_timeout = httpx.Timeout(
            settings.http_write_timeout, connect=min(settings.http_write_timeout, CONNECT_TIMEOUT_S)
        )
        self.recorder = TaskRunRecorder(self, batch_size=TASK_RUN_BATCH)
        _live.add(self)
        self._http = httpx.Client(
            base_url=settings.api_url + "/",
            headers=headers,
            timeout=httpx.Timeout(
                settings.http_timeout, connect=min(settings.http_timeout, CONNECT_TIMEOUT_S)
            ),
            transport=transport,
        )
        # The outbox is opened when a write must be queued, or now when the file exists
        # (what an earlier process left for this server is delivered, and goes first).
        self._sender: Sender | None = None
        self._drain_mark = 0  # `Sender.queued` when this client last waited for delivery
        if self.outbox_path.exists():
            sender = self._open_sender()
            with sender.lock:
                if not sender.spooling and sender.outbox.count(self.target):
                    sender.spooling = True
                    sender.wake()

    @property
    def outbox_path(self) -> Path:
        from runfolio.client.outbox import default_path

        return default_path(self._settings.home)

    def _open_sender(self) -> Sender:
        from runfolio.client.outbox import open_outbox

        if self._sender is None:
            outbox = open_outbox(self.outbox_path, self._settings.outbox_max_bytes)
            self._sender = sender_for(
                outbox,
                self.target,
                self._settings.api_key,
                self._settings.http_timeout,
                self._transport,
            )
        return self._sender

    def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """A read (or a delete): retried with backoff, within the read budget in all."""
        content = _encode(body)
        headers = _JSON if content is not None else None
        deadline = time.monotonic() + self._read_budget
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            timeout = httpx.Timeout(
                max(remaining, 0.1), connect=min(max(remaining, 0.1), CONNECT_TIMEOUT_S)
            )
            try:
                response = self._http.request(
                    method, path, content=content, headers=headers, timeout=timeout
                )
            except httpx.TransportError as exc:
                if attempt >= self._retries or time.monotonic() >= deadline:
                    raise self._unreachable(f"{type(exc).__name__}: {exc}") from None
            else:
                if (
                    response.status_code not in RETRY_STATUSES
                    or attempt >= self._retries
                    or time.monotonic() >= deadline
                ):
                    if response.is_error:
                        raise _error_from(response)
                    return response
            delay = min(BACKOFF_BASE_S * 2**attempt, BACKOFF_MAX_S)
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            attempt += 1

    def _unreachable(self, reason: str) -> ServerUnreachable:
        sender = self._sender
        if sender is not None and sender.spooling:
            reason += (
                "; reads cannot be queued (writes are, in the outbox, until the server answers)"
            )
        return ServerUnreachable(self.target, reason)

    def _write(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        merge_key: str | None = None,
        local_id: str | None = None,
        queued_body: Any = None,
    ) -> httpx.Response | None:
        """Send a write, or queue it in the outbox; None when it was queued.

        `queued_body`, when given, is what the outbox keeps instead of `body` (a create
        queued for later carries the time it was made)."""
        content = _encode(body)
        queued = content if queued_body is None else _encode(queued_body)
        sender = self._sender
        if sender is not None:
            if sender.spooling:
                with sender.lock:
                    if sender.spooling:  # behind what is queued: the order is kept
                        sender.queue(method, path, queued, merge_key=merge_key, local_id=local_id)
                        return None
            if sender.id_map:  # ids invented while the server was away, now known
                path = sender.remap(path)
                if content is not None:
                    content = sender.remap(content.decode()).encode()
        try:
            response = self._http.request(
                method,
                path,
                content=content,
                headers=_JSON if content is not None else None,
                timeout=self._write_timeout,
            )
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if not is_transient(response.status_code):
                if response.is_error:
                    raise _error_from(response)
                return response
            reason = f"it answered {response.status_code}"
        sender = self._open_sender()
        with sender.lock:
            sender.queue(
                method, path, queued, merge_key=merge_key, local_id=local_id, reason=reason
            )
        return None

    def wait_delivered(self, timeout: float) -> int:
        """Wait up to `timeout` s for the outbox of this server to be delivered; returns
        how many records are still queued."""
        sender = self._sender
        if sender is None or not sender.spooling:
            return 0
        return sender.wait_delivered(timeout)

    def drain_outbox(self) -> int:
        """At the end of a flow (and of the process): wait for the queued writes up to
        RUNFOLIO_OUTBOX_DRAIN_SECONDS, and say what is left and who will deliver it."""
        seconds = self._settings.outbox_drain_seconds
        left = self.wait_delivered(seconds)
        if self._sender is not None:
            self._drain_mark = self._sender.queued
        if left:
            log.warning(
                "runfolio: %d write(s) for %s are still queued in %s after waiting %g s; the "
                "next runfolio process that writes to this server, or `runfolio outbox flush`, "
                "will deliver them.",
                left,
                self.target,
                self.outbox_path,
                seconds,
            )
        return left

    def _model(self, model: type[M], method: str, path: str, body: Any = None) -> M:
        return model.model_validate_json(self._request(method, path, body).content)

    # -- artifacts
    def create_artifact(self, action: ArtifactCreate) -> Artifact:
        artifact_id = action.id or new_id()
        if action.id is None:  # a queued create must be idempotent when sent again
            action = action.model_copy(update={"id": artifact_id})
        now = utcnow()
        # Queued, it keeps the time it was made (the server would stamp its delivery).
        late = action.model_copy(update={"created": now})
        response = self._write("POST", "artifacts/", action, queued_body=late)
        if response is not None:
            return Artifact.model_validate_json(response.content)
        return Artifact(
            id=artifact_id,
            created=now,
            updated=now,
            key=action.key,
            type=action.type,
            description=action.description,
            data=action.data,
            metadata_=action.metadata_,
            flow_run_id=action.flow_run_id,
            task_run_id=action.task_run_id,
        )

    def read_artifact(self, artifact_id: uuid.UUID) -> Artifact:
        return self._model(Artifact, "GET", f"artifacts/{artifact_id}")

    def read_latest_artifact(self, key: str) -> Artifact:
        return self._model(Artifact, "GET", f"artifacts/{key}/latest")

    def update_artifact(self, artifact_id: uuid.UUID, action: ArtifactUpdate) -> None:
        path = f"artifacts/{artifact_id}"
        # Queued updates of one artifact merge: only the newest value needs sending.
        appends = self._appends.get(artifact_id)
        self._write("PATCH", path, action, merge_key=f"{path}#{appends}" if appends else path)

    def append_table_rows(self, artifact_id: uuid.UUID, action: RowsAppend) -> RowsAppended | None:
        # Queued appends are sent one by one in order (never merged: each adds rows).
        self._appends[artifact_id] = self._appends.get(artifact_id, 0) + 1
        response = self._write("POST", f"artifacts/{artifact_id}/rows", action)
        if response is None:
            return None
        return RowsAppended.model_validate_json(response.content)

    def delete_artifact(self, artifact_id: uuid.UUID) -> None:
        self._request("DELETE", f"artifacts/{artifact_id}")

    def filter_artifacts(self, body: ArtifactFilterBody) -> list[Artifact]:
        return _list_of(Artifact, self._request("POST", "artifacts/filter", body).content)

    def filter_latest_artifacts(self, body: CollectionFilterBody) -> list[ArtifactCollection]:
        response = self._request("POST", "artifacts/latest/filter", body)
        return _list_of(ArtifactCollection, response.content)

    def count_artifacts(self, body: ArtifactCountBody) -> int:
        return int(self._request("POST", "artifacts/count", body).json())

    def count_latest_artifacts(self, body: CollectionCountBody) -> int:
        return int(self._request("POST", "artifacts/latest/count", body).json())

    # -- flows and runs
    def create_flow(self, action: FlowCreate) -> Flow:
        # Get-or-create by name: queued, it gets an id here, which the sender maps to
        # the server's id (in the records queued after it) once it is delivered.
        local_id = uuid.uuid4()
        response = self._write("POST", "flows/", action, local_id=str(local_id))
        if response is not None:
            return Flow.model_validate_json(response.content)
        now = utcnow()
        return Flow(
            id=local_id,
            created=now,
            updated=now,
            name=action.name,
            tags=action.tags,
            labels=action.labels or {},
        )

    def read_flow(self, flow_id: uuid.UUID) -> Flow:
        return self._model(Flow, "GET", f"flows/{flow_id}")

    def create_flow_run(self, action: FlowRunCreate) -> FlowRun:
        run_id = action.id or new_id()
        name = action.name
        if name is None:  # named here, so a queued run has its name from the start
            from runfolio.names import run_name

            name = run_name()
        update: dict[str, Any] = {"id": run_id, "name": name}
        if action.id is None or action.name is None:
            action = action.model_copy(update=update)
        response = self._write("POST", "flow_runs/", action)
        if response is not None:
            return FlowRun.model_validate_json(response.content)
        now = utcnow()
        state = action.state
        return FlowRun(
            id=run_id,
            created=now,
            updated=now,
            name=name,
            flow_id=action.flow_id,
            flow_version=action.flow_version,
            parameters=action.parameters,
            context=action.context,
            empirical_policy=action.empirical_policy,
            tags=action.tags,
            labels=action.labels or {},
            parent_task_run_id=action.parent_task_run_id,
            idempotency_key=action.idempotency_key,
            state_type=state.type if state else None,
            state_name=(state.name or default_state_name(state.type)) if state else None,
            expected_start_time=now,
            state=_local_state(state) if state else None,
        )

    def read_flow_run(self, run_id: uuid.UUID) -> FlowRun:
        return self._model(FlowRun, "GET", f"flow_runs/{run_id}")

    def filter_flow_runs(self, body: FlowRunFilterBody) -> list[FlowRun]:
        return _list_of(FlowRun, self._request("POST", "flow_runs/filter", body).content)

    def set_flow_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        return self._set_state(f"flow_runs/{run_id}/set_state", state)

    def _set_state(self, path: str, state: StateCreate) -> State:
        if state.timestamp is None:  # a queued state keeps the time it was entered
            state = state.model_copy(update={"timestamp": utcnow()})
        body = {"state": state.model_dump(mode="json", exclude_unset=True), "force": True}
        response = self._write("POST", path, body)
        if response is not None:
            return OrchestrationResult.model_validate_json(response.content).state
        return _local_state(state)

    def read_flow_run_states(self, run_id: uuid.UUID) -> list[State]:
        return _list_of(State, self._request("GET", f"flow_runs/{run_id}/states").content)

    def create_task_run(self, action: TaskRunCreate) -> TaskRun:
        run_id = action.id or new_id()
        if action.id is None:
            action = action.model_copy(update={"id": run_id})
        response = self._write("POST", "task_runs/", action)
        if response is not None:
            return TaskRun.model_validate_json(response.content)
        now = utcnow()
        state = action.state
        if state is not None and state.timestamp is not None:
            return TaskRun.started(action, state)
        return TaskRun(
            id=run_id,
            created=now,
            updated=now,
            name=action.name or action.task_key,
            flow_run_id=action.flow_run_id,
            task_key=action.task_key,
            dynamic_key=action.dynamic_key,
            tags=action.tags,
        )

    def read_task_run(self, run_id: uuid.UUID) -> TaskRun:
        return self._model(TaskRun, "GET", f"task_runs/{run_id}")

    def filter_task_runs(self, body: TaskRunFilterBody) -> list[TaskRun]:
        return _list_of(TaskRun, self._request("POST", "task_runs/filter", body).content)

    def set_task_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        return self._set_state(f"task_runs/{run_id}/set_state", state)

    def read_task_run_states(self, run_id: uuid.UUID) -> list[State]:
        return _list_of(State, self._request("GET", f"task_runs/{run_id}/states").content)

    def record_task_runs(self, records: Sequence[TaskRunRecordFields]) -> None:
        self._write("POST", "task_runs/batch", [_task_run_record_body(r) for r in records])

    def create_logs(self, logs: list[LogCreate]) -> None:
        self._write("POST", "logs/", [log.model_dump(mode="json") for log in logs])

    def read_logs(self, flow_run_id: uuid.UUID, limit: int | None = None) -> list[Log]:
        body = {"logs": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": limit}
        return _list_of(Log, self._request("POST", "logs/filter", body).content)

    def upload_blob(
        self, source: BinaryIO, content_type: str | None = None, filename: str | None = None
    ) -> Blob:
        """POST the bytes as they are read (never whole in memory); not retried and never
        queued: a stream cannot be sent twice, and the outbox keeps no files."""
        headers = {"Content-Type": content_type or "application/octet-stream"}
        size = _remaining_size(source)
        if size is not None:  # lets the server refuse an oversized file before it is sent
            headers["Content-Length"] = str(size)
        chunks = iter(functools.partial(source.read, UPLOAD_CHUNK_BYTES), b"")
        try:
            response = self._http.post(
                "blobs",
                content=chunks,
                headers=headers,
                params={"filename": filename} if filename else None,
            )
        except httpx.TransportError as exc:
            raise self._unreachable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code == 413:
            raise Invalid(str(response.json().get("detail", "The file is too large.")))
        if response.is_error:
            raise _error_from(response)
        return Blob.model_validate_json(response.content)

    def close(self) -> None:
        """Write pending task runs, then close the connection pool and stop delivering
        the outbox (what is queued stays on disk for the next client or process)."""
        self.recorder.close()
        self._http.close()
        _live.discard(self)
        if self._sender is not None:
            release(self._sender)
            self._sender = None


def _local_state(state: StateCreate) -> State:
    """The state a queued write will store, as the server would answer it."""
    return State(
        id=getattr(state, "id", None) or uuid.uuid4(),
        type=state.type,
        name=state.name or default_state_name(state.type),
        timestamp=state.timestamp or utcnow(),
        message=state.message,
        data=state.data,
        state_details=state.state_details,
    )


# Clients still in use: at exit, what they queued gets its chance to be delivered.
_live: weakref.WeakSet[HttpClient] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for client in list(_live):
        try:
            client.recorder.flush()  # task runs first (the recorder's own hook runs later)
            sender = client._sender
            if sender is not None and sender.queued != client._drain_mark:
                client.drain_outbox()  # not again for what the end of a flow waited for
        except Exception as exc:  # exiting: report, never raise
            log.error("runfolio: could not deliver the outbox to %s: %s", client.target, exc)

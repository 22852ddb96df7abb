"""The HTTP transport: httpx with keep-alive, timeouts and bounded retries.

Connection errors and 5xx answers are retried with exponential backoff; the
SDK's creates carry client-chosen ids, so a retried create cannot duplicate.
Error answers become runfolio exceptions.
"""

from __future__ import annotations

import time
import uuid
from types import GenericAlias
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from pydantic import BaseModel, TypeAdapter

from runfolio._recorder import TaskRunRecorder
from runfolio._version import __version__
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
    OrchestrationResult,
    State,
    StateCreate,
    TaskRun,
    TaskRunCreate,
    TaskRunRecord,
)
from runfolio.settings import Settings

if TYPE_CHECKING:  # for the checker only: older typing_extensions (as pydantic allows) lack it
    from typing_extensions import TypeForm

M = TypeVar("M", bound=BaseModel)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.2
BACKOFF_MAX_S = 5.0

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


class HttpClient:
    """Talks to a runfolio server (or any server of the same protocol) at `settings.api_url`."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.api_url:
            raise ValueError("HttpClient needs settings.api_url")
        self.target = settings.api_url
        headers = {"User-Agent": f"runfolio/{__version__}"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._retries = settings.http_retries
        self.recorder = TaskRunRecorder(self)
        self._http = httpx.Client(
            base_url=settings.api_url + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.http_timeout, connect=min(settings.http_timeout, 5.0)),
            transport=transport,
        )

    def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        content: bytes | None = None
        if isinstance(body, BaseModel):
            content = body.model_dump_json(exclude_unset=True).encode()
        elif body is not None:
            content = TypeAdapter(type(body)).dump_json(body)
        headers = {"Content-Type": "application/json"} if content is not None else None
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, content=content, headers=headers)
            except httpx.TransportError as exc:
                if attempt >= self._retries:
                    raise ServerUnreachable(self.target, f"{type(exc).__name__}: {exc}") from None
            else:
                if response.status_code not in RETRY_STATUSES or attempt >= self._retries:
                    if response.is_error:
                        raise _error_from(response)
                    return response
            time.sleep(min(BACKOFF_BASE_S * 2**attempt, BACKOFF_MAX_S))
            attempt += 1

    def _model(self, model: type[M], method: str, path: str, body: Any = None) -> M:
        return model.model_validate_json(self._request(method, path, body).content)

    # -- artifacts
    def create_artifact(self, action: ArtifactCreate) -> Artifact:
        return self._model(Artifact, "POST", "artifacts/", action)

    def read_artifact(self, artifact_id: uuid.UUID) -> Artifact:
        return self._model(Artifact, "GET", f"artifacts/{artifact_id}")

    def read_latest_artifact(self, key: str) -> Artifact:
        return self._model(Artifact, "GET", f"artifacts/{key}/latest")

    def update_artifact(self, artifact_id: uuid.UUID, action: ArtifactUpdate) -> None:
        self._request("PATCH", f"artifacts/{artifact_id}", action)

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
        return self._model(Flow, "POST", "flows/", action)

    def read_flow(self, flow_id: uuid.UUID) -> Flow:
        return self._model(Flow, "GET", f"flows/{flow_id}")

    def create_flow_run(self, action: FlowRunCreate) -> FlowRun:
        return self._model(FlowRun, "POST", "flow_runs/", action)

    def read_flow_run(self, run_id: uuid.UUID) -> FlowRun:
        return self._model(FlowRun, "GET", f"flow_runs/{run_id}")

    def filter_flow_runs(self, body: FlowRunFilterBody) -> list[FlowRun]:
        return _list_of(FlowRun, self._request("POST", "flow_runs/filter", body).content)

    def set_flow_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        body = {"state": state.model_dump(mode="json", exclude_unset=True), "force": True}
        result = self._model(OrchestrationResult, "POST", f"flow_runs/{run_id}/set_state", body)
        return result.state

    def read_flow_run_states(self, run_id: uuid.UUID) -> list[State]:
        return _list_of(State, self._request("GET", f"flow_runs/{run_id}/states").content)

    def create_task_run(self, action: TaskRunCreate) -> TaskRun:
        return self._model(TaskRun, "POST", "task_runs/", action)

    def read_task_run(self, run_id: uuid.UUID) -> TaskRun:
        return self._model(TaskRun, "GET", f"task_runs/{run_id}")

    def filter_task_runs(self, body: TaskRunFilterBody) -> list[TaskRun]:
        return _list_of(TaskRun, self._request("POST", "task_runs/filter", body).content)

    def set_task_run_state(self, run_id: uuid.UUID, state: StateCreate) -> State:
        body = {"state": state.model_dump(mode="json", exclude_unset=True), "force": True}
        result = self._model(OrchestrationResult, "POST", f"task_runs/{run_id}/set_state", body)
        return result.state

    def read_task_run_states(self, run_id: uuid.UUID) -> list[State]:
        return _list_of(State, self._request("GET", f"task_runs/{run_id}/states").content)

    def record_task_runs(self, records: list[TaskRunRecord]) -> None:
        self._request("POST", "task_runs/batch", [r.model_dump(mode="json") for r in records])

    def create_logs(self, logs: list[LogCreate]) -> None:
        self._request("POST", "logs/", [log.model_dump(mode="json") for log in logs])

    def read_logs(self, flow_run_id: uuid.UUID, limit: int | None = None) -> list[Log]:
        body = {"logs": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": limit}
        return _list_of(Log, self._request("POST", "logs/filter", body).content)

    def close(self) -> None:
        """Write pending task runs, then close the connection pool."""
        self.recorder.close()
        self._http.close()

"""WS `/events/in`: the events stream a run engine sends while it runs.

Protocol (as the client speaks it): the client offers subprotocol `prefect`,
pings, sends `{"type": "auth", "token": <str | null>}` and expects
`{"type": "auth_success"}`; then every text frame is one event:
`{"occurred", "event", "resource": {label: str}, "related": [{label: str}],
"payload": {...}, "id", "follows"}`. The server sends nothing more.

`prefect.task-run.<State>` events are how task runs are reported (the engine
makes no REST call for them): each becomes a task run row and a state in its
history (`runfolio.store.events`). The resource is
`prefect.task-run.<id>` with labels `prefect.state-type`, `prefect.state-name`,
`prefect.state-message`, `prefect.state-timestamp`; the flow run is the related
resource with role `flow-run`; the payload holds `validated_state`
(`type, name, message, state_details, data`) and `task_run` (`name, task_key,
dynamic_key, tags, labels, task_inputs, empirical_policy, run_count,
flow_run_run_count, expected_start_time, start_time, end_time, total_run_time`,
absent fields omitted). Every other event (artifact created/updated, flow-run
heartbeats, ...) is accepted and dropped: artifacts arrive through their own routes.

Who may send: the token of the `auth` message, or an `Authorization` header on
the upgrade request (Prefect's client sends one with an auth string), is checked
as the REST API checks its header (`runfolio.server.auth`); on a server that
needs credentials, a missing or bad one is refused (close 1008) and nothing is
recorded, and each event is written with the caller's role in the addressed
workspace. A connection whose upgrade carried an `Authorization` header may skip
the `auth` message: Prefect's Cloud client (used when PREFECT_API_URL starts with
PREFECT_CLOUD_API_URL) sends `Authorization: bearer <PREFECT_API_KEY>` and then its
events straight away. A browser's upgrade request from a page of another origin is
refused before the handshake (a hostile page must not write through a user's browser).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.websockets import WebSocketDisconnect

from runfolio import ops
from runfolio.errors import Busy, Forbidden, NotFound, RunfolioError, Unauthenticated
from runfolio.ops.access import OPEN, Principal
from runfolio.schemas.common import Int32
from runfolio.schemas.runs import StateCreate, StateType, TaskRunCreate
from runfolio.server.deps import Api, api_as, authenticator, workspace_of
from runfolio.store.events import TaskRunReport

log = logging.getLogger("runfolio.server.events")

router = APIRouter(tags=["events"])

SUBPROTOCOL = "prefect"
TASK_RUN_EVENT = "prefect.task-run."
TASK_RUN_RESOURCE = "prefect.task-run."
FLOW_RUN_RESOURCE = "prefect.flow-run."
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Event(_Lenient):
    occurred: dt.datetime
    event: str
    resource: dict[str, str]
    related: list[dict[str, str]] = Field(default_factory=list)
    payload: dict[str, Any] = Field(default_factory=dict)
    id: uuid.UUID
    follows: uuid.UUID | None = None


class _ReportedState(_Lenient):
    type: StateType
    name: str | None = None
    message: str | None = None
    state_details: dict[str, Any] = Field(default_factory=dict)
    data: Any = None


class _ReportedTaskRun(_Lenient):
    name: str | None = None
    task_key: str | None = None
    dynamic_key: str | None = None
    cache_key: str | None = None
    task_version: str | None = None
    empirical_policy: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    task_inputs: dict[str, Any] = Field(default_factory=dict)
    # The columns are 32-bit: a larger count would fail the whole event's write.
    run_count: Int32 | None = None
    flow_run_run_count: Int32 | None = None
    expected_start_time: dt.datetime | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    total_run_time: float | None = None


def _resource_uuid(resource_id: str | None, prefix: str) -> uuid.UUID | None:
    if not resource_id or not resource_id.startswith(prefix):
        return None
    try:
        return uuid.UUID(resource_id[len(prefix) :])
    except ValueError:
        return None


def _related_flow_run(event: Event) -> uuid.UUID | None:
    for related in event.related:
        if related.get("prefect.resource.role") == "flow-run":
            return _resource_uuid(related.get("prefect.resource.id"), FLOW_RUN_RESOURCE)
    return None


def _reported_state(event: Event) -> StateCreate:
    """The state the task run entered: the payload's `validated_state`, else the labels."""
    labels = event.resource
    raw = event.payload.get("validated_state")
    if isinstance(raw, dict):
        state = _ReportedState.model_validate(raw)
    else:
        state = _ReportedState.model_validate(
            {
                "type": labels.get("prefect.state-type"),
                "name": labels.get("prefect.state-name"),
                "message": labels.get("prefect.state-message"),
            }
        )
    timestamp: dt.datetime = event.occurred
    label_time = labels.get("prefect.state-timestamp")
    if label_time:
        try:
            timestamp = dt.datetime.fromisoformat(label_time)
        except ValueError:
            pass
    return StateCreate(
        type=state.type,
        name=state.name,
        message=state.message or None,
        state_details=state.state_details,
        data=state.data,
        timestamp=timestamp,
    )


def task_run_report(event: Event) -> TaskRunReport | None:
    """The task run and state a `prefect.task-run.*` event reports, or None for other events.

    Raises `ValidationError` when a task-run event lacks what a task run needs.
    """
    if not event.event.startswith(TASK_RUN_EVENT):
        return None
    run_id = _resource_uuid(event.resource.get("prefect.resource.id"), TASK_RUN_RESOURCE)
    if run_id is None:
        return None
    raw = event.payload.get("task_run")
    reported = _ReportedTaskRun.model_validate(raw if isinstance(raw, dict) else {})
    name = reported.name or event.resource.get("prefect.resource.name")
    task_run = TaskRunCreate(
        id=run_id,
        name=name,
        flow_run_id=_related_flow_run(event),
        task_key=reported.task_key or name or str(run_id),
        dynamic_key=reported.dynamic_key or "0",
        cache_key=reported.cache_key,
        task_version=reported.task_version,
        empirical_policy=reported.empirical_policy,
        tags=reported.tags,
        labels=reported.labels,
        task_inputs=reported.task_inputs,
        state=_reported_state(event),
    )
    return TaskRunReport(
        event_id=event.id,
        task_run=task_run,
        run_count=reported.run_count,
        flow_run_run_count=reported.flow_run_run_count,
        expected_start_time=reported.expected_start_time,
        start_time=reported.start_time,
        end_time=reported.end_time,
        total_run_time=reported.total_run_time,
    )


async def _next_text(websocket: WebSocket) -> str | None:
    """The next text (or UTF-8 binary) frame; None once the client has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    if message.get("text") is not None:
        return str(message["text"])
    return bytes(message.get("bytes") or b"").decode("utf-8", "replace")


async def _authenticate(websocket: WebSocket) -> tuple[Principal, str | None] | None:
    """The `auth` handshake: the principal of the connection and, when the client sent
    an event instead of an `auth` message (allowed after a header), that frame; None
    once refused."""
    first = await _next_text(websocket)
    if first is None:
        return None
    try:
        message = json.loads(first)
    except ValueError:
        message = None
    header = websocket.headers.get("authorization")
    is_auth = isinstance(message, dict) and message.get("type") == "auth"
    if not is_auth and header is None:
        await websocket.close(POLICY_VIOLATION, reason="Expected 'auth' message")
        return None
    auth = authenticator(websocket)
    token = message.get("token") if is_auth and isinstance(message, dict) else None
    try:
        if not await auth.required():
            principal = OPEN
        elif header is not None:
            principal = await auth.from_header(header)
        elif isinstance(token, str) and token:
            principal = await auth.from_token(token)
        else:
            raise Unauthenticated("Not authenticated: the auth message carries no token.")
    except Unauthenticated as exc:
        await websocket.send_text(json.dumps({"type": "auth_failure", "reason": str(exc)}))
        await websocket.close(POLICY_VIOLATION, reason=str(exc)[:120])
        return None
    if not is_auth:
        # A header-only client (Prefect's Cloud client) expects no answer: its first
        # frame is already an event.
        return principal, first
    await websocket.send_text(json.dumps({"type": "auth_success"}))
    return principal, None


def _same_origin(websocket: WebSocket) -> bool:
    """Whether the upgrade request comes from a page of this server, or from no page
    (clients other than browsers send no Origin)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    # Host and port both: a page of another local server (another port) is another
    # origin, and on an open server it would otherwise write through the browser.
    host = urlsplit(origin).netloc.lower()
    return bool(host) and host == websocket.headers.get("host", "").lower()


async def _handle(api: Api, frame: str) -> None:
    try:
        event = Event.model_validate_json(frame)
        report = task_run_report(event)
    except ValidationError as exc:
        log.warning("dropped an event that is not valid: %s", exc.errors()[:3])
        return
    if report is None:
        return
    try:
        await api.write(ops.record_task_run_event, report)
    except IntegrityError:
        # The same event, resent on another connection, was recorded in between.
        log.debug("event %s was already recorded", event.id)


@router.websocket("/events/in")
async def events_in(websocket: WebSocket) -> None:
    """Receive events; record the task runs they report."""
    if not _same_origin(websocket):
        log.warning("refused an events connection from origin %s", websocket.headers["origin"])
        await websocket.close(POLICY_VIOLATION)  # before accepting: the handshake gets 403
        return
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    try:
        authenticated = await _authenticate(websocket)
        if authenticated is None:
            return
        principal, frame = authenticated
        try:
            api = api_as(websocket, principal, workspace_of(websocket))
        except RunfolioError as exc:
            await websocket.close(POLICY_VIOLATION, reason=str(exc)[:120])
            return
        if frame is None:
            frame = await _next_text(websocket)
        while frame is not None:
            try:
                await _handle(api, frame)
            except (NotFound, Forbidden) as exc:
                # Not this caller's workspace, or a read-only role: nothing is recorded.
                await websocket.close(POLICY_VIOLATION, reason=str(exc)[:120])
                return
            except (OperationalError, Busy):
                # The database is unavailable: close so the client reconnects and
                # resends the events it has no confirmation for.
                log.warning("database unavailable; closing the events connection", exc_info=True)
                await websocket.close(TRY_AGAIN_LATER, reason="Database unavailable")
                return
            except Exception:
                log.exception("could not record an event; it is dropped")
            frame = await _next_text(websocket)
    except WebSocketDisconnect:
        return

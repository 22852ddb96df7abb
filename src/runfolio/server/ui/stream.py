"""`GET /api/ui/stream`: what changes on an open page, pushed as Server-Sent Events.

A page names what it shows (artifact ids, keys, flow runs, or a whole topic such
as every artifact for the Artifacts list); the stream sends one `change` event
per matching change of the caller's workspace, with the change's id as the
event id, so a browser that reconnects resumes after the last one it had
(`Last-Event-ID`); when what it missed cannot all be told (pruned, or too much),
a `reset` event says to fetch everything again. Events say what changed, never
the content: the page fetches that through its own routes, under the same rights.
A comment line every `HEARTBEAT_S` keeps proxies from closing an idle stream, and
the caller's rights are checked again every `RECHECK_S` (a revoked key or an ended
session ends it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse

from runfolio.errors import Invalid, RunfolioError
from runfolio.ops import Context
from runfolio.server.errors import ERROR_RESPONSES
from runfolio.server.live import KEEP, ChangeFeed, Interest, Subscriber
from runfolio.server.ui import params, urls
from runfolio.server.ui.pages import IdsParam
from runfolio.server.ui.site import PageApiDep, page_api
from runfolio.server.ui.templating import SECURITY_HEADERS
from runfolio.store import changes

HEARTBEAT_S = 15.0
RECHECK_S = 5.0  # how often an open stream checks its caller's rights again
MAX_KEYS = 50
TOPICS = ("artifact", "flow_run", "task_run")
# How far before `since` the backlog reaches: a write that committed just after the
# page was read may carry a time from just before it.
SINCE_MARGIN = dt.timedelta(seconds=2)
RETRY_MS = 1000  # how soon a browser reconnects after the stream drops
BACKLOG = 500  # changes a resumed stream is sent at most; past it, `reset`

router = APIRouter(prefix=urls.API_UI, tags=["ui"])


def _interest(
    artifacts: str | None, keys: list[str], runs: str | None, topics: str | None
) -> Interest:
    if len(keys) > MAX_KEYS:
        raise Invalid.field(("query", "key"), f"at most {MAX_KEYS} keys", len(keys))
    names = [t for t in (topics or "").split(",") if t]
    for name in names:
        if name not in TOPICS:
            raise Invalid.field(("query", "topics"), f"topics are {', '.join(TOPICS)}", name)
    interest = Interest(
        artifacts=frozenset(params.id_list(artifacts, "artifacts")),
        keys=frozenset(keys),
        runs=frozenset(params.id_list(runs, "runs")),
        topics=frozenset(names),
    )
    if not interest:
        raise Invalid.field(
            ("query", "artifacts"), "name what to watch: artifacts, key, runs or topics", None
        )
    return interest


def _resume_from(last_event_id: str | None) -> int | None:
    if last_event_id is None or last_event_id == "":
        return None
    if not last_event_id.isdigit() or len(last_event_id) > 19:
        raise Invalid.field(
            ("header", "Last-Event-ID"), "must be the id of an event", last_event_id
        )
    return int(last_event_id)


def _backlog(
    ctx: Context, after_id: int | None, since: dt.datetime | None
) -> tuple[uuid.UUID, list[changes.Change] | None]:
    """The caller's workspace (checking its read right) and its changes since the
    stream's starting point; None when they cannot all be told (some were pruned
    already, or there are too many): the stream then says `reset`."""
    with ctx.reading() as (conn, ws):
        if after_id is None and since is None:
            return ws, []
        if after_id is not None:
            oldest = changes.oldest_id(conn)
            if oldest is not None and oldest > after_id + 1:
                return ws, None
            found = changes.backlog(conn, ws, after_id=after_id, limit=BACKLOG + 1)
        else:
            assert since is not None
            if since < dt.datetime.now(dt.UTC) - KEEP:
                return ws, None
            found = changes.backlog(conn, ws, since=since - SINCE_MARGIN, limit=BACKLOG + 1)
        return ws, None if len(found) > BACKLOG else found


def _event(change: changes.Change) -> str:
    return f"id: {change.id}\nevent: change\ndata: {json.dumps(change.event())}\n\n"


async def _events(
    feed: ChangeFeed,
    subscriber: Subscriber,
    backlog: list[changes.Change] | None,
    allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n: live\n\n"
        sent = 0
        if backlog is None:  # what was missed cannot be told: fetch everything again
            yield "event: reset\ndata: {}\n\n"
        for old in backlog or ():
            sent = old.id
            if subscriber.interest.wants(old):
                yield _event(old)
        checked = spoke = time.monotonic()
        while True:
            idle = False
            change: changes.Change | None = None
            # Wait no longer than the next check is due: a timer may fire a hair early,
            # and a fixed wait would then put the check off by a whole period.
            due = checked + RECHECK_S
            try:
                wait = max(0.01, due - time.monotonic())
                change = await asyncio.wait_for(subscriber.queue.get(), wait)
            except TimeoutError:
                idle = True
            now = time.monotonic()
            if now >= due - 0.05:
                # A stream outlives the request that opened it: the caller's rights are
                # checked again, so a revoked key or an ended session stops it.
                if not await allowed():
                    return
                checked = now
            if idle:
                if feed.closed:
                    return
                if now - spoke >= HEARTBEAT_S:
                    spoke = now
                    yield ": keep-alive\n\n"
                continue
            if change is None:
                return
            if change.id > sent:  # (the backlog may have had it already)
                spoke = now
                yield _event(change)
    finally:
        feed.unsubscribe(subscriber)


@router.get(
    urls.STREAM,
    response_class=StreamingResponse,
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "A stream of `change` events (id, topic, action, subject_id, "
            "key, flow_run_id) of the caller's workspace.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def stream(
    request: Request,
    api: PageApiDep,
    artifacts: IdsParam = None,
    key: Annotated[list[str], Query(description="Artifact keys, repeated.")] = [],  # noqa: B006
    runs: IdsParam = None,
    topics: Annotated[
        str | None, Query(description="Comma-separated topics: artifact, flow_run, task_run.")
    ] = None,
    since: Annotated[
        dt.datetime | None, Query(description="Also send the changes made since this time.")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Changes of what a page shows, as Server-Sent Events (the page's read right)."""
    interest = _interest(artifacts, key, runs, topics)
    after_id = _resume_from(last_event_id)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    feed: ChangeFeed = request.app.state.changes
    # Subscribed before the backlog is read: a change lands in one or both, never neither.
    ws = await api.read(_workspace)
    subscriber = await feed.subscribe(ws, interest)
    try:
        _, backlog = await api.read(_backlog, after_id, since)
    except BaseException:
        feed.unsubscribe(subscriber)
        raise
    headers: dict[str, Any] = {
        **SECURITY_HEADERS,
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # proxies must pass each event on at once
    }

    async def allowed() -> bool:
        try:
            again = await page_api(request)
            return await again.read(_workspace) == ws
        except RunfolioError:  # signed out, revoked, no longer a member: the stream ends
            return False

    return StreamingResponse(
        _events(feed, subscriber, backlog, allowed),
        media_type="text/event-stream",
        headers=headers,
    )


def _workspace(ctx: Context) -> uuid.UUID:
    """The caller's workspace, once its read right is checked."""
    with ctx.reading() as (_conn, ws):
        return ws

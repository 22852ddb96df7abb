#!/usr/bin/env python3
"""Ceiling of HTTP + JSON + psycopg here: a raw-ASGI artifacts stub on PostgreSQL.

The PostgreSQL twin of the reference harness's `limit_server.py --mode sqlite`: the
same uvicorn options, no framework, `json`, the same three routes and answers, one
INSERT per create committed on its own. What artifact_bench.py measures against it
is what HTTP, JSON and a psycopg round trip alone cost on this machine, so runfolio's
PostgreSQL figures have a floor to be compared with (bench/compare_postgres.py).

One psycopg connection per server process, in autocommit mode (each INSERT is its own
transaction), used synchronously from the handler as limit_server.py uses sqlite3:
requests are served one at a time, and psycopg prepares the two statements on the
server after their first few runs.

Routes:
  GET  /api/health            -> 200 true
  POST /api/artifacts/        -> 201 {id, created, updated, key, type, ...}
  POST /api/artifacts/filter  -> 200 latest 5 rows by created desc (indexed)
Anything else -> 404.

  python bench/limit_postgres.py --dsn "host=127.0.0.1 port=5432 dbname=limit" --port 4300
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import uvicorn

COLUMNS = (
    "id",
    "created",
    "updated",
    "key",
    "type",
    "description",
    "data",
    "metadata_",
    "flow_run_id",
    "task_run_id",
)
JSON_COLUMNS = ("data", "metadata_")
# The same table and indexes as limit_server.py's, in PostgreSQL's own types.
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS artifact (id uuid PRIMARY KEY, created timestamptz NOT NULL,"
    " updated timestamptz NOT NULL, key text, type text, description text, data text,"
    " metadata_ text, flow_run_id uuid, task_run_id uuid)",
    "CREATE INDEX IF NOT EXISTS ix_artifact_created ON artifact (created)",
    "CREATE INDEX IF NOT EXISTS ix_artifact_key_created ON artifact (key, created)",
)
INSERT = f"INSERT INTO artifact ({','.join(COLUMNS)}) VALUES ({','.join(['%s'] * len(COLUMNS))})"
LATEST_5 = f"SELECT {','.join(COLUMNS)} FROM artifact ORDER BY created DESC LIMIT 5"

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class App:
    def __init__(self, dsn: str) -> None:
        self.db = psycopg.connect(dsn, autocommit=True)
        for statement in SCHEMA:
            self.db.execute(statement.encode())

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    self.db.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        try:
            if method == "GET" and path == "/api/health":
                return await respond(send, 200, True)
            if method == "POST" and path == "/api/artifacts/":
                return await respond(send, 201, self.create(json.loads(body)))
            if method == "POST" and path == "/api/artifacts/filter":
                return await respond(send, 200, self.latest5())
        except (ValueError, TypeError, KeyError) as e:
            return await respond(send, 422, {"detail": str(e)})
        return await respond(send, 404, {"detail": "Not Found"})

    def create(self, req: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        row = {
            "id": str(uuid.uuid4()),
            "created": now,
            "updated": now,
            "key": req.get("key"),
            "type": req.get("type"),
            "description": req.get("description"),
            "data": req.get("data"),
            "metadata_": req.get("metadata_"),
            "flow_run_id": req.get("flow_run_id"),
            "task_run_id": req.get("task_run_id"),
        }
        # Autocommit: one transaction per request, like a real server.
        self.db.execute(
            INSERT, [json.dumps(row[c]) if c in JSON_COLUMNS else row[c] for c in COLUMNS]
        )
        return row

    def latest5(self) -> list[dict[str, Any]]:
        out = []
        for values in self.db.execute(LATEST_5).fetchall():
            d = dict(zip(COLUMNS, values, strict=True))
            for c in ("id", "flow_run_id", "task_run_id"):
                d[c] = None if d[c] is None else str(d[c])
            for c in ("created", "updated"):
                d[c] = d[c].isoformat()
            for c in JSON_COLUMNS:
                d[c] = json.loads(d[c])
            out.append(d)
        return out


async def respond(send: Send, status: int, obj: Any) -> None:
    payload = json.dumps(obj).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dsn", required=True, help="libpq connection string or URL")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=4300)
    a = ap.parse_args()
    # limit_server.py's uvicorn.run call, unchanged.
    uvicorn.run(App(a.dsn), host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

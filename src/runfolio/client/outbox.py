"""The outbox: writes the server could not take, kept on local disk until delivered.

One SQLite file (`outbox.db` in RUNFOLIO_HOME, WAL) holds, per target URL, the
HTTP writes in the order they were made. A record is committed before the SDK
call that queued it returns, and deleted only once the server acknowledged it.
The file has a format marker: a file that is not an outbox (or not SQLite at
all) is refused with an error naming it, and never changed or deleted.

Only the target URL is stored, never a credential: delivery uses the API key
of the process that delivers.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runfolio.errors import OutboxError, OutboxFull

FILE_NAME = "outbox.db"
FORMAT = "runfolio-outbox"
VERSION = 1
_MARKER = "runfolio_outbox"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runfolio_outbox (format TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB,
    merge_key TEXT,
    local_id TEXT,
    queued REAL NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_target ON records (target, seq);
CREATE INDEX IF NOT EXISTS records_by_merge_key ON records (target, merge_key)
    WHERE merge_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS id_map (
    target TEXT NOT NULL, local_id TEXT NOT NULL, server_id TEXT NOT NULL,
    PRIMARY KEY (target, local_id)
);
CREATE TABLE IF NOT EXISTS leases (
    target TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB,
    queued REAL NOT NULL,
    rejected REAL NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Record:
    """One queued write."""

    seq: int
    method: str
    path: str
    body: bytes | None
    local_id: str | None


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """What is queued for one target URL."""

    target: str
    records: int
    oldest: float | None  # when the oldest record was queued (epoch seconds)
    bytes: int
    rejected: int


def default_path(home: Path) -> Path:
    return home / FILE_NAME


def owner_token() -> str:
    """Who holds a delivery lease: host, process and a random part (one per sender)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _holder_is_gone(owner: str) -> bool:
    # A lease of a process that died on this host is free at once (kill -9 included);
    # one of another host is free only when it expires.
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdecimal():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _merge(old: bytes | None, new: bytes | None) -> bytes | None:
    """Two PATCH bodies as one: only the fields present are written, newest wins."""
    if old is None or new is None:
        return new
    merged = {**json.loads(old), **json.loads(new)}
    return json.dumps(merged, separators=(",", ":")).encode()


class Outbox:
    """The outbox file; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn = self._open()

    def _refuse(self, why: str) -> OutboxError:
        return OutboxError(
            f"{self.path} is not a usable runfolio outbox ({why}). It was left as it is; "
            "move it away to start a new outbox (its records, if any, are not delivered)."
        )

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise OutboxError(f"Cannot open the outbox {self.path}: {exc}") from None
        try:
            # Read before anything is written: a foreign or corrupt file stays untouched.
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables:
                self._check_marker(conn, tables)
            if not tables:  # before the first table: a drained outbox gives its pages back
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            # A commit survives a crash of the process (what a queued write promises).
            conn.execute("PRAGMA synchronous=NORMAL")
            if not tables:
                # One transaction, so two processes creating the file at once make one marker.
                conn.executescript(
                    f"BEGIN IMMEDIATE;{_SCHEMA}"
                    f"INSERT INTO runfolio_outbox SELECT '{FORMAT}', {VERSION} "
                    "WHERE NOT EXISTS (SELECT 1 FROM runfolio_outbox);COMMIT;"
                )
        except OutboxError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise self._refuse(f"{type(exc).__name__}: {exc}") from None
        return conn

    def _check_marker(self, conn: sqlite3.Connection, tables: set[str]) -> None:
        if _MARKER not in tables:
            raise self._refuse("a SQLite file of something else: it has no runfolio_outbox table")
        row = conn.execute("SELECT format, version FROM runfolio_outbox").fetchone()
        if row is None or row[0] != FORMAT:
            raise self._refuse("its format marker is missing or foreign")
        if int(row[1]) > VERSION:
            raise OutboxError(
                f"{self.path} was written by a newer runfolio (outbox format {row[1]}, this "
                f"one reads {VERSION}); deliver it with that version. The file was left as it is."
            )

    @contextmanager
    def _tx(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                if immediate:
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self._conn
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
                else:
                    yield self._conn
            except sqlite3.Error as exc:
                raise OutboxError(f"The outbox {self.path} failed: {exc}") from None

    # -- queueing --------------------------------------------------------------

    def append(
        self,
        target: str,
        method: str,
        path: str,
        body: bytes | None,
        *,
        merge_key: str | None = None,
        local_id: str | None = None,
    ) -> None:
        """Queue a write, committed when this returns; past the size cap: `OutboxFull`.

        With `merge_key`, a queued write of the same key is merged into this one (the
        newest value of each field is all that needs sending) and moved to the end.
        """
        with self._tx() as conn:
            if merge_key is not None:
                old = conn.execute(
                    "SELECT seq, body FROM records WHERE target = ? AND merge_key = ? "
                    "ORDER BY seq DESC LIMIT 1",
                    (target, merge_key),
                ).fetchone()
                if old is not None:
                    body = _merge(old[1], body)
                    conn.execute("DELETE FROM records WHERE seq = ?", (old[0],))
            size = len(body or b"") + len(path) + 64
            used = (
                conn.execute("PRAGMA page_count").fetchone()[0]
                - conn.execute("PRAGMA freelist_count").fetchone()[0]
            ) * conn.execute("PRAGMA page_size").fetchone()[0]
            if used + size > self.max_bytes:
                raise OutboxFull(
                    f"The outbox {self.path} is full ({used:,} bytes; "
                    f"RUNFOLIO_OUTBOX_MAX_BYTES={self.max_bytes:,}): the server at {target} has "
                    "not taken the queued writes, and this one was not recorded. Start the "
                    "server (or `runfolio outbox flush`), or raise the limit."
                )
            conn.execute(
                "INSERT INTO records (target, method, path, body, merge_key, local_id, queued, "
                "size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (target, method, path, body, merge_key, local_id, time.time(), size),
            )

    # -- delivery --------------------------------------------------------------

    def count(self, target: str) -> int:
        with self._tx(immediate=False) as conn:
            row = conn.execute("SELECT count(*) FROM records WHERE target = ?", (target,))
            return int(row.fetchone()[0])

    def head(self, target: str, limit: int) -> list[Record]:
        """The oldest `limit` records of `target`, in order."""
        with self._tx(immediate=False) as conn:
            rows = conn.execute(
                "SELECT seq, method, path, body, local_id FROM records WHERE target = ? "
                "ORDER BY seq LIMIT ?",
                (target, limit),
            ).fetchall()
        return [Record(*row) for row in rows]

    def delivered(self, seq: int) -> None:
        """The server acknowledged record `seq`: forget it."""
        with self._tx() as conn:
            conn.execute("DELETE FROM records WHERE seq = ?", (seq,))

    def reject(self, target: str, record: Record, status: int, detail: str) -> None:
        """The server refused the record for good (a 4xx): keep it aside, for the operator."""
        with self._tx() as conn:
            row = conn.execute("SELECT queued FROM records WHERE seq = ?", (record.seq,)).fetchone()
            if row is None:
                return
            conn.execute(
                "INSERT OR REPLACE INTO rejected VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.seq,
                    target,
                    record.method,
                    record.path,
                    record.body,
                    row[0],
                    time.time(),
                    status,
                    detail,
                ),
            )
            conn.execute("DELETE FROM records WHERE seq = ?", (record.seq,))

    def id_map(self, target: str) -> dict[str, str]:
        with self._tx(immediate=False) as conn:
            rows = conn.execute(
                "SELECT local_id, server_id FROM id_map WHERE target = ?", (target,)
            ).fetchall()
        return {local: server for local, server in rows}

    def map_id(self, target: str, local_id: str, server_id: str) -> None:
        """A locally invented id is `server_id` on the server (later records are rewritten)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO id_map VALUES (?, ?, ?)", (target, local_id, server_id)
            )

    def forget_ids(self, target: str) -> None:
        """Nothing is queued for `target` any more: its id map has no use left (and the
        file shrinks back when nothing is queued at all)."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM records WHERE target = ? LIMIT 1", (target,)).fetchone():
                return
            conn.execute("DELETE FROM id_map WHERE target = ?", (target,))
            empty = conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None
        if empty:
            with self._tx(immediate=False) as conn:
                # executescript steps the pragma to the end (one execute frees one page).
                conn.executescript("PRAGMA incremental_vacuum;")

    def claim(self, target: str, owner: str, seconds: float) -> bool:
        """Take (or renew) the delivery lease of `target`; False while another holds it."""
        now = time.time()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT owner, until FROM leases WHERE target = ?", (target,)
            ).fetchone()
            if row is not None and row[0] != owner and row[1] > now and not _holder_is_gone(row[0]):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (target, owner, now + seconds)
            )
            return True

    def release(self, target: str, owner: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM leases WHERE target = ? AND owner = ?", (target, owner))

    # -- the operator's view ---------------------------------------------------

    def status(self) -> list[TargetStatus]:
        with self._tx(immediate=False) as conn:
            queued = {
                target: (count, oldest, size)
                for target, count, oldest, size in conn.execute(
                    "SELECT target, count(*), min(queued), total(size) FROM records GROUP BY target"
                )
            }
            rejected = dict(
                conn.execute("SELECT target, count(*) FROM rejected GROUP BY target").fetchall()
            )
        out = []
        for target in sorted(set(queued) | set(rejected)):
            count, oldest, size = queued.get(target, (0, None, 0))
            out.append(TargetStatus(target, count, oldest, int(size), rejected.get(target, 0)))
        return out

    def targets(self) -> list[str]:
        with self._tx(immediate=False) as conn:
            rows = conn.execute("SELECT DISTINCT target FROM records ORDER BY target").fetchall()
        return [row[0] for row in rows]

    def drop(self, target: str | None = None) -> int:
        """Delete the queued (and rejected) records, of one target or all; returns how many."""
        with self._tx() as conn:
            where, args = ("WHERE target = ?", (target,)) if target else ("", ())
            n = conn.execute(f"DELETE FROM records {where}", args).rowcount
            n += conn.execute(f"DELETE FROM rejected {where}", args).rowcount
            conn.execute(f"DELETE FROM id_map {where}", args)
            return int(n)

    def file_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(f"{self.path}{suffix}")
            except OSError:
                pass
        return total

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_registry_lock = threading.Lock()
_open_outboxes: dict[Path, Outbox] = {}


def open_outbox(path: Path, max_bytes: int) -> Outbox:
    """The process's one `Outbox` of `path` (opened, and checked, on first use)."""
    key = path.resolve()
    with _registry_lock:
        box = _open_outboxes.get(key)
        if box is None:
            box = _open_outboxes[key] = Outbox(path, max_bytes)
        box.max_bytes = max_bytes
        return box

"""Delivery of the outbox: one target's queued writes, in order, once the server answers.

A `Sender` is shared by the clients of one process for one (outbox file, target).
While anything is queued it is "spooling": the clients queue every later write
too, so nothing overtakes what is queued (a progress update never arrives before
the create of its artifact). A daemon thread delivers from the oldest record on,
one request per record, deletes each once the server acknowledged it, and backs
off (up to a second) while the server does not answer; when the queue is empty
the thread ends and writes go straight to the server again.

Records carry client-chosen ids, so one sent twice (the sender was killed
between the answer and the delete) is stored once. Two processes never deliver
one target at once: a lease row in the outbox names the one that does (freed at
once when that process has died). A 4xx answer other than 401/403/408/429 means
the record can never be taken: it is moved to the `rejected` table and logged,
not dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import httpx

from runfolio._version import __version__
from runfolio.client.outbox import Outbox, Record, owner_token

log = logging.getLogger("runfolio")

#: Answers that mean "not now" (the write is kept and sent again later).
TRANSIENT_STATUSES = frozenset({408, 429})
LEASE_S = 60.0
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 1.0
_BATCH = 100


def is_transient(status_code: int) -> bool:
    return status_code in TRANSIENT_STATUSES or status_code >= 500


@dataclass
class Progress:
    """What one delivery pass did."""

    delivered: int = 0
    rejected: int = 0
    last_error: str | None = None


class Sender:
    """Delivers the queued writes of one target from one outbox."""

    def __init__(
        self,
        outbox: Outbox,
        target: str,
        api_key: str | None,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.outbox = outbox
        self.target = target
        #: Held while deciding "queue or send", and while queueing (keeps the order).
        self.lock = threading.Lock()
        #: Something is (or may be) queued for the target: writes must be queued too.
        self.spooling = False
        #: Locally invented ids the server answered with others (read without the lock).
        self.id_map: dict[str, str] = outbox.id_map(target)
        self._owner = owner_token()
        # Longer than the longest request, so a lease never runs out under a slow one.
        self._lease_s = max(LEASE_S, 2 * timeout + 5)
        self._deliver_lock = threading.Lock()  # one delivery loop at a time in this process
        self._thread: threading.Thread | None = None
        self._woken = False
        self._warned = False
        #: Writes this process queued so far (tells "queued since I last waited").
        self.queued = 0
        #: Why the last delivery attempt failed (None after a success).
        self.last_error: str | None = None
        self.users = 0  # open clients using this sender (see `sender_for`, `release`)
        self._stopped = False
        headers = {"User-Agent": f"runfolio/{__version__}", "Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=target + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
        )

    # -- called by the clients (with `lock` held for `queue`) ----------------------

    def queue(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        merge_key: str | None = None,
        local_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Queue a write (committed on return) and make sure it is being delivered."""
        self.outbox.append(self.target, method, path, body, merge_key=merge_key, local_id=local_id)
        if not self.spooling and reason is not None and not self._warned:
            self._warned = True
            log.warning(
                "runfolio: the server at %s did not take a write (%s); writes are queued in "
                "%s and delivered in the background as soon as it answers.",
                self.target,
                reason,
                self.outbox.path,
            )
        self.spooling = True
        self.queued += 1
        self.wake()

    def wake(self) -> None:
        """Start the delivery thread if it is not running (call with `lock` held)."""
        self._woken = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="runfolio-outbox", daemon=True)
            self._thread.start()

    def remap(self, text: str) -> str:
        for local, server in self.id_map.items():
            text = text.replace(local, server)
        return text

    def wait_delivered(self, timeout: float) -> int:
        """Wait up to `timeout` s for the target's queue to empty; returns what is left."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.outbox.count(self.target)
            if left == 0 or time.monotonic() >= deadline:
                return left
            with self.lock:
                if self._thread is None:
                    self.wake()
            time.sleep(0.02)

    # -- delivery --------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self.lock:
                if self._stopped:
                    self._thread = None
                    self._http.close()
                    return
                self._woken = False
            try:
                self.deliver(deadline=None)
            except Exception:  # the thread must not die silently with records queued
                log.exception("runfolio: delivering the outbox to %s failed", self.target)
                time.sleep(BACKOFF_MAX_S)
                continue
            with self.lock:
                if self._woken:
                    continue  # a write was queued while the queue looked empty
                self._thread = None
                self.spooling = False
                self._warned = False  # the next outage is said again
                if self._stopped:
                    self._http.close()
                return

    def deliver(self, deadline: float | None) -> Progress:
        """Send the queued records, oldest first, until none is left (or `deadline`,
        a `time.monotonic()` value, passes). Records queued meanwhile are sent too."""
        progress = Progress()
        backoff = BACKOFF_MIN_S
        while not self._deliver_lock.acquire(timeout=0.1):
            if deadline is not None and time.monotonic() >= deadline:
                return progress
        try:
            while True:
                if self._stopped:
                    self.outbox.release(self.target, self._owner)
                    return progress
                if deadline is not None and time.monotonic() >= deadline:
                    return progress
                if not self.outbox.claim(self.target, self._owner, self._lease_s):
                    progress.last_error = "another process is delivering this outbox"
                    self._pause(backoff, deadline)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                    continue
                records = self.outbox.head(self.target, _BATCH)
                if not records:
                    self.outbox.forget_ids(self.target)
                    self.outbox.release(self.target, self._owner)
                    if progress.delivered:
                        log.info(
                            "runfolio: delivered %d queued write(s) to %s",
                            progress.delivered,
                            self.target,
                        )
                    return progress
                for record in records:
                    error = self._send(record, progress)
                    self.last_error = error
                    if error is not None:
                        progress.last_error = error
                        self._pause(backoff, deadline)
                        backoff = min(backoff * 2, BACKOFF_MAX_S)
                        break
                    backoff = BACKOFF_MIN_S
                    if deadline is not None and time.monotonic() >= deadline:
                        return progress
                    # Renewed often: a frozen server keeps one request at most `timeout`.
                    self.outbox.claim(self.target, self._owner, self._lease_s)
        finally:
            self._deliver_lock.release()

    def _pause(self, seconds: float, deadline: float | None) -> None:
        if deadline is not None:
            seconds = max(0.0, min(seconds, deadline - time.monotonic()))
        time.sleep(seconds)

    def _send(self, record: Record, progress: Progress) -> str | None:
        """Deliver one record; None when it is done with (taken or set aside), else why not."""
        path = self.remap(record.path) if self.id_map else record.path
        body = record.body
        if body is not None and self.id_map:
            body = self.remap(body.decode()).encode()
        try:
            response = self._http.request(record.method, path, content=body)
        except httpx.TransportError as exc:
            return f"{type(exc).__name__}: {exc}"
        status = response.status_code
        if is_transient(status):
            return f"{status}: {response.text[:200]}"
        if status in (401, 403):
            # Kept: the next process may have the right key. Said once per sender.
            if not progress.last_error or not progress.last_error.startswith(str(status)):
                log.error(
                    "runfolio: %s refused the outbox's writes (%d: %s); set RUNFOLIO_API_KEY "
                    "to a key with write access and run `runfolio outbox flush`.",
                    self.target,
                    status,
                    response.text[:200],
                )
            return f"{status}: {response.text[:200]}"
        if response.is_error:
            detail = response.text[:2000]
            log.error(
                "runfolio: %s refused a queued write for good (%s %s answered %d: %s); it is "
                "kept aside in %s (see `runfolio outbox status`).",
                self.target,
                record.method,
                path,
                status,
                detail[:300],
                self.outbox.path,
            )
            self.outbox.reject(self.target, record, status, detail)
            progress.rejected += 1
            return None
        if record.local_id is not None:
            self._learn_id(record.local_id, response)
        self.outbox.delivered(record.seq)
        progress.delivered += 1
        return None

    def _learn_id(self, local_id: str, response: httpx.Response) -> None:
        try:
            server_id = json.loads(response.content)["id"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(server_id, str) and server_id != local_id:
            # Stored before the record is deleted: a later record is never sent unmapped.
            self.outbox.map_id(self.target, local_id, server_id)
            self.id_map = {**self.id_map, local_id: server_id}

    def stop(self) -> None:
        """Stop delivering (after the request under way); what is queued stays on disk."""
        with self.lock:
            self._stopped = True
            if self._thread is None:  # else the thread closes it when it ends
                self._http.close()


_registry_lock = threading.Lock()
_senders: dict[tuple[str, str], Sender] = {}


def sender_for(
    outbox: Outbox,
    target: str,
    api_key: str | None,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> Sender:
    """The process's one sender of `target` from `outbox`."""
    key = (str(outbox.path), target)
    with _registry_lock:
        sender = _senders.get(key)
        if sender is None or sender.outbox is not outbox:
            sender = _senders[key] = Sender(outbox, target, api_key, timeout, transport)
        sender.users += 1
        return sender


def release(sender: Sender) -> None:
    """A client of `sender` closed; the last one stops it (a closed client's process
    leaves its queue to the next runfolio process, and never delivers behind its back)."""
    with _registry_lock:
        sender.users -= 1
        if sender.users > 0:
            return
        key = (str(sender.outbox.path), sender.target)
        if _senders.get(key) is sender:
            del _senders[key]
    sender.stop()


def all_senders() -> list[Sender]:
    with _registry_lock:
        return list(_senders.values())

"""The webhook sender: a background task of each server process that posts the
deliveries artifact writes queued (`webhook_deliveries`).

- Claims due rows with a conditional UPDATE (`store.webhooks.claim`) that moves their
  next attempt to the end of a lease: several workers share the table safely, and a
  delivery whose worker died mid-call is tried again once the lease ends.
- Posts the stored payload signed with the webhook's secret
  (`runfolio.webhook_signature`), with a timeout, never following redirects.
- A 2xx is `delivered`; anything else is tried again after a doubling wait, until
  RUNFOLIO_WEBHOOK_MAX_ATTEMPTS calls or RUNFOLIO_WEBHOOK_RETRY_HOURS, then `failed`.
- With RUNFOLIO_WEBHOOK_ALLOW_PRIVATE off, a host that resolves to a loopback,
  private or link-local address is refused (the delivery fails at once).

Database calls go through the server's gate (never on the event loop).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, Row
from sqlalchemy.exc import OperationalError

from runfolio._version import __version__
from runfolio.errors import Busy
from runfolio.schemas.common import utcnow
from runfolio.schemas.webhooks import is_private_address
from runfolio.server.concurrency import Gate
from runfolio.settings import Settings
from runfolio.store import webhooks as store
from runfolio.store.engine import is_unreachable, read, write
from runfolio.webhook_signature import EVENT_HEADER, EVENT_ID_HEADER, HEADER, sign

log = logging.getLogger("runfolio.webhooks")

#: Deliveries claimed per round, and calls in flight at once per process.
BATCH = 20
#: The longest wait between two tries of one delivery.
MAX_RETRY_DELAY = 3600.0
ERROR_MAX = 500
#: Seconds between two prunings of the delivery log.
PRUNE_EVERY = 3600.0


def body_bytes(payload: Any) -> bytes:
    """The request body of a delivery: its stored payload as compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def retry_delay(settings: Settings, attempts: int) -> float:
    """Seconds before try number `attempts + 1`: doubling, capped, with ±10 % jitter so
    that deliveries failed together do not all come back at once."""
    base: float = settings.webhook_retry_seconds * 2.0 ** min(attempts - 1, 30)
    return min(base, MAX_RETRY_DELAY) * random.uniform(0.9, 1.1)


class PrivateTarget(Exception):
    """The URL's host is a loopback, private or link-local address (and that is refused)."""


async def _check_target(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if is_private_address(host):
        raise PrivateTarget(f"{host} is a private or loopback address")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return  # the call itself reports that the name does not resolve
    for info in infos:
        address = str(info[4][0])
        if is_private_address(address):
            raise PrivateTarget(f"{host} resolves to {address}, a private or loopback address")


class WebhookSender:
    """Delivers due webhook calls until stopped."""

    def __init__(self, engine: Engine, gate: Gate, settings: Settings) -> None:
        self._engine = engine
        self._gate = gate
        self._settings = settings
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(BATCH)
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._pruned: float | None = None
        # Longer than a call may take, so a claim does not lapse while its call runs.
        self._lease = dt.timedelta(seconds=settings.webhook_timeout * 3 + 5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="runfolio-webhook-sender")

    def wake(self) -> None:
        """Look for due deliveries now (one was just queued)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop; calls in flight are dropped and tried again after their lease."""
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        timeout = httpx.Timeout(self._settings.webhook_timeout)
        headers = {"user-agent": f"runfolio-webhooks/{__version__}"}
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, headers=headers
        ) as client:
            while True:
                try:
                    due = await self._gate.read(self._due)
                    claimed = await self._gate.write(self._claim) if due else []
                except (Busy, OperationalError) as exc:
                    # A busy database, or one down or restarting: try next round. Its state
                    # is what the operator needs, not a traceback.
                    if isinstance(exc, OperationalError) and not is_unreachable(exc):
                        log.exception("webhook sender: cannot claim deliveries")
                    else:
                        log.warning("webhook sender: cannot claim deliveries: %s", exc)
                    claimed = []
                except Exception:
                    log.exception("webhook sender: cannot claim deliveries")
                    claimed = []
                for row in claimed:
                    await self._slots.acquire()
                    task = asyncio.create_task(self._deliver(client, row))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if len(claimed) == BATCH:
                    continue  # more may be due
                await self._prune_now_and_then()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._settings.webhook_poll_seconds)
                except TimeoutError:
                    pass

    async def _prune_now_and_then(self) -> None:
        """Drop delivery log entries older than RUNFOLIO_WEBHOOK_LOG_DAYS (once an hour)."""
        now = asyncio.get_running_loop().time()
        if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        before = utcnow() - dt.timedelta(days=self._settings.webhook_log_days)
        try:
            await self._gate.write(self._prune, before)
        except Exception:
            log.exception("webhook sender: cannot prune the delivery log")

    def _prune(self, before: dt.datetime) -> None:
        with write(self._engine) as conn:
            store.prune(conn, before)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()

    def _due(self) -> bool:
        with read(self._engine) as conn:
            return store.any_due(conn, utcnow())

    def _claim(self) -> list[Row[Any]]:
        with write(self._engine) as conn:
            return store.claim(conn, utcnow(), self._lease, BATCH)

    async def _deliver(self, client: httpx.AsyncClient, row: Row[Any]) -> None:
        body = body_bytes(row.payload)
        headers = {
            "content-type": "application/json",
            HEADER: sign(row.secret, body),
            EVENT_ID_HEADER: str(row.id),
            EVENT_HEADER: row.event,
        }
        code: int | None = None
        error: str | None = None
        final = False
        try:
            if not self._settings.webhook_allow_private:
                await _check_target(row.url)
            response = await client.post(row.url, content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
                if 300 <= code < 400:
                    where = response.headers.get("location", "")
                    error += f": redirect to {where[:200]!r} not followed"
                elif response.text:
                    error += f": {response.text[:200]}"
        except PrivateTarget as exc:
            error = f"refused: {exc} (RUNFOLIO_WEBHOOK_ALLOW_PRIVATE is off)"
            final = True
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # e.g. a URL httpx cannot use: recorded, never a lost task
            log.exception("webhook delivery %s: unexpected error", row.id)
            error = f"{type(exc).__name__}: {exc}"
        attempts = row.attempts + 1
        await self._gate.write(self._record, row, attempts, code, error, final)

    def _record(
        self,
        row: Row[Any],
        attempts: int,
        code: int | None,
        error: str | None,
        final: bool,
    ) -> None:
        now = utcnow()
        settings = self._settings
        status, next_attempt = store.DELIVERED, None
        if error is not None:
            delay = dt.timedelta(seconds=retry_delay(settings, attempts))
            window_end = row.created + dt.timedelta(hours=settings.webhook_retry_hours)
            gives_up = final or attempts >= settings.webhook_max_attempts
            if gives_up or now + delay > window_end:
                status = store.FAILED
            else:
                status, next_attempt = store.PENDING, now + delay
        with write(self._engine) as conn:
            store.record_outcome(
                conn,
                row.id,
                status=status,
                attempts=attempts,
                next_attempt=next_attempt,
                status_code=code,
                error=None if error is None else error[:ERROR_MAX],
            )
        if status != store.PENDING or attempts == 1:
            log.info("webhook delivery %s: %s after %d call(s)", row.id, status, attempts)

"""Signing webhook calls, and checking a call's signature (for receivers).

Every call carries

    runfolio-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

keyed with the webhook's secret (`whsec_...`, shown once when the webhook is made).
A receiver recomputes the HMAC over the raw request body, compares it in constant
time, and refuses a timestamp too far from its own clock (a replayed old call):

    from runfolio.webhook_signature import verify
    verify(secret, request.headers["runfolio-signature"], raw_body)  # ValueError if bad

Each retry is signed again with its own timestamp; `runfolio-event-id` stays the
same over retries, so a receiver can drop a call it already handled.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "runfolio-signature"
EVENT_ID_HEADER = "runfolio-event-id"
EVENT_HEADER = "runfolio-event"
#: How old (or how far ahead) a signed timestamp `verify` accepts, seconds.
DEFAULT_TOLERANCE = 300


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `runfolio-signature` header value for `body` sent at `timestamp` (now)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_digest(secret, t, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a call's signature header against its raw body; its timestamp if good.

    ValueError when the header is malformed, the timestamp is further than
    `tolerance` seconds from `now`, or no `v1` signature matches.
    """
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise ValueError(f"malformed {HEADER} header: {header!r}")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise ValueError(f"{HEADER} header has no timestamp t=<unix seconds>") from None
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise ValueError(f"{HEADER} timestamp is more than {tolerance:g} s from now")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise ValueError(f"{HEADER} does not match the body (wrong secret or altered body)")
    return timestamp

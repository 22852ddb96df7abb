"""ASGI middleware: request body limit and the API version header check."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
MIN_API_VERSION = (0, 8, 0)
# Each part of x.y.z is compared as a number: nine digits keep `int()` cheap (and under
# Python's 4,300-digit limit, past which it raises) while allowing any real version.
MAX_VERSION_PART_DIGITS = 9
_ECHOED = 64  # characters of a refused value quoted back
_UNCHECKED_PATHS = ("/health", "/ready")
_UPLOAD_PATH = "/blobs"


class _BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
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


class RequestGuard:
    """Refuses bodies over `max_body_bytes` with 413 (counted as they stream in,
    never buffered whole), and malformed or too old `X-PREFECT-API-VERSION` headers."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Blob uploads (POST .../blobs) have their own, larger limit: they are streamed to
        # disk, never held in memory.
        self.upload_bytes = upload_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if _is_upload(scope) else self.max_body_bytes
        too_large = {"detail": f"Request body is larger than the limit of {limit} bytes."}
        api_version: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        await _send_json(send, 413, too_large)
                        return
                except ValueError:
                    pass
            elif name == b"x-prefect-api-version":
                api_version = value
        # Health and readiness probes answer whatever the header says (as the protocol's do).
        if api_version is not None and not scope["path"].endswith(_UNCHECKED_PATHS):
            problem = _check_api_version(api_version.decode("latin-1"))
            if problem:
                await _send_json(send, 400, {"detail": problem})
                return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                # The app's own answer to the failed read (frameworks turn the error
                # into a 400 or 500) is replaced by the 413 below.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _send_json(send, 413, too_large)


def _is_upload(scope: Scope) -> bool:
    path: str = scope["path"]
    return scope["method"] == "POST" and path.rstrip("/").endswith(_UPLOAD_PATH)


def _check_api_version(value: str) -> str | None:
    quoted = value if len(value) <= _ECHOED else f"{value[:_ECHOED]}... ({len(value)} characters)"
    if not _VERSION_RE.match(value):
        return (
            "Invalid X-PREFECT-API-VERSION header format."
            f"Expected header in format 'x.y.z' but received {quoted}"
        )
    if any(len(part) > MAX_VERSION_PART_DIGITS for part in value.split(".")):
        return (
            "Invalid X-PREFECT-API-VERSION header format.Expected each part of 'x.y.z' "
            f"to have at most {MAX_VERSION_PART_DIGITS} digits but received {quoted}"
        )
    if tuple(int(p) for p in value.split(".")) < MIN_API_VERSION:
        required = ".".join(str(p) for p in MIN_API_VERSION)
        return (
            f"The request specified API version {value} but this server requires "
            f"version {required} or higher."
        )
    return None

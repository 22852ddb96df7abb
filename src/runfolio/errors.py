"""The one exception tree of runfolio.

Store functions raise the domain errors (`NotFound`, `Conflict`, `Invalid`);
the server maps them to HTTP status codes in one place, and the HTTP transport
turns error responses back into the same classes, so callers see one family
whatever the transport.
"""

from __future__ import annotations

from typing import Any


class RunfolioError(Exception):
    """Base class of every error runfolio raises on purpose."""


class SettingsError(RunfolioError):
    """A RUNFOLIO_* setting has a value that cannot be used."""


class NotFound(RunfolioError):
    """The object asked for does not exist (in this workspace)."""


class Unauthenticated(RunfolioError):
    """No credentials, or ones that are not (or no longer) valid: who is calling is unknown."""


class Forbidden(RunfolioError):
    """The caller is known and may see the workspace, but its role does not allow this."""


class TooManyAttempts(RunfolioError):
    """Too many failed sign-ins for this user or from this address; retry later."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(RunfolioError):
    """The write contradicts what is stored (e.g. an id reused with other content)."""


class Invalid(RunfolioError):
    """The input is refused. `errors` lists what is wrong, field by field.

    Each entry has the pydantic error shape: `type`, `loc`, `msg`, `input`.
    """

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def field(cls, loc: tuple[str | int, ...], msg: str, value: Any = None) -> Invalid:
        """An error about one field, located like pydantic locates body fields."""
        where = ".".join(str(part) for part in loc)
        return cls(
            f"{where}: {msg}",
            [{"type": "value_error", "loc": list(loc), "msg": msg, "input": value}],
        )


class TooLarge(Invalid):
    """An upload past the largest size accepted, `limit` bytes (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {limit} bytes; nothing was stored.")
        self.limit = limit


class Busy(RunfolioError):
    """The database's write lock could not be had in time; the caller may retry.

    `retry_after` is a hint in seconds.
    """

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerUnreachable(RunfolioError):
    """The runfolio server at the configured URL did not answer."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Cannot reach the runfolio server at {url}: {reason}")
        self.url = url


class ServerError(RunfolioError):
    """The server answered with an error status that has no more specific class."""

    def __init__(self, status_code: int, detail: Any, url: str) -> None:
        super().__init__(f"{url} answered {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class LimitTooLarge(Invalid):
    """A page `limit` above the most the server returns at once, `max_limit`.

    Over HTTP the body is the protocol's `{"detail": ...}`; the maximum also
    travels as a number in the `header` response header, so a client that pages
    can shrink its pages without reading the prose.
    """

    header = "X-Runfolio-Max-Limit"

    def __init__(self, max_limit: int) -> None:
        super().__init__(f"Invalid limit: must be less than or equal to {max_limit}.")
        self.max_limit = max_limit


class OutboxError(RunfolioError):
    """The client's outbox file cannot be used (not an outbox, corrupt, or newer)."""


class OutboxFull(OutboxError):
    """The outbox reached RUNFOLIO_OUTBOX_MAX_BYTES: the write was not queued."""

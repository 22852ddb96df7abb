"""The runfolio client: `get_client()` picks the transport from the settings.

HTTP when `RUNFOLIO_API_URL` is set, the embedded store otherwise. The
transports are imported on first use, so `import runfolio` stays light.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from runfolio.client.base import RunfolioClient

if TYPE_CHECKING:
    from runfolio.settings import Settings

__all__ = ["RunfolioClient", "client_for", "get_client", "reset_client", "use_client"]

_lock = threading.Lock()
_default: RunfolioClient | None = None


def client_for(settings: Settings) -> RunfolioClient:
    """A new client for these settings."""
    if settings.api_url:
        from runfolio.client.http import HttpClient

        return HttpClient(settings)
    from runfolio.client.embedded import EmbeddedClient

    return EmbeddedClient(settings)


def get_client() -> RunfolioClient:
    """The process-wide client built from the environment (created on first use)."""
    global _default
    with _lock:
        if _default is None:
            # pydantic-settings loads here, on the first call, not with `runfolio.artifacts`.
            from runfolio.settings import load_settings

            _default = client_for(load_settings())
        return _default


def reset_client() -> None:
    """Forget the process-wide client (the next `get_client()` rereads the settings)."""
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        _default = None


def use_client(client: RunfolioClient) -> None:
    """Make `client` the process-wide client (for embedding runfolio, and for tests)."""
    global _default
    with _lock:
        _default = client

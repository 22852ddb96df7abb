"""What only the HTTP transport does: auth header, retries, unreachable servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runfolio.client import client_for
from runfolio.errors import ServerUnreachable
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.common import new_id
from runfolio.settings import Settings
from tests.servers import free_port


class _Recorder(BaseHTTPRequestHandler):
    """A loopback HTTP peer that fails the first N creates with 503, then accepts."""

    failures_left = 0
    seen: list[tuple[str, str | None, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append((self.path, self.headers.get("Authorization"), body))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        sent = json.loads(body)
        answer = {
            "id": sent["id"],
            "created": "2026-11-26T00:00:00.000000Z",
            "updated": "2026-11-26T00:00:00.000000Z",
            **{k: sent.get(k) for k in ("key", "type", "description", "data")},
        }
        payload = json.dumps(answer).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def peer() -> Iterator[ThreadingHTTPServer]:
    _Recorder.seen = []
    _Recorder.failures_left = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_bearer_header_and_retry_with_the_same_id(
    peer: ThreadingHTTPServer, tmp_path: Path
) -> None:
    # Two 503s: the create is queued in the outbox, and the sender retries it until taken.
    _Recorder.failures_left = 2
    url = f"http://127.0.0.1:{peer.server_address[1]}/api"
    client = client_for(Settings(home=tmp_path, api_url=url, api_key="secret", http_retries=3))
    chosen = new_id()
    created = client.create_artifact(ArtifactCreate(id=chosen, key="k", type="markdown", data="x"))
    assert created.id == chosen and created.data == "x"
    assert client.drain_outbox() == 0
    assert len(_Recorder.seen) == 3
    assert {auth for _, auth, _ in _Recorder.seen} == {"Bearer secret"}
    ids = {json.loads(body)["id"] for _, _, body in _Recorder.seen}
    assert ids == {str(chosen)}  # every retry carried the same client-chosen id
    client.close()


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    client = client_for(Settings(home=tmp_path, api_url=url, http_retries=1, http_timeout=2))
    with pytest.raises(ServerUnreachable, match=url.replace(".", r"\.")):
        client.read_artifact(new_id())
    client.close()


def test_a_bad_api_url_setting_is_refused(tmp_path: Path) -> None:
    from runfolio.errors import SettingsError
    from runfolio.settings import load_settings

    with pytest.raises(SettingsError, match="RUNFOLIO_API_URL"):
        load_settings(home=tmp_path, api_url="ftp://nope")

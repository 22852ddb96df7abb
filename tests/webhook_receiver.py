"""A webhook receiver for tests, run as its own process:

    python tests/webhook_receiver.py PORT RECORD_FILE

Answers every POST with the status its path names (`/status/500` → 500, a 3xx with
`location: /elsewhere`; any other path → 200) and appends one JSON line per request
to RECORD_FILE: path, headers (lower-case names) and the raw body as text.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(record: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            entry = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode(),
            }
            with record.open("a") as out:
                out.write(json.dumps(entry) + "\n")
            parts = self.path.strip("/").split("/")
            status = int(parts[1]) if len(parts) == 2 and parts[0] == "status" else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", "/elsewhere")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    port, record = int(sys.argv[1]), Path(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(record))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

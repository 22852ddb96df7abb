"""A real webhook receiver process (tests/webhook_receiver.py) for tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("webhook_receiver.py")


class Receiver:
    def __init__(self, port: int, record: Path) -> None:
        self.port = port
        self.record = record
        self.url = f"http://127.0.0.1:{port}"

    def calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line]

    def wait_for(
        self, count: int, timeout: float = 10, where: Callable[[dict[str, Any]], bool] = bool
    ) -> list[dict[str, Any]]:
        """The recorded calls (passing `where`) once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [call for call in self.calls() if where(call)]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"{len(found)} calls after {timeout} s: {found}"
            time.sleep(0.05)


@contextmanager
def running_receiver(port: int, record: Path) -> Iterator[Receiver]:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(port), str(record)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield Receiver(port, record)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()

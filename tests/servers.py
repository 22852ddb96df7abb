"""A real `runfolio server start` process on 127.0.0.1, for tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(self, process: subprocess.Popen[str], url: str, home: Path) -> None:
        self.process = process
        self.url = url
        self.api_url = f"{url}/api"
        self.home = home


@contextmanager
def running_server(
    home: Path,
    extra_env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    port: int | None = None,
    app_factory: str | None = None,
) -> Iterator[ServerProcess]:
    """Start `runfolio server start [args]` on `port` (default: a free one),
    RUNFOLIO_HOME=home; stop it after (unless it was stopped or killed already).

    `app_factory` ("module:function"): run that app with plain uvicorn instead."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env.update({"RUNFOLIO_HOME": str(home), **(extra_env or {})})
    command = [sys.executable, "-m", "runfolio.cli", "server", "start", "--port", str(port)]
    if app_factory is not None:
        command = [sys.executable, "-m", "uvicorn", "--factory", app_factory, "--port", str(port)]
        command += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(
        [*command, *args],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,  # where `app_factory`'s module imports from
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"server exited early:\n{output}")
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy in 30 s")
            time.sleep(0.05)
        yield ServerProcess(process, url, home)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:  # the pipe is ours to close (else ResourceWarning)
            process.stdout.close()

#!/usr/bin/env python3
"""A 50 MiB upload to a real server, and its download: the server's memory and the speed.

Starts a real `runfolio server start` (SQLite, open) on 127.0.0.1 in a temp home, then,
`--runs` times each, with fresh random bytes each run (so no upload is deduplicated):

- upload: `POST /api/blobs` of a `--mib` MiB file, streamed from disk by the SDK's
  HTTP transport (`HttpClient.upload_blob`);
- download: `GET /api/blobs/{sha256}` of it, streamed to a file;
- control: an 8 MiB markdown artifact (`POST /api/artifacts/`, a JSON body the server
  parses whole), once per run, to show that the sampler sees a body held in memory;
- baseline: the same bytes copied file to file on the same disk with their SHA-256
  computed and the copy fsynced (what an upload must do at least, without HTTP).

The server's resident memory (VmRSS from /proc) is sampled every 5 ms while each
transfer runs: idle before, the peak during, and after. Target: the peak within
20 MiB of idle (the body is never held whole). Run by hand, never in CI:

    .venv/bin/python bench/blob_upload.py --mib 50 --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from runfolio.client.http import HttpClient
from runfolio.settings import Settings

TARGET_MIB = 20.0
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    """The peak RSS of a process while a block runs (sampled every 5 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self.peak = rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib(self.pid))


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    exe = shutil.which("runfolio", path=str(Path(sys.executable).parent)) or "runfolio"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env.update(RUNFOLIO_HOME=str(home), RUNFOLIO_SERVER_PORT=str(port))
    proc = subprocess.Popen(
        [exe, "server", "start"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def write_random(path: Path, size: int) -> None:
    with path.open("wb") as file:
        for _ in range(size // MIB):
            file.write(os.urandom(MIB))


def copy_baseline(source: Path, target: Path) -> None:
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(MIB):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())


def timed(call: Callable[[Path, Path], None], *args: Path) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mib * MIB

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        port = free_port()
        server = start_server(home, port)
        api = f"http://127.0.0.1:{port}/api"
        client = HttpClient(Settings(home=Path(tmp) / "client", api_url=api))
        rows: dict[str, list[tuple[float, float, float, float]]] = {
            "upload": [],
            "download": [],
            "control": [],
        }
        baseline: list[float] = []
        try:
            # Warm up the routes (imports, first-request costs) with a small upload.
            small = Path(tmp) / "small.bin"
            small.write_bytes(os.urandom(1024))
            with small.open("rb") as file:
                warm = client.upload_blob(file, "application/octet-stream")
            httpx.get(f"http://127.0.0.1:{port}{warm.url}", timeout=30)
            for run in range(args.runs):
                source = Path(tmp) / f"data-{run}.bin"
                write_random(source, size)
                baseline.append(timed(copy_baseline, source, Path(tmp) / "copy.bin"))

                idle = rss_mib(server.pid)
                with Sampler(server.pid) as sampler, source.open("rb") as file:
                    start = time.perf_counter()
                    blob = client.upload_blob(file, "application/octet-stream", "data.bin")
                    seconds = time.perf_counter() - start
                assert blob.size == size
                rows["upload"].append((idle, sampler.peak, rss_mib(server.pid), seconds))

                idle = rss_mib(server.pid)
                target = Path(tmp) / "downloaded.bin"
                with Sampler(server.pid) as sampler:
                    start = time.perf_counter()
                    with (
                        httpx.stream("GET", f"http://127.0.0.1:{port}{blob.url}", timeout=60) as r,
                        target.open("wb") as out,
                    ):
                        for chunk in r.iter_bytes(MIB):
                            out.write(chunk)
                    seconds = time.perf_counter() - start
                assert target.stat().st_size == size
                rows["download"].append((idle, sampler.peak, rss_mib(server.pid), seconds))
                source.unlink()

                markdown = "x" * (8 * MIB)
                idle = rss_mib(server.pid)
                with Sampler(server.pid) as sampler:
                    start = time.perf_counter()
                    made = httpx.post(
                        f"{api}/artifacts/", json={"type": "markdown", "data": markdown}, timeout=60
                    )
                    seconds = time.perf_counter() - start
                assert made.status_code == 201, made.text
                rows["control"].append((idle, sampler.peak, rss_mib(server.pid), seconds))
        finally:
            client.close()
            server.send_signal(signal.SIGINT)
            server.wait(timeout=20)

    base = statistics.median(baseline)
    print(f"{args.mib} MiB, {args.runs} runs, medians; baseline copy+sha256+fsync {base:.3f} s")
    print("transfer   idle MiB  peak MiB  after MiB  peak-idle  seconds  MiB/s  x baseline")
    for name, values in rows.items():
        mib = 8 if name == "control" else args.mib
        idle, peak, after, seconds = (statistics.median(v) for v in zip(*values, strict=True))
        growth = max(p - i for i, p, _, _ in values)
        print(
            f"{name:9}  {idle:8.1f}  {peak:8.1f}  {after:9.1f}  {growth:9.1f}  "
            f"{seconds:7.3f}  {mib / seconds:5.0f}  {seconds / base:10.2f}"
        )
        if name != "control":
            verdict = "met" if growth <= TARGET_MIB else "NOT met"
            print(
                f"           worst peak-idle {growth:.1f} MiB: target {TARGET_MIB:g} MiB {verdict}"
            )


if __name__ == "__main__":
    main()

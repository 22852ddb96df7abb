#!/usr/bin/env python3
"""Where a real server spends its CPU under the harness's create load (py-spy, all threads).

Starts `runfolio server start` on a fresh database, attaches `py-spy record --gil`
once it answers (every thread, sampled while it holds the GIL), runs the reference
harness's artifact_bench.py workloads against it, stops the server, and prints the
functions holding most of the samples: inclusive (the function and what it calls)
and self. Run by hand:

    .venv/bin/python bench/profile_server.py --workloads W1 --n1 4000
    .venv/bin/python bench/profile_server.py --workloads W1 --n1 4000 --pg   # on PostgreSQL

Needs py-spy (`pip install -e '.[bench]'`). `--raw` keeps the collapsed stacks
(for flamegraph tools); `--src` runs another checkout's server (PYTHONPATH).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HARNESS = ROOT.parent / "shared" / "bench"
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the PostgreSQL server, as for the tests

from tests.pg import postgres_server  # noqa: E402


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer {url} in {timeout:g} s")


def frame_name(frame: str) -> str:
    """`function (path/to/module.py:line)` -> `function (module.py)`: lines merged."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    # Keep the package folder for context: starlette/routing.py, runfolio/store/artifacts.py.
    short = "/".join(parts[-3:]) if "runfolio" in parts else "/".join(parts[-2:])
    return f"{name} ({short})"


# Frames every sample of a thread passes through (start-up and thread entry points):
# left out of the inclusive table, where they would only fill the top.
_ENTRY_FRAMES = ("typer/", "_click/", "<frozen runpy>", "runfolio/cli/", "uvicorn/main.py",
                 "uvicorn/server.py", "uvicorn/_compat.py", "asyncio/runners.py",
                 "(threading.py)", "futures/thread.py")  # fmt: skip


def summarise(raw: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")[1:]]  # [0] is the thread
        total += count
        for name in set(frames):
            inclusive[name] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"samples (busy threads): {total}", "", "| inclusive % | self % | function |"]
    lines.append("|---|---|---|")
    shown = [(n, c) for n, c in inclusive.most_common() if not any(e in n for e in _ENTRY_FRAMES)]
    for name, count in shown[:top]:
        lines.append(f"| {100 * count / total:.1f} | {100 * own[name] / total:.1f} | `{name}` |")
    lines += ["", "| self % | function |", "|---|---|"]
    for name, count in own.most_common(top):
        lines.append(f"| {100 * count / total:.1f} | `{name}` |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--harness", type=Path, default=DEFAULT_HARNESS)
    ap.add_argument("--workloads", default="W1")
    ap.add_argument("--n1", type=int, default=3000)
    ap.add_argument("--port", type=int, default=4281)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    ap.add_argument("--src", type=Path, help="a checkout whose src/ the server runs from")
    ap.add_argument("--pg", action="store_true", help="on a throw-away PostgreSQL (tests/pg.py)")
    a = ap.parse_args()
    with contextlib.ExitStack() as stack:
        url = None
        if a.pg:
            url = stack.enter_context(stack.enter_context(postgres_server()).database())
        profile(a, url)


def profile(a: argparse.Namespace, database_url: str | None) -> None:

    py_spy = Path(sys.executable).parent / "py-spy"
    work = Path(tempfile.mkdtemp(prefix="runfolio-profile-"))
    raw = a.raw or work / "stacks.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["RUNFOLIO_HOME"] = str(work / "home")
    if database_url is not None:
        env["RUNFOLIO_DATABASE_URL"] = database_url
    if a.src is not None:
        env["PYTHONPATH"] = str(a.src.resolve() / "src")
    server = subprocess.Popen(
        [sys.executable, "-m", "runfolio.cli", "server", "start", "--port", str(a.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spy = None
    try:
        wait_healthy(f"http://127.0.0.1:{a.port}/api/health")
        # Attached once the server is up, so start-up is not in the profile; --gil keeps
        # the samples of the thread holding the GIL (the CPU Python spends), not waits.
        spy = subprocess.Popen(
            [
                str(py_spy), "record", "--pid", str(server.pid), "--gil", "--format", "raw",
                "--rate", str(a.rate), "--output", str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)  # py-spy attaches
        subprocess.run(
            [
                sys.executable, str(a.harness / "artifact_bench.py"),
                "--api-url", f"http://127.0.0.1:{a.port}/api",
                "--workloads", a.workloads, "--n1", str(a.n1), "--procs", "2",
            ],
            check=True,
        )  # fmt: skip
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled
            spy.wait(timeout=60)
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    print(summarise(raw, a.top))


if __name__ == "__main__":
    main()

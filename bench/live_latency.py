#!/usr/bin/env python3
"""How fast an open page shows a write, and what the change cursor costs a create.

1. Latency, in real headless Chromium against `runfolio server start`: a page open on
   a progress artifact (live JSON path) and one on a markdown artifact (its region is
   drawn again from the page's HTML). The page itself sends each PATCH (fetch) and a
   MutationObserver notes when the DOM shows it, both on `performance.now()`: the
   figure is from the write's answer to the DOM change. `--updates` of each, one at a
   time. Baseline, same run: the same page with its stream refused, polling every
   second as before.
2. Cost: server CPU (the process's user+system time from /proc) per artifact create
   over HTTP, with the change row and without it (the same server with
   `runfolio.store.changes.record` replaced by a no-op), round-robin, `--rounds`
   rounds of `--creates` creates each; and the same on the store itself in this
   process (no HTTP: less noise on a shared machine).

Run by hand, never in CI:

    .venv/bin/python bench/live_latency.py --updates 50 --rounds 3 --creates 1500
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
NO_CHANGE_ROWS = (
    "import runfolio.store.changes as c; c.record = lambda *a, **k: None; "
    "from runfolio.cli import app; app()"
)

# Runs in the page: PATCH the artifact, then wait for the DOM to show the value.
MEASURE = """async ([id, body, selector, expected]) => {
  const target = () => document.querySelector(selector);
  const shown = () => target() && target().textContent.trim() === expected;
  let seenAt = null;
  const observer = new MutationObserver(() => {
    if (seenAt === null && shown()) seenAt = performance.now();
  });
  const options = {subtree: true, childList: true, characterData: true};
  observer.observe(document.querySelector("main"), options);
  const response = await fetch(`/api/artifacts/${id}`, {
    method: "PATCH", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
  });
  const answered = performance.now();
  if (!response.ok) throw new Error("PATCH " + response.status);
  const deadline = answered + 5000;
  while (seenAt === null && performance.now() < deadline) {
    await new Promise(r => setTimeout(r, 5));
  }
  observer.disconnect();
  if (seenAt === null) throw new Error("not shown within 5 s");
  return Math.max(0, seenAt - answered);
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(home: Path, *, change_rows: bool = True) -> Iterator[tuple[str, int]]:
    """A `runfolio server start` on a free port; yields its URL and pid."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["RUNFOLIO_HOME"] = str(home)
    command = [sys.executable, "-m", "runfolio.cli"]
    if not change_rows:
        command = [sys.executable, "-c", NO_CHANGE_ROWS]
    process = subprocess.Popen(
        [*command, "server", "start", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):6.1f} ms   p95 {percentile(values, 95):6.1f} ms   "
        f"max {max(values):6.1f} ms   (n={len(values)})"
    )


# -- 1. latency ---------------------------------------------------------------------


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    response.raise_for_status()
    return dict(response.json())


def _latencies(page: Page, kind: str, artifact_id: str, updates: int) -> list[float]:
    found = []
    for i in range(updates):
        if kind == "progress":
            value = round(1 + (i * 97 % 98) + 0.5, 1)  # a new value every time
            body: dict[str, Any] = {"data": value}
            selector = f"[data-progress-label='{artifact_id}']"
            expected = f"{value:g}%"
        else:
            body = {"data": f"# Update {i}"}
            selector = "[data-renderer=markdown] h1"
            expected = f"Update {i}"
        found.append(float(page.evaluate(MEASURE, [artifact_id, body, selector, expected])))
        page.wait_for_timeout(20 + (i * 37) % 300)  # not in step with a poll
    return found


def latency(updates: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    home = Path(tempfile.mkdtemp(prefix="runfolio-live-bench-"))
    try:
        with (
            server(home) as (url, _pid),
            httpx.Client(base_url=f"{url}/api", timeout=10) as http,
            sync_playwright() as pw,
        ):
            flow = _post(http, "/flows/", {"name": "bench-live"})
            run = _post(http, "/flow_runs/", {"flow_id": flow["id"]})
            http.post(
                f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING"}}
            ).raise_for_status()
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for stream in (True, False):
                for kind in ("progress", "markdown"):
                    made = _post(
                        http,
                        "/artifacts/",
                        {
                            "key": f"bench-{kind}-{'push' if stream else 'poll'}",
                            "type": kind,
                            "data": 0.0 if kind == "progress" else "# Start",
                            "flow_run_id": run["id"],
                        },
                    )
                    context = browser.new_context(base_url=url)
                    page = context.new_page()
                    if not stream:
                        page.route(
                            "**/api/ui/stream?**",
                            lambda route: route.fulfill(status=503, json={"detail": "off"}),
                        )
                    page.goto(f"/artifacts/{made['id']}")
                    wanted = "open" if stream else "closed"
                    page.wait_for_selector(f"main[data-stream={wanted}]")
                    page.wait_for_timeout(500)
                    if kind == "markdown" and not stream:
                        continue  # polling only ever fetched the live JSON (no markdown)
                    name = f"{kind}, {'pushed' if stream else 'polled (baseline)'}"
                    n = updates if stream else max(10, updates // 3)
                    results[name] = _latencies(page, kind, made["id"], n)
                    context.close()
            browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return results


# -- 2. the cost of the change row on a create ----------------------------------------


def create_cost(rounds: int, creates: int) -> dict[str, list[float]]:
    per_create: dict[str, list[float]] = {"with change row": [], "without": []}
    for _ in range(rounds):
        for name, rows in (("with change row", True), ("without", False)):
            home = Path(tempfile.mkdtemp(prefix="runfolio-live-cost-"))
            try:
                with (
                    server(home, change_rows=rows) as (url, pid),
                    httpx.Client(base_url=f"{url}/api", timeout=10) as http,
                ):
                    for i in range(50):  # warm up
                        _post(
                            http,
                            "/artifacts/",
                            {"key": f"warm-{i}", "type": "markdown", "data": "w"},
                        )
                    before = cpu_seconds(pid)
                    for i in range(creates):
                        _post(
                            http,
                            "/artifacts/",
                            {"key": f"k-{i % 20}", "type": "markdown", "data": f"v{i}"},
                        )
                    per_create[name].append((cpu_seconds(pid) - before) / creates * 1000)
            finally:
                shutil.rmtree(home, ignore_errors=True)
    return per_create


def store_cost(rounds: int, creates: int) -> dict[str, list[float]]:
    """CPU per create in this process, straight on the store (one transaction each, as a
    request commits): the same file, with and without the change row, alternating."""
    from runfolio.schemas.artifacts import ArtifactCreate
    from runfolio.store import artifacts, changes
    from runfolio.store.engine import connect, write
    from runfolio.store.tables import DEFAULT_WORKSPACE_ID

    real = changes.record

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    per_create: dict[str, list[float]] = {"with change row": [], "without": []}
    home = Path(tempfile.mkdtemp(prefix="runfolio-live-store-"))
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    try:
        for r in range(rounds):
            for name, record in (("with change row", real), ("without", nothing)):
                changes.record = record  # type: ignore[assignment]
                started = time.process_time()
                for i in range(creates):
                    action = ArtifactCreate(key=f"k-{i % 20}", type="markdown", data=f"{r}-{i}")
                    with write(engine) as conn:
                        artifacts.create(conn, DEFAULT_WORKSPACE_ID, action)
                per_create[name].append((time.process_time() - started) / creates * 1000)
    finally:
        changes.record = real  # type: ignore[assignment]
        engine.dispose()
        shutil.rmtree(home, ignore_errors=True)
    return per_create


def _print_cost(cost: dict[str, list[float]]) -> None:
    for name, values in cost.items():
        shown = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {name:16s} median {statistics.median(values):.3f} ms   ({shown})")
    ratio = statistics.median(cost["with change row"]) / statistics.median(cost["without"])
    extra = statistics.median(cost["with change row"]) - statistics.median(cost["without"])
    print(f"  with / without: {ratio:.3f}x ({extra * 1000:+.0f} us per create)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--updates", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--creates", type=int, default=1500)
    ap.add_argument("--latency-only", action="store_true")
    a = ap.parse_args()

    print("Latency from the write's answer to the DOM change (real Chromium):")
    for name, values in latency(a.updates).items():
        print(f"  {name:32s} {summary(values)}")

    if a.latency_only:
        return
    print(f"\nServer CPU per artifact create over HTTP ({a.rounds} x {a.creates} creates):")
    _print_cost(create_cost(a.rounds, a.creates))
    print(f"\nCPU per create on the store itself ({a.rounds * 2} x {a.creates} creates):")
    _print_cost(store_cost(a.rounds * 2, a.creates))


if __name__ == "__main__":
    main()

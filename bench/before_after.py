#!/usr/bin/env python3
"""Every benchmark in bench/, on two revisions of runfolio, side by side in one run.

Exports both revisions (`git archive`, into a temp dir: the checkout is never touched),
then runs each bench of the AFTER revision's bench/ with a small configuration, taking
turns (before, after, before, after: 2 rounds each while the time budget allows). The
code under test is chosen by `PYTHONPATH=<export>/src`, which comes before the venv's
editable install and is inherited by what a bench starts (`runfolio server start`,
`python -m runfolio.cli`, Dask workers); both sides run the same bench script, so only
runfolio's code differs. Each bench's headline figures are read from its output and
printed as one markdown table: medians over the rounds, after / before, and a mark
where after is more than 10 % worse (marked, not failed). Run by hand, never in CI:

    .venv/bin/python bench/before_after.py --before 40cb2df --after HEAD
    .venv/bin/python bench/before_after.py --only diff_tables,key_trends --rounds 1

A bench that fails on one side gets its error line in the table; the rest go on.
Server comparisons (compare_servers.py, compare_postgres.py, pg_scale.py,
profile_server.py) are run on their own and skipped here. A bench this file does not
know is run with its defaults, its figures read from its JSON, tables or `<n> ms` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from before_after_figures import BENCHES, UNKNOWN, Bench, Figure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT.parent / "shared" / "bench"  # the reference harness, beside the checkout
NOT_BENCHES = {
    "before_after.py",
    "before_after_figures.py",
    "compare_servers.py",
    "compare_postgres.py",
    "pg_scale.py",
    "profile_server.py",
    "limit_postgres.py",  # a server the PostgreSQL comparison runs against
}
WORSE_BY = 1.10  # after more than 10 % worse than before: marked
SIDES = ("before", "after")


# -- running ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One bench's runs on both sides: figures per round, or the error line of a run."""

    bench: str
    size: str
    figures: dict[str, dict[str, list[Figure]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    rounds: int = 0
    round_seconds: float = 0.0  # the last round's, to judge whether another fits
    loads: list[float] = field(default_factory=list)  # 1-minute load as each run began


def export(revision: str, into: Path) -> str:
    """The revision's files under `into` (git archive: no worktree, no checkout); its sha."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    into.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", sha], stdout=subprocess.PIPE)
    assert archive.stdout is not None
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(into, filter="data")
    if archive.wait() != 0:
        raise SystemExit(f"git archive {sha} failed")
    # Compiled once here, so neither side's first run pays for writing .pyc files.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "src")], check=True)
    return sha


def side_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["PYTHONPATH"] = str(tree / "src")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def check_imports(tree: Path) -> None:
    """The interpreter and the `runfolio` console script (what benches start servers with)
    both import runfolio from `tree`, not from the editable install."""
    env = side_env(tree)
    where = subprocess.run(
        [sys.executable, "-c", "import runfolio; print(runfolio.__file__)"],
        env=env, capture_output=True, text=True, check=True, cwd=tree,
    ).stdout.strip()  # fmt: skip
    script = Path(sys.executable).parent / "runfolio"
    verbose = subprocess.run(
        [str(script), "--help"], env={**env, "PYTHONVERBOSE": "1"},
        capture_output=True, text=True, check=True, cwd=tree,
    ).stderr  # fmt: skip
    wanted = str(tree / "src" / "runfolio" / "__init__.py")
    if where != wanted or wanted not in verbose:
        raise SystemExit(f"runfolio is not imported from {tree}: {where}")
    print(f"  {tree.name}: runfolio from {where} (python and the runfolio script)")


def error_line(stderr: str, stdout: str) -> str:
    """The last line of stderr (the exception), else of stdout."""
    for text in (stderr, stdout):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[-1][:200]
    return "no output"


def stop_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the bench's process group; after 20 s, SIGKILL to what is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def port_free(port: int, wait_s: float = 120.0) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`, waiting up to `wait_s` for it."""
    deadline = time.monotonic() + wait_s
    while True:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is free
            try:
                sock.bind(("127.0.0.1", port))
                return True
            except OSError:
                pass
        if time.monotonic() > deadline:
            return False
        time.sleep(1)


def run_once(
    script: Path, bench: Bench, tree: Path, logs: Path, label: str
) -> tuple[list[Figure], str | None]:
    """One run of one bench on one side: its figures, and the line saying why it failed."""
    if bench.port is not None and not port_free(bench.port):
        return [], f"port {bench.port} held by another process for 2 minutes"
    with tempfile.TemporaryDirectory(prefix="before-after-") as scratch:
        known = script.read_text()
        args = [
            *bench.args,
            *(arg for group in bench.optional if group[0] in known for arg in group),
        ]
        args = [arg.format(harness=HARNESS, scratch=scratch) for arg in args]
        started = time.perf_counter()
        # A session of its own: on a timeout, the servers, browsers and workers the
        # bench started go with it (its process group, by id).
        process = subprocess.Popen(
            [sys.executable, str(script), *args],
            env=side_env(tree), cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip
        try:
            out, err = process.communicate(timeout=bench.timeout_s)
        except BaseException:  # the timeout, or Ctrl-C
            stop_group(process)
            if sys.exc_info()[0] is subprocess.TimeoutExpired:
                return [], f"timed out after {bench.timeout_s:.0f} s"
            raise
        seconds = time.perf_counter() - started
    (logs / f"{label}.out").write_text(out)
    (logs / f"{label}.err").write_text(err)
    print(f"    {label}: exit {process.returncode} in {seconds:.0f} s", flush=True)
    invalid = re.search(bench.invalid, out + err) if bench.invalid else None
    if invalid:
        return [], f"not a valid run: {invalid.group()[:200]}"
    try:
        figures = [f for f in bench.parse(out) if not math.isnan(f.value)]
    except Exception as error:  # a parser that trips must not end the whole run
        return [], f"output not understood: {error!r}"
    # Figures printed before a failure are kept (e.g. the layers measured before the one
    # that needs code the before revision lacks).
    if process.returncode != 0:
        return figures, f"exit {process.returncode}: {error_line(err, out)}"
    return figures, None if figures else "none of its figures in the output"


def run_round(outcome: Outcome, script: Path, trees: dict[str, Path], logs: Path, n: int) -> None:
    """Round n of one bench: before, then after (a side that failed with no figures is
    not rerun)."""
    bench = BENCHES.get(script.name, UNKNOWN)
    started = time.perf_counter()
    for side in SIDES:
        if side in outcome.errors and not any(sides[side] for sides in outcome.figures.values()):
            continue
        outcome.loads.append(os.getloadavg()[0])
        figures, error = run_once(script, bench, trees[side], logs, f"{script.stem}-{side}-{n}")
        if error:
            outcome.errors[side] = error
        for figure in figures:
            outcome.figures.setdefault(figure.name, {s: [] for s in SIDES})[side].append(figure)
    outcome.rounds += 1
    outcome.round_seconds = time.perf_counter() - started


# -- the table -------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if size >= 0.1 else f"{value:.3g}"


def _cell(values: list[float]) -> str:
    if not values:
        return "not printed"
    if len(values) == 1:
        return _fmt(values[0])
    return f"{_fmt(statistics.median(values))} ({_fmt(min(values))}–{_fmt(max(values))})"


def _verdict(figure: Figure, before: list[float], after: list[float]) -> tuple[str, str]:
    """(after / before of the medians, the mark where after is more than 10 % worse)."""
    b, a = statistics.median(before), statistics.median(after)
    if b == 0:
        return "–", ""
    ratio = a / b
    worse = ratio > WORSE_BY if figure.lower_is_better else ratio < 1 / WORSE_BY
    if not worse:
        return f"{ratio:.2f}", ""
    # Overlapping ranges: the difference is no larger than the rounds' own spread.
    overlap = min(after) <= max(before) if figure.lower_is_better else max(after) >= min(before)
    mark = "**worse**, within the rounds' spread" if overlap and len(before) > 1 else "**worse**"
    return f"{ratio:.2f}", mark


def table(outcomes: list[Outcome]) -> Iterator[str]:
    yield "| bench | figure | before | after | after / before | > 10 % worse |"
    yield "|---|---|---:|---:|---:|---|"
    for outcome in outcomes:
        for name, sides in outcome.figures.items():
            before, after = sides["before"], sides["after"]
            first = (before or after)[0]
            unit = f" ({first.unit})" if first.unit else ""
            better = "" if first.lower_is_better else ", higher is better"
            bs, as_ = [f.value for f in before], [f.value for f in after]
            ratio, mark = _verdict(first, bs, as_) if bs and as_ else ("–", "")
            cells = [
                "failed (below)" if not values and side in outcome.errors else _cell(values)
                for side, values in (("before", bs), ("after", as_))
            ]
            yield (
                f"| {outcome.bench} | {name}{unit}{better} | {cells[0]} | {cells[1]} "
                f"| {ratio} | {mark} |"
            )
        for side, error in outcome.errors.items():
            yield f"| {outcome.bench} | **failed on {side}** | {error.replace('|', '/')} | | | |"


def configurations(outcomes: list[Outcome]) -> Iterator[str]:
    yield "| bench | arguments | size | rounds (each: before, after) | 1-min load at its runs |"
    yield "|---|---|---|---|---|"
    for outcome in outcomes:
        bench = BENCHES.get(f"{outcome.bench}.py", UNKNOWN)
        optional = " ".join(f"[{' '.join(group)}]" for group in bench.optional)
        args = " ".join([*bench.args, optional]).strip() or "(none)"
        loads = f"{min(outcome.loads):.1f}–{max(outcome.loads):.1f}" if outcome.loads else ""
        yield f"| {outcome.bench} | `{args}` | {outcome.size} | {outcome.rounds} | {loads} |"


# -- main ------------------------------------------------------------------------------------


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--before", default="40cb2df", help="revision (default: today's start)")
    ap.add_argument("--after", default="HEAD", help="revision (default: HEAD)")
    ap.add_argument("--rounds", type=int, default=2, help="before+after pairs per bench")
    ap.add_argument("--budget-minutes", type=float, default=30.0, help="no new round after it")
    ap.add_argument("--only", help="comma-separated bench names (default: every bench)")
    ap.add_argument("--skip", default="", help="comma-separated bench names to leave out")
    ap.add_argument("--focus", default="", help="benches whose later rounds go first")
    ap.add_argument("--logs", type=Path, help="each run's output (default: a kept temp dir)")
    ap.add_argument("--markdown", type=Path, help="also write the report here")
    a = ap.parse_args()

    started_at, load_at_start, clock = utc(), load(), time.perf_counter()
    deadline = clock + a.budget_minutes * 60
    logs = a.logs or Path(tempfile.mkdtemp(prefix="before-after-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="before-after-trees-") as tmp:
        trees = {side: Path(tmp) / side for side in SIDES}
        shas = {
            side: export(rev, trees[side])
            for side, rev in (("before", a.before), ("after", a.after))
        }
        print("code under test:", flush=True)
        for tree in trees.values():
            check_imports(tree)
        bench_dir = trees["after"] / "bench"
        skipped = set(a.skip.split(","))
        focus = set(a.focus.split(","))
        scripts = [
            script
            for script in sorted(bench_dir.glob("*.py"))
            if script.name not in NOT_BENCHES
            and script.stem not in skipped
            and (a.only is None or script.stem in a.only.split(","))
        ]
        outcomes = {script: Outcome(script.stem, BENCHES.get(script.name, UNKNOWN).size)
                    for script in scripts}  # fmt: skip
        for n in range(1, a.rounds + 1):
            # Each bench has its first round; later rounds go to the --focus benches first,
            # then quickest first while time is left, so that most benches get them.
            order = (
                outcomes.items()
                if n == 1
                else sorted(
                    outcomes.items(),
                    key=lambda item: (item[0].stem not in focus, item[1].round_seconds),
                )
            )
            for script, outcome in order:
                if n > 1 and time.perf_counter() + outcome.round_seconds > deadline:
                    continue
                print(f"round {n}: {script.stem}", flush=True)
                run_round(outcome, script, trees, logs, n)

    subjects = {
        side: subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", sha],
            capture_output=True, text=True, check=True,
        ).stdout.strip()[:100]
        for side, sha in shas.items()
    }  # fmt: skip
    minutes = (time.perf_counter() - clock) / 60
    report = [
        f"before: `{subjects['before']}`  ",
        f"after: `{subjects['after']}`  ",
        f"command: `{' '.join([Path(sys.executable).name, *sys.argv])}`  ",
        f"{started_at} to {utc()} ({minutes:.0f} min), {os.cpu_count()} CPUs; "
        f"load averages (1, 5, 15 min) {load_at_start} at the start, {load()} at the end  ",
        "Figures are medians over the rounds (min–max in brackets); each round runs the "
        "bench before, then after, with the same bench script (the after revision's). "
        f"{a.rounds} rounds asked; a bench with fewer found no time left in the "
        f"{a.budget_minutes:g}-minute budget. Each run's output: `{logs}`.",
        "",
        *table(list(outcomes.values())),
        "",
        "Configurations (a bench's defaults are larger; the sizes here keep the run short; "
        "[flags] go only to a version of the bench that has them):",
        "",
        *configurations(list(outcomes.values())),
    ]
    text = "\n".join(report) + "\n"
    print("\n" + text)
    if a.markdown:
        a.markdown.write_text(text)


if __name__ == "__main__":
    main()

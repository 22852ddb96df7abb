"""A throw-away virtualenv holding the unmodified Prefect client, cached between runs.

Prefect is never a dependency of runfolio: it lives in its own virtualenv under
`$XDG_CACHE_HOME/runfolio` (default `~/.cache/runfolio`), built once and reused
while it still imports the pinned version. It is built in a temporary folder
and renamed into place, so an interrupted build never leaves a half-made
virtualenv behind, and a lock file keeps two test runs from building it at once.
Everything in it is run as `<venv>/bin/python -m ...` (console scripts would
carry the temporary folder's path in their shebang lines).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

PREFECT_VERSION = "3.9.1"
# prefect-dask 0.3.7 is the newest release pip resolves together with prefect==3.9.1.
PREFECT_DASK_VERSION = "0.3.7"
PACKAGES = [f"prefect=={PREFECT_VERSION}", f"prefect-dask=={PREFECT_DASK_VERSION}", "requests"]
NAME = f"compat-venv-prefect-{PREFECT_VERSION}"
INSTALL_TIMEOUT_S = 900


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runfolio"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _usable(venv: Path) -> bool:
    python = venv_python(venv)
    if not python.exists():
        return False
    try:
        probe = subprocess.run(
            [
                str(python),
                "-c",
                "import prefect, prefect_dask, requests; print(prefect.__version__)",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and probe.stdout.strip() == PREFECT_VERSION


def _build(target: Path) -> None:
    build = target.parent / f".{target.name}.build-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    log = target.parent / f"{target.name}.build.log"
    try:
        with log.open("w") as out:
            for command in (
                [sys.executable, "-m", "venv", str(build)],
                [
                    str(venv_python(build)),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    *PACKAGES,
                ],
            ):
                out.write(f"$ {' '.join(command)}\n")
                out.flush()
                subprocess.run(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=INSTALL_TIMEOUT_S,
                )
        if not _usable(build):
            raise RuntimeError(f"the new virtualenv does not import prefect {PREFECT_VERSION}")
        shutil.rmtree(target, ignore_errors=True)
        build.rename(target)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(
            f"could not build {target}: {exc}\n--- {log} (tail) ---\n{tail}"
        ) from exc
    finally:
        shutil.rmtree(build, ignore_errors=True)


def ensure_prefect_venv() -> Path:
    """The cached virtualenv with prefect==PREFECT_VERSION, built when missing or broken."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / NAME
    if _usable(target):
        return target
    with (root / f"{NAME}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _usable(target):
            _build(target)
    return target

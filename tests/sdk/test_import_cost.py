"""What a script that only creates artifacts loads on import, in a fresh interpreter.

The SDK's imports are what every script pays before its first line runs, so the
modules a create does not need (the server, the store, the HTTP client, run and
filter schemas, settings, asyncio) must load on first use, not at import.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import runfolio._artifacts
import runfolio.artifacts
from runfolio._lazy import LazyFunction

# Loaded by a call that needs them, never by the imports a script starts with.
DEFERRED = (
    "alembic",
    "asyncio",
    "dotenv",
    "fastapi",
    "httpx",
    "jinja2",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "rich",
    "sqlalchemy",
    "starlette",
    "typer",
    "uvicorn",
    "runfolio._artifacts",
    "runfolio.cli",
    "runfolio.client",
    "runfolio.client.embedded",
    "runfolio.client.http",
    "runfolio.client.outbox",
    "runfolio.ops",
    "runfolio.schemas",
    "runfolio.server",
    "runfolio.settings",
    "runfolio.store",
    "runfolio.task_runners",
)

_SCRIPT = """
import json, sys
from runfolio import flow, task
from runfolio.artifacts import create_markdown_artifact
deferred = json.loads(sys.argv[1])
loaded = sorted(m for m in deferred if m in sys.modules)
# The deferred parts still load when a call needs them.
artifact_id = create_markdown_artifact("# hi", key="import-cost")
import asyncio
from runfolio.artifacts import Artifact, acreate_progress_artifact
progress_id = asyncio.run(acreate_progress_artifact(250, key="import-cost-progress"))
latest = Artifact.get("import-cost")
print(json.dumps({
    "loaded": loaded,
    "markdown": str(artifact_id),
    "progress": str(progress_id),
    "latest": str(latest.id) if latest else None,
    "latest_data": Artifact.get("import-cost-progress").data,
}))
"""


def test_artifact_script_imports_defer_what_a_create_does_not_need(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["RUNFOLIO_HOME"] = str(tmp_path / "home")
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(DEFERRED)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [], f"loaded at import: {result['loaded']}"
    assert result["latest"] == result["markdown"]
    assert result["latest_data"] == 100.0  # clamped: the lazily built validator ran
    assert result["progress"] != result["markdown"]


def test_bad_progress_is_refused_with_the_lazily_loaded_validator() -> None:
    code = (
        "from runfolio.artifacts import ProgressArtifact\n"
        "try:\n"
        "    ProgressArtifact(progress='lots')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, 'progress must be a number' in str(exc))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["ValidationError", "True"]


@pytest.mark.parametrize("name", runfolio.artifacts.__all__)
def test_each_public_name_is_its_implementation_once_used(name: str) -> None:
    public = getattr(runfolio.artifacts, name)
    if name[:1].isupper():
        assert inspect.isclass(public)  # the real class: subclassing and isinstance work
        home = public.__module__
    else:
        assert isinstance(public, LazyFunction)
        home = public._home
        assert public._load() is getattr(sys.modules[home], name)
        assert pickle.loads(pickle.dumps(public)) is public
    assert getattr(sys.modules[home], name) is not None
    assert name in dir(runfolio.artifacts)


def test_a_stand_in_shows_the_real_signature_docs_and_async_twin() -> None:
    public = runfolio.artifacts.create_markdown_artifact
    real = runfolio._artifacts.create_markdown_artifact
    assert inspect.signature(public) == inspect.signature(real)
    assert public.__doc__ == real.__doc__ and public.__doc__
    assert public.aio is real.aio
    assert public.__name__ == "create_markdown_artifact"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'create_nothing'"):
        runfolio.artifacts.create_nothing  # noqa: B018
    with pytest.raises(AttributeError):
        getattr(runfolio.artifacts.create_markdown_artifact, "_private")  # noqa: B009

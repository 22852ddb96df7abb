"""The exported names are exactly the documented ones, and nothing else looks public."""

from __future__ import annotations

from types import ModuleType

import runfolio
import runfolio.artifacts

# Imported by runfolio.artifacts for its own use, public by spelling only. Listed so
# that any other public-looking name (a new helper, a new import) fails the test;
# an entry goes when the module imports it privately.
ARTIFACTS_IMPLEMENTATION_IMPORTS = {
    "Any",
    "ArtifactCreate",
    "ArtifactFilterBody",
    "ArtifactSort",
    "ArtifactUpdate",
    "BaseModel",
    "ClassVar",
    "ConfigDict",
    "NotFound",
    "RunfolioClient",
    "StoredArtifact",
    "current_run_ids",
    "field_validator",
    "in_async_context",
    "new_id",
    "validate_key",
}


def public_names(module: ModuleType) -> set[str]:
    """The names without a leading underscore, less imported modules and `annotations`."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and value is not annotations  # the `from __future__` feature
    }


def test_top_level_names() -> None:
    assert sorted(runfolio.__all__) == sorted(
        ["Flow", "Task", "__version__", "flow", "get_run_context", "get_run_logger", "task"]
    )
    for name in runfolio.__all__:
        assert hasattr(runfolio, name)


def test_top_level_public_names_are_exported() -> None:
    assert public_names(runfolio) | {"__version__"} == set(runfolio.__all__)


def test_artifacts_public_names_are_exported() -> None:
    names = public_names(runfolio.artifacts)
    assert ARTIFACTS_IMPLEMENTATION_IMPORTS <= names  # a stale entry is removed from the list
    assert names - ARTIFACTS_IMPLEMENTATION_IMPORTS == set(runfolio.artifacts.__all__)
    for private in ("get_client", "dual", "flow_run_context"):
        assert private not in names


def test_artifacts_names() -> None:
    functions = [
        f"{prefix}create_{kind}_artifact"
        for prefix in ("", "a")
        for kind in ("link", "markdown", "table", "progress", "image")
    ]
    classes = [
        "Artifact",
        "LinkArtifact",
        "MarkdownArtifact",
        "TableArtifact",
        "ProgressArtifact",
        "ImageArtifact",
    ]
    expected = [*functions, "update_progress_artifact", "aupdate_progress_artifact", *classes]
    assert sorted(runfolio.artifacts.__all__) == sorted(expected)
    for name in expected:
        assert hasattr(runfolio.artifacts, name)


def test_import_runfolio_does_not_load_server_or_database_stacks() -> None:
    import subprocess
    import sys

    code = (
        "import sys, runfolio; "
        "heavy = [m for m in ('sqlalchemy', 'fastapi', 'httpx', 'alembic', 'jinja2', 'pydantic') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

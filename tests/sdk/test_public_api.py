"""The exported names are exactly the documented ones, and nothing else looks public."""

from __future__ import annotations

from types import ModuleType

import runfolio
import runfolio.artifacts


def public_names(module: ModuleType) -> set[str]:
    """The names without a leading underscore, less imported modules and `annotations`.

    Read through `dir()`, which also lists the names a module loads on first use.
    """
    return {
        name
        for name in dir(module)
        if not name.startswith("_")
        and not isinstance(getattr(module, name), ModuleType)
        and getattr(module, name) is not annotations  # the `from __future__` feature
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
    # runfolio.artifacts re-exports the implementation's public names, and nothing else.
    assert public_names(runfolio.artifacts) == set(runfolio.artifacts.__all__)


def test_artifacts_names() -> None:
    functions = [
        f"{prefix}create_{kind}_artifact"
        for prefix in ("", "a")
        for kind in ("link", "markdown", "table", "progress", "image", "chart", "html", "file")
    ]
    charts = [f"{prefix}{name}" for prefix in ("", "a") for name in ("update_chart_artifact",)]
    charts += ["append_chart_values", "aappend_chart_values"]
    # Changes in place (no new version).
    updates = [
        f"{prefix}{name}"
        for prefix in ("", "a")
        for name in (
            "update_markdown_artifact",
            "update_link_artifact",
            "update_image_artifact",
            "update_table_artifact",
            "append_table_rows",
        )
    ]
    classes = [
        "Artifact",
        "StoredArtifact",
        "LinkArtifact",
        "MarkdownArtifact",
        "TableArtifact",
        "ProgressArtifact",
        "ImageArtifact",
    ]
    expected = [
        *functions,
        "update_progress_artifact",
        "aupdate_progress_artifact",
        *charts,
        *updates,
        *classes,
    ]
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

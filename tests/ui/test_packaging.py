"""Templates and static files ship in the package: the package-data globs cover them all."""

from __future__ import annotations

import tomllib
from pathlib import Path

import runfolio

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(runfolio.__file__).parent


def test_package_data_globs_cover_every_ui_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["runfolio"]
    ui = PACKAGE / "server" / "ui"
    files = [p for d in ("templates", "static") for p in (ui / d).rglob("*") if p.is_file()]
    assert any(p.name == "base.html" for p in files) and any(p.suffix == ".js" for p in files)
    shipped = {p for g in globs for p in PACKAGE.glob(g)}  # setuptools' recursive globbing
    missing = [p.relative_to(PACKAGE).as_posix() for p in files if p not in shipped]
    assert missing == []

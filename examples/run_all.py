"""Run every documentation example on the configured runfolio (embedded by default).

The REST example needs a running server, so it is left to `runfolio server start`.
The progress example sleeps 20 s like the original; pass --quick to skip it.
"""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
EXAMPLES = [
    "link_artifacts.py",
    "link_text_artifact.py",
    "markdown_artifact.py",
    "table_artifact.py",
    "image_artifact.py",
    "progress_artifact.py",
    "get_artifact.py",
]

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for name in EXAMPLES:
        if quick and name == "progress_artifact.py":
            continue
        print(f"== {name}")
        runpy.run_path(str(HERE / name), run_name="__main__")

"""runfolio: run artifacts for Python workflows.

from runfolio import flow, task
from runfolio.artifacts import create_markdown_artifact
"""

from runfolio._runlogs import get_run_logger
from runfolio._version import __version__
from runfolio.context import get_run_context
from runfolio.flows import Flow, flow
from runfolio.tasks import Task, task

__all__ = ["Flow", "Task", "__version__", "flow", "get_run_context", "get_run_logger", "task"]

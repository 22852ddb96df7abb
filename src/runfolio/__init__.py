"""runfolio: run artifacts for Python workflows."""

from runfolio._version import __version__

__all__ = ["__version__"]

"""Public names whose implementation loads on first use.

`from runfolio.artifacts import create_markdown_artifact` opens many scripts, and
the implementation behind it needs pydantic and the client (most of a script's
import time). So `runfolio.artifacts` names its contents in a table: a function is
a stand-in that imports its module at the first call; a class is imported when the
name is first read (a module `__getattr__`, PEP 562), because subclassing and
`isinstance` need the real class. Type checkers read the real imports instead
(under `TYPE_CHECKING` in the public module).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class LazyFunction:
    """Stands in for `module.name` and imports it at the first call (or attribute read)."""

    def __init__(self, home: str, name: str, public_module: str) -> None:
        self._home = home
        self._target: Any = None
        # Named after the public module, so it pickles by reference to itself.
        self.__name__ = self.__qualname__ = name
        self.__module__ = public_module

    def _load(self) -> Any:
        if self._target is None:
            self._target = getattr(importlib.import_module(self._home), self.__name__)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._load()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        # `.aio`, `__wrapped__` (so inspect.signature shows the real one), and the rest.
        if attr.startswith("_") and not attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self._load().__doc__  # type: ignore[no-any-return]

    def __reduce__(self) -> str:
        return self.__name__

    def __repr__(self) -> str:
        return f"<function {self.__module__}.{self.__name__}>"


def is_class_name(name: str) -> bool:
    """Classes are CapWords (PEP 8): those load when read, functions when called."""
    return name[:1].isupper()


def exports(
    public_module: str, homes: Mapping[str, Iterable[str]], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Fill `namespace` with stand-ins for the functions in `homes` (module -> names), and
    return the module's `__getattr__` (loads a class when first read) and `__dir__`."""
    classes: dict[str, str] = {}
    for home, names in homes.items():
        for name in names:
            if is_class_name(name):
                classes[name] = home
            else:
                namespace[name] = LazyFunction(home, name, public_module)

    def __getattr__(name: str) -> Any:
        home = classes.get(name)
        if home is None:
            raise AttributeError(f"module {public_module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value  # read once; later reads are plain lookups
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(classes))

    return __getattr__, __dir__

"""The sync/async adapter (`runfolio._dispatch`): dispatch, binding and pickling."""

from __future__ import annotations

import asyncio
import inspect
import pickle

from runfolio._dispatch import dual, dual_classmethod
from runfolio.artifacts import Artifact, create_markdown_artifact


async def _atwice(x: int) -> int:
    return 2 * x


@dual(_atwice)
def twice(x: int) -> int:
    """Double `x`."""
    return x + x


class Counter:
    def __init__(self, start: int) -> None:
        self.start = start

    async def aadd(self, n: int) -> int:
        return self.start + n

    @dual(aadd)
    def add(self, n: int) -> int:
        return self.start + n

    @classmethod
    async def aname(cls, suffix: str) -> str:
        return cls.__name__ + suffix

    @dual_classmethod(aname)
    @classmethod
    def name(cls, suffix: str) -> str:
        return cls.__name__ + suffix


class SubCounter(Counter):
    pass


def test_sync_callers_get_the_result() -> None:
    assert twice(3) == 6
    assert Counter(1).add(2) == 3
    assert SubCounter.name("!") == "SubCounter!"
    assert SubCounter(0).name("?") == "SubCounter?"


def test_async_callers_get_a_coroutine_of_it() -> None:
    async def main() -> list[object]:
        pending: list[object] = [twice(3), Counter(1).add(2), SubCounter.name("!")]
        assert all(inspect.iscoroutine(p) for p in pending)
        return list(await asyncio.gather(*(p for p in pending if inspect.isawaitable(p))))

    assert asyncio.run(main()) == [6, 3, "SubCounter!"]


def test_aio_is_the_async_twin_bound_like_the_name() -> None:
    assert asyncio.run(twice.aio(3)) == 6
    assert asyncio.run(Counter(1).add.aio(2)) == 3
    assert asyncio.run(SubCounter.name.aio("!")) == "SubCounter!"


def test_the_sync_signature_and_docs_show_through() -> None:
    assert str(inspect.signature(twice)) == "(x: 'int') -> 'int'"
    assert twice.__doc__ == "Double `x`."
    assert str(inspect.signature(Counter(0).add)) == "(n: 'int') -> 'int'"
    assert str(inspect.signature(Counter.name)) == "(suffix: 'str') -> 'str'"


def test_names_pickle_by_reference() -> None:
    assert pickle.loads(pickle.dumps(create_markdown_artifact)) is create_markdown_artifact
    assert pickle.loads(pickle.dumps(Artifact.get)).__qualname__ == "Artifact.get"
    bound = pickle.loads(pickle.dumps(Artifact(data=1).create))
    assert bound.__qualname__ == "Artifact.create"

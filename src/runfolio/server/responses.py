"""Responses serialised straight from pydantic models (no second validation pass)."""

from __future__ import annotations

from types import GenericAlias
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

if TYPE_CHECKING:  # for the checker only: older typing_extensions (as pydantic allows) lack it
    from typing_extensions import TypeForm

M = TypeVar("M", bound=BaseModel)

_list_adapters: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def list_response(items: list[M], item_type: type[M]) -> Response:
    adapter = _list_adapters.get(item_type)
    if adapter is None:
        # `list[item_type]`, built at run time: a type checker cannot read it as the type it is.
        items_type = cast("TypeForm[list[M]]", GenericAlias(list, (item_type,)))
        adapter = _list_adapters[item_type] = TypeAdapter(items_type)
    return Response(adapter.dump_json(items), media_type="application/json")


def empty(status_code: int = 204) -> Response:
    return Response(status_code=status_code)

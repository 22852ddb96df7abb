"""Responses serialised straight from pydantic models (no second validation pass)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

_list_adapters: dict[type, TypeAdapter[Any]] = {}


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def list_response(items: list[Any], item_type: type) -> Response:
    adapter = _list_adapters.get(item_type)
    if adapter is None:
        adapter = _list_adapters[item_type] = TypeAdapter(list[item_type])  # type: ignore[valid-type]
    return Response(adapter.dump_json(items), media_type="application/json")


def empty(status_code: int = 204) -> Response:
    return Response(status_code=status_code)

"""JSON answers that pydantic's JSON writer cannot refuse for their depth.

pydantic stops 254 levels down, counting its own wrappers ("Maximum serialization depth
exceeded"); a tool output may nest 254 levels below them (the step record, the run, an
event's payload), and older Baton may have stored deeper ones. Such a record is written
again by ``json.dumps`` from plain data, as the CLI and the ledger export write theirs; the
others keep pydantic's faster writing. Routes keep their ``response_model`` (the OpenAPI
document) and return :func:`json_response`.

Either way the JSON is the same: fields by alias in order, computed fields after, enums as
their values, times in ISO 8601 (``Z`` for UTC), a NaN or infinite float as null, other
characters than ASCII as they are, no spaces (only a float's spelling may differ: ``1e16``,
``1e+16``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

_AS_IS = (str, int, bool, type(None))  # exact types: json.dumps writes them as pydantic does


def json_bytes(value: Any) -> bytes:
    """``value`` (a model, a list of them, plain data) as compact UTF-8 JSON."""
    try:
        return to_json(value, by_alias=True)
    except PydanticSerializationError:
        # Too deep for pydantic; anything else it cannot write, json.dumps refuses as well.
        return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode("utf-8")


def json_response(value: Any, *, status_code: int = 200) -> Response:
    """An ``application/json`` response of ``value`` (see :func:`json_bytes`).

    A route returning it gives its own status: FastAPI applies the decorator's only to
    values it serializes itself.
    """
    return Response(json_bytes(value), status_code=status_code, media_type="application/json")


def plain(value: Any) -> Any:
    """``value`` (a model, a list of them, plain data) as the data pydantic's JSON mode makes of
    it, at any depth.

    Iterative: a stored output may nest deeper than Python's recursion limit lets a walk go.
    """
    root = [value]
    todo: list[tuple[list[Any] | dict[Any, Any], Any]] = [(root, 0)]
    while todo:
        holder, key = todo.pop()
        item = holder[key]
        if isinstance(item, BaseModel):
            # Python mode has no depth limit; its leaves (times, enums) are converted below.
            item = item.model_dump(by_alias=True)
        if isinstance(item, dict):
            copy: dict[Any, Any] | list[Any] = {_leaf(k): v for k, v in item.items()}
        elif isinstance(item, list | tuple | set | frozenset):
            copy = list(item)
        else:
            holder[key] = _leaf(item)
            continue
        holder[key] = copy
        keys = copy.keys() if isinstance(copy, dict) else range(len(copy))
        todo.extend((copy, k) for k in keys if type(copy[k]) not in _AS_IS)
    return root[0]


def _leaf(value: Any) -> Any:
    """A value that holds no other as pydantic's JSON mode writes it."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON has no NaN: pydantic writes null
    return to_jsonable_python(value)


__all__ = ["json_bytes", "json_response", "plain"]

"""Models and data as the plain data pydantic's JSON mode makes of them, at any depth.

pydantic stops 254 levels down, counting its own wrappers ("Maximum serialization depth
exceeded"); a tool output may nest 254 levels below them (the step record, the run, an
event's payload), and older Baton may have stored deeper ones. The API (``baton.api.plain_json``)
and the CLI's ``--json`` write such records from this plain data with ``json.dumps``. No
FastAPI here: the CLI imports it.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

_AS_IS = (str, int, bool, type(None))  # exact types: json.dumps writes them as pydantic does


def jsonable(model: BaseModel) -> Any:
    """``model.model_dump(mode="json")``, or, for a record too deep for pydantic, the same data
    by :func:`plain`."""
    try:
        return model.model_dump(mode="json")
    except (PydanticSerializationError, ValueError):  # "Maximum serialization depth exceeded"
        return plain(model)


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

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
from typing import Any

from fastapi.responses import Response
from pydantic_core import PydanticSerializationError, to_json

from baton.plain_data import plain


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


__all__ = ["json_bytes", "json_response", "plain"]

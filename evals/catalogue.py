"""Benchmark tool specs (JSON-Schema-ish parameters) as a ``ToolRegistry`` plans can be checked against.

Benchmark names (``getWeatherForecast``) do not follow Baton's naming rule,
so specs are built directly and added with ``ToolRegistry.add``; the tools
are never called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from tools import BatonError, ToolRegistry, ToolSpec

_SCALARS: dict[str, Any] = {
    "str": str, "string": str, "int": int, "integer": int, "float": float, "number": float,
    "bool": bool, "boolean": bool,
}


def annotation(spec: Any) -> Any:
    """The Python type of one JSON-Schema-ish parameter (unknown types accept anything)."""
    kind = str(spec.get("type", "any")).lower() if isinstance(spec, Mapping) else "any"
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind in ("array", "list", "tuple"):
        return list[annotation(spec.get("items") or {})]  # type: ignore[misc]
    if kind in ("dict", "object"):
        return dict[str, Any]
    return Any


def _model(name: str, params: Mapping[str, Any], required: set[str], forbid: bool) -> type:
    fields: dict[str, Any] = {}
    for index, (arg, spec) in enumerate(params.items()):
        description = spec.get("description") if isinstance(spec, Mapping) else None
        default = ... if arg in required else None
        # Field names must be identifiers; the benchmark's own name travels as the alias.
        fields[f"f{index}"] = (annotation(spec), Field(default, alias=arg, description=description))
    config = ConfigDict(extra="forbid" if forbid else "allow", frozen=True, populate_by_name=True)
    return create_model(name, __config__=config, **fields)


def _not_callable(**_: Any) -> dict[str, Any]:
    raise BatonError("benchmark tools are never called", code="eval_tool")


class _AnyOutput(BaseModel):
    model_config = ConfigDict(frozen=True)

    result: Any = Field(default=None, description="The tool's result (undeclared by the benchmark).")


def tool_spec(
    name: str, description: str, params: Mapping[str, Any], required: list[str],
    outputs: Mapping[str, Any] | None = None,
) -> ToolSpec:
    """A spec whose input (and, when declared, output) schema mirrors the benchmark's."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in name)
    input_model = _model(f"{safe}_Input", params, set(required), forbid=True)
    output_model = (_model(f"{safe}_Output", outputs, set(outputs), forbid=False)
                    if outputs else _AnyOutput)
    return ToolSpec(name=name, description=description or name, fn=_not_callable,
                    input_model=input_model, output_model=output_model)


def registry_of(specs: list[ToolSpec]) -> ToolRegistry:
    """A registry holding ``specs``."""
    registry = ToolRegistry()
    for spec in specs:
        registry.add(spec)
    return registry

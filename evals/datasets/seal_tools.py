"""Seal-Tools: 4,076 tools, 700 goals; ``API_call_k`` values become references between steps.

A gold call's ``responses`` list names its outputs in the order of the tool's
declared response fields, numbered across the whole record: the first call of
a tool with fields (species) answers ``API_call_0``, so a later parameter
value ``"API_call_0"`` becomes ``{"ref": "call_0.species"}``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from planner.plan import Plan
from tools import ToolRegistry

from ..catalogue import registry_of, tool_spec
from ..data import (EvalDataError, built_case, data_file, field_problem, json_type,
                    read_json_lines)
from .base import EvalCase, GoldArg, GoldCall

_PLACEHOLDER = re.compile(r"^API_call_\d+$")


@cache
def tool_records() -> tuple[dict[str, Any], ...]:
    """The raw tool catalogue."""
    names: set[str] = set()

    def problem(tool: dict[str, Any]) -> str | None:
        found = _tool_problem(tool)
        if not found and tool["api_name"] in names:  # the registry would refuse the second
            found = f"api_name {tool['api_name']!r} given twice"
        names.add(tool["api_name"])
        return found

    return tuple(read_json_lines(data_file("seal-tools", "tool.jsonl"), {"api_name": str},
                                 problem))


_TOOL_FIELDS = {"api_description": str, "parameters": dict, "required": list, "responses": dict}
_CALL_FIELDS = {"parameters": dict, "responses": list}


def _tool_problem(tool: dict[str, Any]) -> str | None:
    # The optional fields may be left out or null, but not be of another type.
    given = {k: kind for k, kind in _TOOL_FIELDS.items() if tool.get(k) is not None}
    return field_problem(tool, given)


def _goal_problem(record: dict[str, Any]) -> str | None:
    if not record["query"].strip():
        return "'query' is empty"
    for index, call in enumerate(record["calling"]):
        given = {"api": str, **{k: kind for k, kind in _CALL_FIELDS.items()
                                if isinstance(call, dict) and call.get(k) is not None}}
        problem = field_problem(call, given) or _responses_problem(call.get("responses") or [])
        if problem:
            return f"calling[{index}]: {problem}"
    return None


def _responses_problem(responses: list[Any]) -> str | None:
    """A call's responses name its outputs (``API_call_0``): each must be a string."""
    stray = next((i for i, name in enumerate(responses) if not isinstance(name, str)), None)
    if stray is None:
        return None
    return f"responses[{stray}] is {json_type(responses[stray])}, expected a string"


@cache
def catalogue() -> ToolRegistry:
    """The full catalogue as a registry (built once: about 3 s)."""
    return registry_of([
        tool_spec(t["api_name"], t.get("api_description", ""), t.get("parameters") or {},
                  list(t.get("required") or []), t.get("responses") or None)
        for t in tool_records()
    ])


def records(limit: int | None = None) -> list[dict[str, Any]]:
    """The raw goals with their gold calls."""
    return read_json_lines(data_file("seal-tools", "test_in_domain.jsonl"),
                           {"id": str, "query": str, "calling": list}, _goal_problem, limit)


def goals_with_gold_calls(limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Of the first ``limit`` goals, those naming a gold call, and how many do not (recall has
    nothing to measure there); none at all is bad data."""
    every = records(limit)
    goals = [r for r in every if r["calling"]]
    if not goals:
        raise EvalDataError(f"{data_file('seal-tools', 'test_in_domain.jsonl')}: no goal has a "
                            "gold call to look for")
    return goals, len(every) - len(goals)


@cache
def _by_name() -> dict[str, dict[str, Any]]:
    return {t["api_name"]: t for t in tool_records()}


_NUMERIC = {"int": int, "float": float}


def coerce(value: Any, declared: Any) -> Any:
    """Seal-Tools writes numbers as strings ("40.7"); give them their declared type back."""
    kind = declared.get("type") if isinstance(declared, dict) else None
    if not isinstance(value, str):
        return value
    if kind in _NUMERIC:
        try:
            return _NUMERIC[kind](value)
        except ValueError:
            return value
    if kind == "bool" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def gold_plan(record: dict[str, Any]) -> Plan:
    """The record's calls as a plan: step ``call_i``, placeholders turned into references."""
    tools = _by_name()
    where: dict[str, str] = {}
    steps = []
    for index, call in enumerate(record["calling"]):
        names = list((tools.get(call["api"], {}).get("responses") or {}).keys())
        for position, placeholder in enumerate(call.get("responses") or []):
            if position < len(names):
                where[placeholder] = f"call_{index}.{names[position]}"
        declared = tools.get(call["api"], {}).get("parameters") or {}
        args = {k: _resolve(coerce(v, declared.get(k)), where)
                for k, v in (call.get("parameters") or {}).items()}
        steps.append({"id": f"call_{index}", "tool": call["api"], "args": args})
    return Plan.model_validate({"goal": record["query"], "steps": steps})


def _resolve(value: Any, where: dict[str, str]) -> Any:
    if isinstance(value, str) and _PLACEHOLDER.match(value) and value in where:
        return {"ref": where[value]}
    return value


def case(record: dict[str, Any]) -> EvalCase:
    """One record as an evaluation case over the full catalogue."""
    plan = gold_plan(record)
    calls = tuple(
        GoldCall(tool=s.tool, args=tuple(GoldArg(name=k, acceptable=(v,)) for k, v in s.args.items()))
        for s in plan.steps
    )
    return EvalCase(id=record["id"], goal=record["query"], registry=catalogue(),
                    gold_calls=calls, gold_plan=plan)


def load_cases(limit: int | None = None) -> list[EvalCase]:
    """The first ``limit`` records as cases."""
    where = data_file("seal-tools", "test_in_domain.jsonl")
    return [built_case(lambda r=r: case(r), where, r["id"]) for r in records(limit)]

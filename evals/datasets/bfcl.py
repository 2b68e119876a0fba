"""BFCL v4 parallel-multiple: independent calls (a good plan has no edges), AST-style argument match.

Each answer lists acceptable values per argument; ``""`` among them means the
argument may be left out. A dict among them lists acceptable values per key
in the same way (``{"min": [500000]}`` stands for ``{"min": 500000}``), at any
depth. The gold plan uses the first acceptable value that is not ``""`` and
leaves out arguments (and keys) with none, and optional ones whose first is null
(the schema's default: ``["", null]``).
"""

from __future__ import annotations

from typing import Any

from planner.plan import Plan

from ..catalogue import registry_of, tool_spec
from ..data import (EvalDataError, built_case, data_dir, data_file, field_problem, json_type,
                    read_json_lines)
from .base import EvalCase, GoldArg, GoldCall, GoldDict, gold_args

FILES = ("BFCL_v4_parallel_multiple.json", "BFCL_v4_live_parallel_multiple.json")


def records(limit: int | None = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(question record, answer record) pairs, in file order."""
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for name in FILES:
        answer_lines = read_json_lines(data_file("bfcl", f"answer_{name}"),
                                       {"id": str, "ground_truth": list}, _answer_problem)
        answers = {a["id"]: a for a in answer_lines}
        questions = read_json_lines(data_file("bfcl", name),
                                    {"id": str, "question": list, "function": list},
                                    _question_problem)
        unanswered = [q["id"] for q in questions if q["id"] not in answers]
        if unanswered:  # dropped, the figures would be of another dataset than the one named
            raise EvalDataError(
                f"{data_file('bfcl', f'answer_{name}')}: no answer for {len(unanswered)} "
                f"question(s) of {name}, first {unanswered[0]!r}")
        pairs.extend((q, answers[q["id"]]) for q in questions)
    return pairs[:limit] if limit is not None else pairs


def _question_problem(record: dict[str, Any]) -> str | None:
    turns = _turns(record["question"])
    stray = next((m for m in turns if not isinstance(m, dict)), None)
    if stray is not None:
        return f"question: expected messages as JSON objects, found {json_type(stray)}"
    if not _goal(record["question"]).strip():
        return "question: no user message with text"
    seen: set[str] = set()
    for index, function in enumerate(record["function"]):
        problem = field_problem(function, {"name": str}) or _parameters_problem(function)
        if not problem and function["name"] in seen:
            problem = f"name {function['name']!r} given twice"
        if problem:
            return f"function[{index}]: {problem}"
        seen.add(function["name"])
    return None


def _parameters_problem(function: dict[str, Any]) -> str | None:
    """A function's ``parameters`` may be left out, else an object whose ``properties`` (an
    object) and ``required`` (an array) may be left out or null."""
    parameters = function.get("parameters")
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        return f"'parameters' is {json_type(parameters)}, expected an object"
    given = {k: kind for k, kind in (("properties", dict), ("required", list))
             if parameters.get(k) is not None}
    problem = field_problem(parameters, given)
    return f"parameters: {problem}" if problem else None


def _answer_problem(record: dict[str, Any]) -> str | None:
    for index, entry in enumerate(record["ground_truth"]):
        problem = _call_problem(entry)
        if problem:
            return f"ground_truth[{index}]: {problem}"
    return None


def _call_problem(entry: Any) -> str | None:
    """One gold call must be {tool: {argument: [acceptable values]}}."""
    if not isinstance(entry, dict):
        return f"expected a JSON object, found {json_type(entry)}"
    if len(entry) != 1:
        return f"expected one tool name, found {len(entry)}"
    ((tool, args),) = entry.items()
    if not isinstance(args, dict):
        return f"the arguments of {tool} are {json_type(args)}, expected an object"
    for name, values in args.items():
        if not isinstance(values, list):
            return (f"argument {name!r} of {tool} is {json_type(values)}, expected an array of "
                    "acceptable values")
    return None


def _turns(question: list[Any]) -> list[Any]:
    """The messages of a question's first turn (BFCL nests turns; older files do not)."""
    return question[0] if question and isinstance(question[0], list) else question


def _goal(question: Any) -> str:
    return "\n".join(str(m.get("content") or "") for m in _turns(question)
                     if m.get("role") == "user")


def _gold_arg(name: str, values: list[Any]) -> GoldArg:
    return GoldArg(name=name, acceptable=tuple(_acceptable(v) for v in values if v != ""),
                   optional="" in values)


def _acceptable(value: Any) -> Any:
    """A ground-truth value, its dicts (acceptable values per key) as ``GoldDict``."""
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        return GoldDict(fields=tuple(_gold_arg(k, v) for k, v in value.items()))
    if isinstance(value, list):
        return [_acceptable(item) for item in value]
    return value


def _gold_calls(answer: dict[str, Any]) -> tuple[GoldCall, ...]:
    calls = []
    for entry in answer["ground_truth"]:
        ((tool, args),) = entry.items()
        calls.append(GoldCall(tool=tool, args=tuple(_gold_arg(k, v) for k, v in args.items())))
    return tuple(calls)


def case(question: dict[str, Any], answer: dict[str, Any]) -> EvalCase:
    """One record as a case whose catalogue is the record's own functions."""
    specs = [
        tool_spec(f["name"], f.get("description", ""), (f.get("parameters") or {}).get("properties")
                  or {}, list((f.get("parameters") or {}).get("required") or []))
        for f in question["function"]
    ]
    calls = _gold_calls(answer)
    steps = [{"id": f"call_{i}", "tool": c.tool, "args": gold_args(c.args)}
             for i, c in enumerate(calls)]
    goal = _goal(question["question"])
    return EvalCase(id=question["id"], goal=goal, registry=registry_of(specs), gold_calls=calls,
                    gold_plan=Plan.model_validate({"goal": goal, "steps": steps}))


def load_cases(limit: int | None = None) -> list[EvalCase]:
    """The first ``limit`` records as cases."""
    where = data_dir() / "bfcl"
    return [built_case(lambda q=q, a=a: case(q, a), where, q["id"]) for q, a in records(limit)]

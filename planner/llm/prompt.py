"""What the model is told and how its reply becomes a candidate plan document.

The reply shape in every response format is ``{"steps": [{"id", "tool",
"args_json", "depends_on", "why", "retry", "timeout_s"}]}`` (the last two null unless
the step overrides its tool's retry policy or time limit: a revision shows the earlier
plan's overrides, and the model keeps them); ``args`` as a plain object is accepted
too (models in json_object/text mode often write it that way). A step that gives
both is read from ``args_json`` when the two agree, from ``args`` when ``args_json``
is empty, and sent back to the model when they differ: neither is dropped unseen. A key
written twice in one object, in the reply or in ``args_json``, is sent back too, as a plan
file is refused for it. The goal is never taken from the model: the planner puts the
analyst's goal back in.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from planner.arg_checks import shorten
from planner.loading import DuplicateKeyError, no_duplicate_keys
from planner.plan import Plan, canonical_json
from planner.problems import Problem, ProblemCode, too_many_steps
from tools import RetryPolicy, ToolInfo

# No "\s*" before the block's text (it is stripped after): with no closing fence, each blank
# skipped would be tried again as the text's start, a scan to the end per blank.
_FENCE = re.compile(r"```(?:json|JSON)?(.*?)```", re.DOTALL)
_TOO_DEEP = "is nested too deeply to be a plan; flatten the arguments"

_CONTRACT = """\
You are Baton's planner. Turn the analyst's goal into a plan: a list of tool calls that
together achieve the goal, using ONLY the tools listed below.

Reply format (JSON only, no prose, no code fences):
{"steps": [{"id": "load", "tool": "<tool name>", "args_json": "{\\"path\\": \\"sales.csv\\"}",
            "depends_on": [], "why": "one line for the approver", "retry": null,
            "timeout_s": null}]}

Rules:
- id: lower-case letters, digits and '_', starting with a letter, unique in the plan.
- tool: exactly one of the listed tool names.
- args_json: the tool's arguments as a JSON object encoded in a string (if you cannot
  produce a string, an "args" object is accepted instead). Arguments must follow the
  tool's input schema: required arguments present, no unknown ones.
- To pass an earlier step's output into an argument, use the value {"ref": "<step_id>.<field>"}
  where <field> is one of that tool's OUTPUT fields (nested: "<step_id>.<field>.<sub>";
  list items: "<step_id>.<field>.0"). A reference makes the step wait for the other one.
- depends_on: ids of steps that must finish first although no data flows; usually [].
- retry, timeout_s: null, unless asked for: a retry policy or a time limit in seconds of
  the step's own, in place of its tool's. A plan you revise keeps those it has.
- The steps must form a DAG: no cycles, no step depending on itself, no unknown ids.
- Never put secrets, passwords, tokens or API keys in arguments: tools that need secrets
  receive them by name at run time.
- Keep the plan minimal: no steps the goal does not need, no invented dependencies.
"""


# Masks configured secret values in a structured value (strings, dict keys, numbers). It is
# applied to the data a message is built from BEFORE any JSON encoding: a value encoded twice
# (an earlier plan's args_json inside the reply shape) escapes a `"` or `\` twice, which no
# masking of the finished text recognises.
Hide = Callable[[Any], Any]


def _shown(value: Any) -> Any:
    return value


def _tool_block(tool: ToolInfo, hide: Hide = _shown) -> str:
    description, schema, outputs = hide(
        [tool.description.strip(), _trim_schema(tool.input_schema),
         tool.output_schema.get("properties") or {}])
    output_lines = ", ".join(
        f"{name} ({spec.get('type', 'any')})" if isinstance(spec, dict) else name
        for name, spec in outputs.items()
    ) or "(no declared fields)"
    lines = [
        f"## {tool.name}",
        description,
        f"effect: {tool.effect.value}",
        f"input schema: {canonical_json(schema)}",
        f"output fields: {output_lines}",
    ]
    if tool.secrets:
        lines.append(f"secrets injected at run time (never pass them): {', '.join(tool.secrets)}")
    return "\n".join(lines)


# Keywords whose value maps names (arguments, definitions) to schemas: a key there is a
# name, never a keyword, so an argument called "title" stays.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions",
                            "dependentSchemas"})
# Keywords whose value is data, not a schema: left exactly as the tool declared it.
_DATA_KEYWORDS = frozenset({"default", "const", "enum", "examples", "example"})


def _trim_schema(schema: Any) -> Any:
    """``schema`` without its ``title`` keywords: they repeat the field names and cost tokens."""
    if isinstance(schema, list):
        return [_trim_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    trimmed: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            trimmed[key] = {name: _trim_schema(sub) for name, sub in value.items()}
        elif key in _DATA_KEYWORDS:
            trimmed[key] = value
        else:
            trimmed[key] = _trim_schema(value)
    return trimmed


def tools_section(tools: Sequence[ToolInfo], hide: Hide = _shown) -> str:
    """The tool catalogue as the model reads it: description, input schema, output fields."""
    return "# Tools\n\n" + "\n\n".join(_tool_block(t, hide) for t in tools)


def system_prompt(tools: Sequence[ToolInfo], hide: Hide = _shown) -> str:
    """The plan contract, the rules and the offered tools."""
    return f"{_CONTRACT}\n{tools_section(tools, hide)}\n"


def goal_message(goal: str, hide: Hide = _shown) -> str:
    """The user message that asks for a plan."""
    return f"Goal: {hide(goal)}\n\nReply with the plan as JSON only."


def revise_message(goal: str, previous: Plan, feedback: str, rejection: str | None = None,
                   hide: Hide = _shown) -> str:
    """The user message that asks for a revision of ``previous`` (rejected for ``rejection``)."""
    goal, feedback, rejection = hide([goal, feedback, rejection])
    rejected = "" if rejection is None else f"The approver rejected it: {rejection}\n\n"
    return (
        f"Goal: {goal}\n\nA previous plan for this goal:\n{_reply_shape(previous, hide)}\n\n"
        f"Feedback on it:\n{feedback}\n\n{rejected}"
        "Write a new complete plan that addresses the feedback. Reply with JSON only."
    )


# Problems listed in a repair message or an error: a reply far off the mark can have
# thousands, and the model (or the analyst) fixes the first ones first anyway.
MAX_PROBLEMS_LISTED = 20


def listed_problems(problems: Sequence[Problem], line: Callable[[Problem], str]) -> list[str]:
    """``line`` of each of the first ``MAX_PROBLEMS_LISTED`` problems, then how many more."""
    lines = [line(p) for p in problems[:MAX_PROBLEMS_LISTED]]
    more = len(problems) - MAX_PROBLEMS_LISTED
    if more > 0:
        lines.append(f"... and {more} more problem(s), not listed")
    return lines


def _reply_shape(plan: Plan, hide: Hide = _shown) -> str:
    """``plan`` as a reply writes it: a revision's model reads it and writes it back, its
    overrides (retry, timeout_s) included, or it would drop them unseen."""
    steps = [
        {"id": hide(s.id), "tool": hide(s.tool), "args_json": canonical_json(hide(s.args)),
         "depends_on": hide(list(s.depends_on)), "why": hide(s.why or ""),
         "retry": None if s.retry is None else hide(s.retry.model_dump(mode="json")),
         "timeout_s": hide(s.timeout_s)}
        for s in plan.steps
    ]
    return json.dumps({"steps": steps}, ensure_ascii=False)


def _retry_schema() -> dict[str, Any]:
    """A ``RetryPolicy`` in strict mode: every field required, each as the policy types it."""
    kinds = {int: "integer", float: "number"}
    fields = RetryPolicy.model_fields
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(fields),
        "properties": {name: {"type": kinds[info.annotation], "description": info.description}
                       for name, info in fields.items()},
    }


_RETRY_SCHEMA = _retry_schema()


def reply_schema(tool_names: Sequence[str]) -> dict[str, Any]:
    """The strict JSON Schema of a reply, for ``response_format`` ``json_schema``.

    Strict mode requires ``additionalProperties: false`` and every property
    required on every object, so a free-form ``args`` object (whose values may
    also be references anywhere inside) cannot be described; a per-tool
    ``anyOf`` would have to make optional arguments nullable (changing their
    meaning) and double every property to allow references. Arguments are
    therefore a JSON *string*, decoded and validated by Baton afterwards; the
    tool name is still constrained to the offered tools by an enum. ``retry`` and
    ``timeout_s`` are nullable (strict mode's optional): their bounds are checked by the
    plan contract, as a plan file's are, and a value out of them goes back to the model.
    """
    step = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "tool", "args_json", "depends_on", "why", "retry", "timeout_s"],
        "properties": {
            "id": {"type": "string", "description": "Unique step id: lower-case, digits, '_'."},
            "tool": {"type": "string", "enum": sorted(tool_names)},
            "args_json": {"type": "string",
                          "description": "The tool's arguments as a JSON object in a string."},
            "depends_on": {"type": "array", "items": {"type": "string"}},
            "why": {"type": "string", "description": "One-line rationale for the approver."},
            "retry": {"anyOf": [_RETRY_SCHEMA, {"type": "null"}],
                      "description": "Null, or a retry policy of the step's own."},
            "timeout_s": {"type": ["number", "null"],
                          "description": "Null, or the step's own time limit in seconds."},
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["steps"],
        "properties": {"steps": {"type": "array", "items": step}},
    }


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, else the first plan-shaped object in it.

    Without structured output a model may wrap the plan in prose that holds braces of its
    own, or think aloud first (``<think>{...}</think>``): the plan is the first object with
    ``steps`` decoded from a fenced block or from any ``{``. A reply with no such object
    gives the first JSON value found, for the caller to report its shape.

    An object that writes a key twice, found before any plan, raises ``DuplicateKeyError``
    (a ``ValueError``), as a plan file does: which value was meant is not known, and the
    object may be the plan itself.
    """
    text = text.strip()
    too_deep = False
    found: list[Any] = []
    for value, whole in _json_values(text):
        if isinstance(value, DuplicateKeyError):
            raise DuplicateKeyError(str(value))
        if value is _TOO_DEEP_VALUE:
            too_deep = True
        elif whole or _is_plan_shaped(value):
            return value
        else:
            found.append(value)
    if too_deep:
        raise ValueError(f"the reply {_TOO_DEEP}")
    if found:
        return found[0]
    raise ValueError("the reply contains no JSON object")


_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_TOO_DEEP_VALUE = object()  # json's decoder recurses once per level of nesting
# A decode from a "{" may scan to the end of the reply: bounded, so that a reply of
# many unclosed braces costs no more than this many scans.
_MAX_OBJECT_STARTS = 200
# And what the decodes that fail read, together: at most this many times the reply (or
# the floor, for a short one). A decode from an object left open reads to the end of the
# reply before it fails: 200 of them in a 3.2 MB reply read 640 MB (28 s).
_FAILED_READS_PER_CHARACTER = 4
_FAILED_READS_FLOOR = 1 << 16
# Fenced blocks decoded, outside thinking: a plan is in one of the first few, and a reply
# of thousands of fenced values would otherwise cost a decode (and a value kept) for each.
_MAX_FENCED_BLOCKS = 200


def _json_values(text: str) -> Iterator[tuple[Any, bool]]:
    """(value, whether it is the whole text): the whole text when it is JSON; else each
    value decoded from a fenced block, then each object decoded from a ``{`` outside those
    already decoded. ``_TOO_DEEP_VALUE`` stands for one nested too deeply to decode, a
    ``DuplicateKeyError`` for one that writes a key twice in an object."""
    whole = _loaded(text)
    if whole is not _NOT_JSON:
        yield whole, whole is not _TOO_DEEP_VALUE
        if whole is not _TOO_DEEP_VALUE:
            return
    thinking = _Spans(_thinking_spans(text))
    decoded = 0
    for block in _FENCE.finditer(text):
        if thinking.end_of(block.start()):
            continue  # a draft the model thought aloud, not its answer
        decoded += 1
        if decoded > _MAX_FENCED_BLOCKS:
            break
        value = _loaded(block.group(1).strip())
        if value is not _NOT_JSON:
            yield value, False
    yield from _objects(text, thinking)


def _objects(text: str, thinking: _Spans) -> Iterator[tuple[Any, bool]]:
    """Each object decoded from a ``{`` outside thinking and outside those already decoded,
    until the decodes that failed have read their share of the text."""
    decode = json.JSONDecoder(object_pairs_hook=no_duplicate_keys).raw_decode
    left = max(_FAILED_READS_PER_CHARACTER * len(text), _FAILED_READS_FLOOR)
    position = text.find("{")
    for _ in range(_MAX_OBJECT_STARTS):
        if position < 0 or left <= 0:
            return
        if skipped := thinking.end_of(position):  # a draft the model thought aloud
            position = text.find("{", skipped)
            continue
        end = position + 1
        try:
            value, end = decode(text, position)
        except DuplicateKeyError as exc:
            value = exc
            try:  # where it ends: the objects inside it are part of it, not values of their own
                end = _PLAIN_DECODER.raw_decode(text, position)[1]
            except (ValueError, RecursionError):  # not JSON further on: as if read to the end
                left -= len(text) - position
        except ValueError as exc:  # a number too long to convert stops with no position
            value = _NOT_JSON
            left -= (exc.pos if isinstance(exc, json.JSONDecodeError) else len(text)) - position
        except RecursionError:  # where it stopped is not known either: as if at the end
            value, left = _TOO_DEEP_VALUE, left - (len(text) - position)
        if value is not _NOT_JSON:
            yield value, False
        position = text.find("{", end)


_NOT_JSON = object()
_PLAIN_DECODER = json.JSONDecoder()


def _thinking_spans(text: str) -> list[tuple[int, int]]:
    """Where the model thinks aloud (``<think>…</think>``): (start, end) of each closed
    block, in one pass (a tag left open hides nothing: the first search for its close that
    fails ends the scan). Nothing is cut out of the text, so a plan's own argument that
    mentions such tags is left as the model wrote it."""
    spans: list[tuple[int, int]] = []
    position = 0
    while (opened := _THINK_OPEN.search(text, position)) is not None:
        closed = _THINK_CLOSE.search(text, opened.end())
        if closed is None:
            break
        spans.append((opened.start(), closed.end()))
        position = closed.end()
    return spans


class _Spans:
    """Disjoint (start, end) spans in text order, looked up by position in logarithmic time:
    a reply of thousands of thinking blocks and fenced values must not cost their product."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self._starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]

    def end_of(self, position: int) -> int:
        """The end of the span holding ``position``, or 0 when none does."""
        index = bisect.bisect_right(self._starts, position) - 1
        return self._ends[index] if index >= 0 and position < self._ends[index] else 0


def _loaded(text: str) -> Any:
    """``text`` decoded as JSON; ``_NOT_JSON`` or ``_TOO_DEEP_VALUE`` when it cannot be, the
    ``DuplicateKeyError`` when an object in it writes a key twice."""
    try:
        return json.loads(text, object_pairs_hook=no_duplicate_keys)
    except DuplicateKeyError as exc:
        return exc
    except ValueError:
        return _NOT_JSON
    except RecursionError:
        return _TOO_DEEP_VALUE


def _is_plan_shaped(value: Any) -> bool:
    if isinstance(value, dict) and isinstance(value.get("plan"), dict):
        value = value["plan"]
    return isinstance(value, dict) and isinstance(value.get("steps"), list)


def _malformed(message: str, step: str | None = None, path: str = "$") -> Problem:
    return Problem(code=ProblemCode.MALFORMED_DOCUMENT, step=step, path=path, message=message)


class Candidate(NamedTuple):
    """What one reply gives: the plan document to validate, or the problems that prevent one."""

    document: dict[str, Any] | None
    problems: list[Problem]
    # The steps as the model wrote them, for a repair to quote; empty when none were read.
    steps: list[Any]


def candidate_document(goal: str, reply: str | None, *, max_steps: int,
                       hide: Hide = _shown) -> Candidate:
    """Turn a reply into a plan document ``{goal, steps}``, or the problems that prevent it.

    A reply of more than ``max_steps`` steps is refused before any step is read: it cannot
    become a plan, and reading it would cost a decode (and a problem) per step. A problem
    quoting part of the reply has it masked by ``hide`` before it is cut.
    """
    if not reply or not reply.strip():
        return Candidate(None, [_malformed("the reply is empty; reply with the plan as a JSON "
                                           "object")], [])
    try:
        data = extract_json(reply)
    except DuplicateKeyError as exc:  # worded as a plan file's is
        return Candidate(None, [_malformed(f"the reply is invalid JSON: {exc}")], [])
    except ValueError as exc:
        return Candidate(None, [_malformed(f"{exc}; reply with JSON only")], [])
    if isinstance(data, dict) and isinstance(data.get("plan"), dict):
        data = data["plan"]  # some models wrap the plan once
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return Candidate(None, [_malformed('the reply must be an object with a "steps" list')], [])
    written = data["steps"]
    if len(written) > max_steps:
        return Candidate(None, [too_many_steps(len(written), max_steps)], [])
    problems: list[Problem] = []
    steps = [_wire_step(raw, i, problems, hide) for i, raw in enumerate(written)]
    if problems:
        return Candidate(None, problems, written)
    return Candidate({"goal": goal, "steps": steps}, [], written)


def _empty(encoded: Any) -> bool:
    """An ``args_json`` that says nothing: null or blank text (no arguments)."""
    return encoded is None or (isinstance(encoded, str) and not encoded.strip())


# The most of an args_json that is no object quoted in its problem (the cut mark included).
_QUOTED_ARGS_CHARS = 80


def _decoded_args(encoded: Any, step: Any, path: str, problems: list[Problem],
                  hide: Hide = _shown) -> Any:
    """The arguments an ``args_json`` holds; None (and a problem) when it holds no object."""
    step = step if isinstance(step, str) else None
    if _empty(encoded):
        return {}  # no arguments
    if isinstance(encoded, dict):
        return encoded  # an object where a string was asked for means the same thing
    if not isinstance(encoded, str):
        problems.append(_malformed(
            f"args_json must be a JSON object encoded in a string, not a {type(encoded).__name__}",
            step=step, path=path))
        return None
    try:
        args = json.loads(encoded, object_pairs_hook=no_duplicate_keys)
    except ValueError as exc:  # a key written twice too, worded as a plan file's
        problems.append(_malformed(f"args_json is not valid JSON: {exc}", step=step, path=path))
        return None
    except RecursionError:
        problems.append(_malformed(f"args_json {_TOO_DEEP}", step=step, path=path))
        return None
    if not isinstance(args, dict):
        problems.append(_malformed(
            "args_json must encode a JSON object of arguments, not "
            # Masked before it is cut: a cut through a secret leaves a piece no masking knows.
            f"{shorten(hide(encoded), _QUOTED_ARGS_CHARS)!r}",
            step=step, path=path))
        return None
    return args


def _wire_step(raw: Any, index: int, problems: list[Problem], hide: Hide = _shown) -> Any:
    if not isinstance(raw, dict):
        return raw  # the validator reports the wrong shape with its own words
    step = {k: v for k, v in raw.items() if k != "args_json"}
    given = raw.get("args") not in (None, {})
    if "args_json" in raw and not (given and _empty(raw["args_json"])):
        # An empty args_json beside an args object says nothing: the object is the arguments.
        path = f"$.steps[{index}].args_json"
        args = _decoded_args(raw["args_json"], raw.get("id"), path, problems, hide)
        if args is not None and given and args != raw["args"]:
            problems.append(_malformed(
                "the step gives both args_json and an args object, and they differ; give "
                "the arguments once, in args_json",
                step=raw.get("id") if isinstance(raw.get("id"), str) else None, path=path))
        elif args is not None:
            step["args"] = args
    if step.get("why") in ("", None):
        step.pop("why", None)
    if step.get("depends_on") in ([], None):
        step.pop("depends_on", None)
    for override in ("retry", "timeout_s"):  # null: the tool's own, as a key left out says
        if override in step and step[override] is None:
            step.pop(override)
    return step

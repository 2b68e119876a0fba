"""Static plan validation: every problem of a plan document, found at once, before anything runs.

``validate_plan`` checks, in this order, and never stops at the first problem:
the document (parseable, an object with ``goal`` and a list of ``steps``, no
unknown keys, fields of the right type), the number of steps, step ids,
tools, values no plan can hold (text that is not UTF-8 encodable or holds a
NUL character, NaN and Infinity, non-string keys, arguments nested past ``MAX_ARG_DEPTH``: each
would pass the schema and then crash the plan hash or the store), arguments
against each tool's input schema (unknown arguments included), text in them
(keys too) holding a ``${secret:`` that starts no whole ``${secret:NAME}`` (by
``tools.secret_names``, the grammar the tools fill and the policy reads),
references (well formed, to a known step and a field that step's tool outputs,
of a type that fits the argument), ``depends_on`` entries and finally cycles.
Each problem carries a stable code, the step id, a JSON path and a message that says how to fix it.

The problems listed are bounded: the first ``MAX_PROBLEMS_PER_STEP`` of each step and
``MAX_PROBLEMS`` in all, then one entry saying how many more were found (with the code of
the first left out). A model's reply far off the mark can hold 100,000 unknown arguments
in one step; each problem would be kept in every exchange record and in the stored
version, and the first ones are what is fixed first anyway. A plan with a problem left out
has problems listed too, so the cut never makes an invalid plan valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools import ToolRegistry

from .arg_checks import (
    FoundRef,
    SchemaCache,
    Suggester,
    json_path,
    scan_args,
    schema_error_message,
    shorten,
    suggest,
)
from .cycles import find_cycles
from .json_values import faults, plain, scalar_fault
from .loading import load_plan_document
from .plan import STEP_ID, Plan, Step, is_reference
from .problems import InvalidPlanError, Problem, ProblemCode, too_many_steps
from .schema_types import describe, field_names, fits, walk

PLAN_KEYS = ("goal", "steps")
STEP_KEYS = tuple(Step.model_fields)
MAX_PROBLEMS_PER_STEP = 20
MAX_PROBLEMS = 200
# An unknown argument's name longer than this gets no "did you mean": fuzzy matching costs
# its length, and no argument name is that long.
_LONGEST_SUGGESTED = 200
_STEP_PATH = re.compile(r"\$\.steps\[(\d+)\]")


class ValidationReport(BaseModel):
    """The outcome of validating one plan document: the plan when valid, every problem otherwise."""

    model_config = ConfigDict(frozen=True)

    plan: Plan | None = Field(default=None, description="The parsed plan; None when it is invalid.")
    problems: tuple[Problem, ...] = Field(
        default=(),
        description="Every problem found: document shape and ids first, "
        "then each step in plan order, then cycles.",
    )

    @property
    def ok(self) -> bool:
        """True when the plan is valid."""
        return self.plan is not None and not self.problems

    def raise_if_invalid(self) -> Plan:
        """The valid plan, or ``InvalidPlanError`` carrying every problem."""
        if self.plan is None or self.problems:
            raise InvalidPlanError(list(self.problems))
        return self.plan


@dataclass
class _StepView:
    """What could be read from one step entry, even when parts of it are malformed."""

    index: int
    id: str | None
    tool: str | None
    args: Mapping[str, Any] | None
    depends_on: list[tuple[int, str]]
    parsed: Step | None
    unread: str = ""  # why the Step model refused the entry, when it did

    @property
    def path(self) -> str:
        return f"$.steps[{self.index}]"


@dataclass
class _Checker:
    """One validation pass over one document."""

    registry: ToolRegistry
    max_steps: int
    problems: list[Problem] = field(default_factory=list)
    views: list[_StepView] = field(default_factory=list)
    first_index: dict[str, int] = field(default_factory=dict)
    waits_for: dict[str, set[str]] = field(default_factory=dict)
    ref_memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    per_step: dict[int, int] = field(default_factory=dict)  # problems listed, by step index
    left_out: int = 0
    first_left_out: ProblemCode | None = None

    def __post_init__(self) -> None:
        self.schemas = SchemaCache(self.registry)
        self.suggest = Suggester()

    def add(self, code: ProblemCode, path: str, message: str, step: str | None = None) -> None:
        at = _STEP_PATH.match(path)
        index = int(at.group(1)) if at else None
        if not self.room(index):
            self.leave_out(code)
            return
        self.problems.append(Problem(code=code, step=step, path=path, message=message))
        if index is not None:
            self.per_step[index] = self.per_step.get(index, 0) + 1

    def room(self, index: int | None) -> bool:
        """Whether one more problem of step ``index`` (None: of the plan) is listed."""
        return len(self.problems) < MAX_PROBLEMS and (
            index is None or self.per_step.get(index, 0) < MAX_PROBLEMS_PER_STEP)

    def leave_out(self, code: ProblemCode) -> None:
        """Count a problem found but not listed (there is no room for it)."""
        self.left_out += 1
        self.first_left_out = self.first_left_out or code

    def close_list(self) -> None:
        """Say how many problems were left out, after those listed."""
        if self.left_out and self.first_left_out is not None:
            self.problems.append(Problem(
                code=self.first_left_out, path="$",
                message=f"... and {self.left_out:,} more problem(s), not listed (at most "
                        f"{MAX_PROBLEMS_PER_STEP} a step and {MAX_PROBLEMS} in all are); fix "
                        "those listed first"))

    def run(self, data: Any) -> Plan | None:
        goal, raw_steps = self.check_top_level(data)
        if raw_steps is None:
            return None
        self.views = [self.read_step(i, raw) for i, raw in enumerate(raw_steps)]
        self.check_ids()
        for view in self.views:
            self.check_step(view)
        self.check_cycles()
        self.check_all_read()
        if self.problems or goal is None:
            return None
        try:
            return Plan(goal=goal, steps=tuple(v.parsed for v in self.views if v.parsed is not None))
        except ValidationError as exc:  # a rule the checks above do not know yet: still reported
            self.shape_problems(exc, "$", None)
            return None

    def check_all_read(self) -> None:
        """Fail closed: a step the model refused is a problem even if no check above named it.

        Otherwise the plan would be built from the steps that were read, silently without it.
        """
        if self.problems:
            return  # the plan is refused already
        for view in self.views:
            if view.parsed is None:
                self.add(ProblemCode.WRONG_SHAPE, view.path,
                         f"the step could not be read: {view.unread or 'not a step'}", view.id)

    # -- the document ---------------------------------------------------------

    def check_top_level(self, data: Any) -> tuple[str | None, list[Any] | None]:
        if not isinstance(data, Mapping):
            self.add(ProblemCode.WRONG_SHAPE, "$",
                     f"a plan is an object with 'goal' and 'steps', not {_kind(data)}")
            return None, None
        for key in data:
            if key not in PLAN_KEYS:
                self.add(ProblemCode.WRONG_SHAPE, json_path("$", [str(key)]),
                         f"unknown top-level key {str(key)!r}{suggest(str(key), list(PLAN_KEYS))}; "
                         "a plan has only 'goal' and 'steps'")
        goal = data.get("goal")
        if "goal" not in data:
            self.add(ProblemCode.WRONG_SHAPE, "$", "missing 'goal': say in plain words what the plan achieves")
        elif not isinstance(goal, str):
            self.add(ProblemCode.WRONG_SHAPE, "$.goal", f"'goal' must be a non-empty string, not {_kind(goal)}")
            goal = None
        elif not goal.strip():  # text, with nothing in it: "not a string" would be wrong
            empty = "blank (only whitespace)" if goal else "empty"
            self.add(ProblemCode.WRONG_SHAPE, "$.goal",
                     f"'goal' is {empty}: say in plain words what the plan achieves")
            goal = None
        elif (fault := scalar_fault(goal)) is not None:
            self.add(ProblemCode.WRONG_SHAPE, "$.goal", f"'goal': {fault}")
            goal = None
        steps = data.get("steps")
        if "steps" not in data:
            self.add(ProblemCode.WRONG_SHAPE, "$", "missing 'steps': a plan needs a list of steps")
            return goal, None
        if not isinstance(steps, list | tuple):
            self.add(ProblemCode.WRONG_SHAPE, "$.steps", f"'steps' must be a list of steps, not {_kind(steps)}")
            return goal, None
        if not steps:
            self.add(ProblemCode.NO_STEPS, "$.steps", "the plan has no steps; add at least one tool call")
        elif len(steps) > self.max_steps:
            self.problems.append(too_many_steps(len(steps), self.max_steps))
            return goal, None  # its steps are not checked
        return goal, list(steps)

    def read_step(self, index: int, raw: Any) -> _StepView:
        path = f"$.steps[{index}]"
        if not isinstance(raw, Mapping):
            self.add(ProblemCode.WRONG_SHAPE, path,
                     f"a step is an object with 'id', 'tool' and 'args', not {_kind(raw)}")
            return _StepView(index, None, None, None, [], None)
        sid = raw.get("id") if isinstance(raw.get("id"), str) else None
        if sid is not None and scalar_fault(sid) is not None:
            sid = None  # a problem's step names it; text that cannot be stored would break the record
        for key, value in raw.items():
            if key != "args" and not (plain(key) and plain(value)):  # 'args' is checked by scan_args
                for segments, reason in faults({key: value}):
                    self.add(ProblemCode.WRONG_SHAPE, json_path(path, segments), reason, sid)
        parsed: Step | None = None
        unread = ""
        try:
            parsed = Step.model_validate(raw)
        except ValidationError as exc:
            self.shape_problems(exc, path, sid)
            unread = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'step'!r}: {shorten(e['msg'])}"
                               for e in exc.errors())
        deps = raw.get("depends_on")
        depends_on = [(j, d) for j, d in enumerate(deps) if isinstance(d, str)] if isinstance(
            deps, list | tuple) else []
        return _StepView(index, sid, raw.get("tool") if isinstance(raw.get("tool"), str) else None,
                         raw.get("args") if isinstance(raw.get("args"), Mapping) else None,
                         depends_on, parsed, unread)

    def shape_problems(self, exc: ValidationError, path: str, sid: str | None) -> None:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if loc == ("id",) and error["type"] == "string_pattern_mismatch":
                continue  # reported as MALFORMED_ID by check_ids, with a better message
            where = json_path(path, loc)
            name = str(loc[-1]) if loc else ""
            if error["type"] == "extra_forbidden":
                choices = list(STEP_KEYS) if len(loc) == 1 else []
                message = f"unknown key {name!r}{suggest(name, choices)}"
                if len(loc) == 1:
                    message += f"; a step takes only: {', '.join(STEP_KEYS)}"
            elif error["type"] == "missing":
                message = f"missing required key {name!r}"
            else:
                field_name = ".".join(str(p) for p in loc) or "step"
                message = f"{field_name!r}: {shorten(error['msg'])}"
            self.add(ProblemCode.WRONG_SHAPE, where, message, sid)

    # -- ids ------------------------------------------------------------------

    def check_ids(self) -> None:
        for view in self.views:
            if view.id is None:
                continue
            if not STEP_ID.fullmatch(view.id):
                self.add(ProblemCode.MALFORMED_ID, f"{view.path}.id",
                         f"step id {shorten(repr(view.id))} is malformed: start with a lower-case "
                         "letter, then lower-case letters, digits or '_', at most 40 characters; "
                         f"to fix it: {_id_fixes(view.id)}", view.id)
            if view.id in self.first_index:
                first = self.first_index[view.id]
                self.add(ProblemCode.DUPLICATE_ID, f"{view.path}.id",
                         f"step id {view.id!r} is already used by step $.steps[{first}]; "
                         "give every step its own id", view.id)
            else:
                self.first_index[view.id] = view.index
                self.waits_for[view.id] = set()

    # -- one step -------------------------------------------------------------

    def check_step(self, view: _StepView) -> None:
        tool = None
        if view.tool is not None:
            tool = self.schemas.get(view.tool)
            if tool is None:
                hint = self.suggest(view.tool, self.registry.names()) or (
                    f"; registered tools: {', '.join(self.registry.names()[:12]) or 'none'}")
                self.add(ProblemCode.UNKNOWN_TOOL, f"{view.path}.tool",
                         f"unknown tool {view.tool!r}{hint}; see `baton tools list`", view.id)
        if is_reference(view.args):
            self.whole_args_reference(view, tool)
            self.check_depends_on(view)
            return
        args = view.args or {}
        scanned = scan_args(args)
        for segments, reason in scanned.malformed:
            self.add(ProblemCode.MALFORMED_REF, json_path(f"{view.path}.args", segments), reason, view.id)
        for segments, reason in scanned.unfit:
            self.add(ProblemCode.INVALID_ARGS, json_path(f"{view.path}.args", segments),
                     f"argument {str(segments[0])!r}: {reason}" if segments else reason, view.id)
        for segments, reason in scanned.broken_secrets:
            self.add(ProblemCode.MALFORMED_SECRET_REF, json_path(f"{view.path}.args", segments),
                     reason, view.id)
        if tool is not None and view.args is not None:
            slots = scanned.refs or scanned.malformed or scanned.unfit
            self.check_args(view, tool, scanned.value, with_refs=bool(slots))
        for ref in scanned.refs:
            self.check_ref(view, tool, ref)
        self.check_depends_on(view)

    def whole_args_reference(self, view: _StepView, tool: Any) -> None:
        # A reference fills one argument; the executor would pass {'ref': ...} itself as the arguments.
        names = (tool.arg_names if tool is not None else None) or ["<argument>"]
        target = shorten(repr((view.args or {}).get("ref")))
        self.add(ProblemCode.WRONG_SHAPE, f"{view.path}.args",
                 "'args' must be an object of named arguments, not a reference; put the reference "
                 f"under the argument it feeds, e.g. {{{names[0]!r}: {{'ref': {target}}}}}", view.id)

    def check_args(self, view: _StepView, tool: Any, value: Mapping[str, Any], *, with_refs: bool) -> None:
        base = f"{view.path}.args"
        names = tool.arg_names
        if names is not None:
            takes = ", ".join(names) if names else "no arguments"
            for key in value:
                if key in names:
                    continue
                if not self.room(view.index):  # counted, without the message's fuzzy match
                    self.leave_out(ProblemCode.UNKNOWN_ARG)
                    continue
                name = str(key)
                hint = suggest(name, names) if len(name) <= _LONGEST_SUGGESTED else ""
                self.add(ProblemCode.UNKNOWN_ARG, json_path(base, [name]),
                         f"tool {tool.spec.name!r} takes no argument {name!r}{hint}; "
                         f"it takes: {takes}", view.id)
        for error in tool.validator(with_refs).iter_errors(value):
            if error.validator == "additionalProperties" and not error.absolute_path and names is not None:
                continue  # every unknown argument is already reported above
            if not self.room(view.index):
                self.leave_out(ProblemCode.INVALID_ARGS)
                continue
            self.add(ProblemCode.INVALID_ARGS, json_path(base, list(error.absolute_path)),
                     schema_error_message(error), view.id)

    def check_ref(self, view: _StepView, tool: Any, ref: FoundRef) -> None:
        path = json_path(f"{view.path}.args", ref.segments)
        target_id, *fields = ref.target.split(".")
        if target_id == view.id:
            self.add(ProblemCode.SELF_DEPENDENCY, path,
                     f"step {view.id!r} refers to its own output ({ref.target!r}); "
                     "a step can only use the outputs of other steps", view.id)
            return
        if target_id not in self.first_index:
            self.add(ProblemCode.REF_UNKNOWN_STEP, path,
                     f"reference {ref.target!r} names step {target_id!r}, which is not in the plan"
                     f"{self.suggest(target_id, self.first_index.keys())}", view.id)
            return
        if view.id is not None and view.id in self.waits_for:
            self.waits_for[view.id].add(target_id)
        source_view = self.views[self.first_index[target_id]]
        source = self.schemas.get(source_view.tool) if source_view.tool else None
        if source is None:
            return  # its unknown tool is reported on that step
        found = self.ref_types(source, tool, tuple(fields), ref.segments)
        if found is None:
            return
        node, failed, reason, argument = found
        if failed is not None:
            walked = ".".join([target_id, *fields[:failed]])
            options = field_names(node) if node is not None else []
            where = "" if failed == 0 else f" at {walked!r}"
            what = f"no field {fields[failed]!r}{where}" if (reason or "").startswith("no field") else (
                f"no {fields[failed]!r} at {walked!r}: {reason}")
            self.add(ProblemCode.REF_UNKNOWN_FIELD, path,
                     f"reference {ref.target!r}: the output of step {target_id!r} (tool "
                     f"{source.spec.name!r}) has {what}"
                     f"{suggest(fields[failed], options, walked + '.')}"
                     + (f"; fields there: {', '.join(options)}" if options else ""), view.id)
        else:
            self.add(ProblemCode.REF_TYPE_MISMATCH, path,
                     f"reference {ref.target!r} gives {describe(node)}, but argument "
                     f"{'.'.join(map(str, ref.segments))!r} of tool {tool.spec.name!r} takes "
                     f"{describe(argument)}; refer to an output field of a fitting type "
                     "or add a step that converts it", view.id)

    def ref_types(self, source: Any, tool: Any, fields: tuple[str, ...], segments: tuple[Any, ...]) -> Any:
        """None when the referenced field exists and fits; else what is wrong (memoised).

        Big plans repeat the same (tool, field, argument) triples many times over,
        so each is walked and compared once per validation.
        """
        key = (source.spec.name, fields, tool.spec.name if tool else None, segments)
        if key in self.ref_memo:
            return self.ref_memo[key]
        node, failed, reason = walk(source.output_node(), fields)
        outcome: Any = None
        if failed is not None:
            outcome = (node, failed, reason, None)
        elif tool is not None:
            argument, arg_failed, _ = walk(tool.input_node(), [str(s) for s in segments])
            if arg_failed is None and not fits(node, argument):
                outcome = (node, None, None, argument)
        self.ref_memo[key] = outcome
        return outcome

    def check_depends_on(self, view: _StepView) -> None:
        for j, dep in view.depends_on:
            path = f"{view.path}.depends_on[{j}]"
            if dep == view.id:
                self.add(ProblemCode.SELF_DEPENDENCY, path,
                         f"step {view.id!r} lists itself in depends_on; remove that entry", view.id)
            elif dep not in self.first_index:
                self.add(ProblemCode.UNKNOWN_DEPENDENCY, path,
                         f"depends_on names step {dep!r}, which is not in the plan"
                         f"{self.suggest(dep, self.first_index.keys())}", view.id)
            elif view.id is not None and view.id in self.waits_for:
                self.waits_for[view.id].add(dep)

    # -- the graph ------------------------------------------------------------

    def check_cycles(self) -> None:
        for cycle, knot in find_cycles(list(self.first_index), self.waits_for):
            start = cycle[0]
            message = (f"steps form a cycle: {' → '.join(cycle)} (each waits for the one before it), "
                       "so none of them can start; remove one reference or depends_on entry from it")
            others = [s for s in knot if s not in cycle]
            if others:
                message += f"; also caught in the same knot: {', '.join(others)}"
            self.add(ProblemCode.CYCLE, f"$.steps[{self.first_index[start]}]", message, start)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    for typ, name in names.items():
        if isinstance(value, typ):
            return name
    if isinstance(value, Mapping):
        return "an object"
    return "a list" if isinstance(value, list | tuple) else f"a {type(value).__name__}"


_ID_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_ID_CHARACTERS = _ID_LETTERS | frozenset("0123456789_")


def _id_fixes(raw: str) -> str:
    """What to change in a malformed step id, said without spelling a fixed id out: the id
    is quoted as written, where a configured secret's value in it is masked as written; an
    id made from it (lower-cased, '_' for '-') would carry that value past the masking, into
    the ledger, the API and the model's repair prompt."""
    lowered = raw.lower()
    fixes = ["lower-case it"] if lowered != raw else []
    if any(c not in _ID_CHARACTERS for c in lowered):
        fixes.append("write '_' for each character other than a-z, 0-9 and '_'")
    if lowered[:1] not in _ID_LETTERS:
        fixes.append("start it with a letter")
    if len(raw) > 40:
        fixes.append(f"cut it to 40 characters (it has {len(raw)})")
    return ", ".join(fixes)


def validate_plan(
    document: Plan | Mapping[str, Any] | str | bytes,
    registry: ToolRegistry,
    *,
    max_steps: int = 200,
) -> ValidationReport:
    """Check a plan (object, parsed data, or JSON/YAML text) against ``registry``; all problems at once."""
    if isinstance(document, str | bytes):
        data, problems = load_plan_document(document)
        if problems:
            return ValidationReport(plan=None, problems=tuple(problems))
    elif isinstance(document, Plan):
        data = document.model_dump(exclude_defaults=True)  # not mode="json": it turns NaN into null
    else:
        data = document
    checker = _Checker(registry=registry, max_steps=max_steps)
    try:
        plan = checker.run(data)
    except RecursionError:  # arguments nested thousands deep: refuse rather than crash
        checker.add(ProblemCode.WRONG_SHAPE, "$", "the plan is nested too deeply; flatten the arguments")
        plan = None
    checker.close_list()
    if isinstance(document, Plan) and plan is not None:
        plan = document
    return ValidationReport(plan=plan, problems=tuple(checker.problems))

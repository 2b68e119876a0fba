"""Save an approved plan as a template: chosen literal values become typed parameters."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..arg_checks import json_path
from ..plan import Plan, is_reference
from .matching import TemplateMatcher
from .loader import TemplateLibrary
from .model import (
    PLACEHOLDER,
    RESERVED_PARAM_NAMES,
    ParamBounds,
    ParamType,
    Template,
    TemplateError,
    TemplateParam,
    number_bounds_problem,
    reserved_name_message,
    unbounded_message,
    unbounded_params,
)
from .params import _text, check_value, coerce

# Matched in full (``fullmatch``): a ``$`` would match before a trailing newline.
_INDEX = re.compile(r"(?P<key>[^\[\]]+)?((?:\[\d+\])*)")
_PHRASE_SPECIAL = set("{}()[]")
_REGEX_PREFIX = "re:"  # how compile_pattern tells a regex from a phrase
#: The code of the TemplateError refusing min or max on a str or bool parameter.
NUMBER_BOUNDS_ON_OTHER_TYPE = "number_bounds_on_other_type"


def template_from_plan(
    plan: Plan,
    *,
    name: str,
    params: dict[str, str],
    description: str = "",
    pre_approved: bool = False,
    bounds: Mapping[str, ParamBounds] | None = None,
) -> Template:
    """A template (version 1; the library renumbers on save) made from ``plan``.

    Each entry of ``params`` maps a new parameter name to either a JSON path into
    the plan (``$.steps[0].args.path`` or ``$.steps.load.args.path``): that value
    only, or a literal (``sales.csv``): every argument equal to it. Values that
    appear in the goal become ``{param}`` captures of the goal pattern; the others
    get their current value as the default. ``bounds`` limits the values of the
    parameters it names; a pre-approved template needs every parameter bounded
    (TemplateError, code ``unbounded_parameter``, naming the others).
    """
    reserved = sorted(set(params) & RESERVED_PARAM_NAMES)
    if reserved:  # before its placeholder goes in: {{goal}} would become the goal text
        raise TemplateError(reserved_name_message(reserved[0]))
    bounds = dict(bounds or {})
    unknown = sorted(set(bounds) - set(params))
    if unknown:
        raise TemplateError(f"bounds given for {', '.join(unknown)}, which "
                            f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'}"
                            " of the template")
    original = plan.to_wire()["steps"]
    document = copy.deepcopy(plan.to_wire())
    steps = document["steps"]
    declared: list[TemplateParam] = []
    values: dict[str, Any] = {}
    for pname, spec in params.items():
        # Each parameter reads the plan as it was: a value an earlier one already made a
        # placeholder is not a value of the plan (its default would be that placeholder).
        if spec.startswith("$."):
            value = _replace_at(steps, original, pname, spec)
        else:
            value = _replace_literal(steps, original, pname, spec)
        values[pname] = value
    _name_in_why(steps, values)
    _refuse_literal_placeholders(plan.to_wire(), {"goal": plan.goal, "steps": steps}, ())
    goal_pattern, spans = _goal_pattern(plan.goal, values)
    captured = {pname for _, _, pname in spans}
    for pname, value in values.items():
        declared.append(_bounded(TemplateParam(
            name=pname, type=_type_of(value), description=f"was {_text(value)!r} in {plan.goal!r}",
            default=None if pname in captured else value,
        ), bounds.get(pname)))
    _refuse_leaving_out_own_values(name, plan.goal, declared, values)
    unbounded = unbounded_params(declared)
    if pre_approved and unbounded:
        raise TemplateError(unbounded_message(unbounded), code="unbounded_parameter")
    template = Template(
        name=name, version=1, description=description or plan.goal, pre_approved=pre_approved,
        example_goals=(plan.goal,), patterns=(goal_pattern,), params=tuple(declared),
        plan={"goal": _goal_skeleton(plan.goal, spans), "steps": steps},
    )
    _check_round_trip(template, plan.goal, {k: values[k] for k in captured})
    return template


def _bounded(param: TemplateParam, bounds: ParamBounds | None) -> TemplateParam:
    """``param`` with ``bounds`` applied, enum values typed like the parameter; min or max on
    a parameter that is not a number is refused (code ``NUMBER_BOUNDS_ON_OTHER_TYPE``)."""
    if bounds is None:
        return param
    problem = number_bounds_problem(param.name, param.type, bounds.min, bounds.max)
    if problem is not None:
        raise TemplateError(problem, code=NUMBER_BOUNDS_ON_OTHER_TYPE)
    enum = None
    if bounds.enum is not None:
        try:
            enum = tuple(coerce(param, raw) for raw in bounds.enum)
        except ValueError as exc:  # "NAME: 'x' is not a whole number"
            why = str(exc).removeprefix(f"{param.name}: ")
            raise TemplateError(f"parameter {param.name}: enum value {why}") from None
    # Validated again: a pattern that does not compile is refused like one in a file.
    return TemplateParam.model_validate({**param.model_dump(), "pattern": bounds.pattern,
                                         "enum": enum, "min": bounds.min, "max": bounds.max})


def _refuse_leaving_out_own_values(name: str, goal: str, declared: list[TemplateParam],
                                   values: dict[str, Any]) -> None:
    """Bounds must admit the plan's own values, or the template could not make its own plan."""
    problems = []
    for param in declared:
        value = values[param.name]
        if param.enum is not None and value not in param.enum:
            allowed = ", ".join(_text(v) for v in param.enum)
            problems.append(f"the enum of {param.name} ({allowed}) leaves out the plan's "
                            f"value {value!r}")
        problems.extend(check_value(param.model_copy(update={"enum": None}), value))
    if problems:
        raise TemplateError(f"template {name} would not match its own goal {goal!r}: "
                            f"{'; '.join(problems)}")


def _type_of(value: Any) -> ParamType:
    if isinstance(value, bool):
        return ParamType.BOOL
    if isinstance(value, int):
        return ParamType.INT
    if isinstance(value, float):
        return ParamType.NUMBER
    return ParamType.STR


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, str | int | float | bool) and value is not None:
        return value
    raise TemplateError(f"{where} holds {type(value).__name__}, not a single value; "
                        "choose a path to a string, number or yes/no value")


def _replace_at(steps: list[dict[str, Any]], original: list[dict[str, Any]], pname: str,
                path: str) -> Any:
    segments = path[2:].split(".")
    if not segments or segments[0].split("[")[0] != "steps":
        raise TemplateError(f"parameter {pname}: {path} must start with $.steps")
    container: Any = {"steps": steps}
    keys: list[Any] = []
    for segment in segments:
        found = _INDEX.fullmatch(segment)
        if not found:
            raise TemplateError(f"parameter {pname}: cannot read path segment {segment!r}")
        if found["key"] is not None:
            keys.append(found["key"])
        keys.extend(int(i) for i in re.findall(r"\[(\d+)\]", segment))
    parent, last = _walk(container, keys, pname, path)
    if len(keys) < 3 or keys[2] != "args":
        # As a literal replaces only arguments (_replace_literal): a template user choosing
        # a step's tool, id, depends_on, retry or timeout_s would choose what runs, and when.
        raise TemplateError(f"parameter {pname}: {path} is not an argument value: only "
                            "argument values (a path under $.steps[N].args) can be parameters")
    if is_reference(parent):  # as a literal never replaces one (_replace_literal)
        raise TemplateError(f"parameter {pname}: {path} is the target of a reference "
                            f"({parent!r}), which a parameter never replaces: whoever used "
                            "the template would choose which step output is read; name a "
                            "value instead")
    before, at = _walk({"steps": original}, keys, pname, path)
    if parent[last] != before[at]:
        taken = PLACEHOLDER.fullmatch(str(parent[last]))
        raise TemplateError(f"parameter {pname}: {path} is already parameter "
                            f"{taken.group(1) if taken else '?'}; give each value one parameter")
    value = _scalar(parent[last], f"parameter {pname}: {path}")
    parent[last] = "{{" + pname + "}}"
    return value


def _walk(container: Any, keys: list[Any], pname: str, path: str) -> tuple[Any, Any]:
    for depth, key in enumerate(keys):
        if not isinstance(container, dict | list):
            # Text indexes too ("abc"[0]), but one character of it is no place for a value.
            raise TemplateError(f"parameter {pname}: {path} does not exist in the plan: it "
                                f"reads into a {_kind(container)}, not a list or object")
        if isinstance(container, list) and isinstance(key, str):
            ids = [s.get("id") for s in container if isinstance(s, dict)]
            if key not in ids:
                raise TemplateError(f"parameter {pname}: {path}: no step {key!r}")
            key = ids.index(key)
        try:
            if depth == len(keys) - 1:
                container[key]  # noqa: B018  (existence check)
                return container, key
            container = container[key]
        except (KeyError, IndexError, TypeError):
            raise TemplateError(f"parameter {pname}: {path} does not exist in the plan") from None
    raise TemplateError(f"parameter {pname}: {path} is empty")


def _refuse_literal_placeholders(original: Any, saved: Any, segments: tuple[Any, ...]) -> None:
    """A ``{{name}}`` the plan holds as text, left in the template, would be filled in when
    the template is used (``{{goal}}`` with the goal, an unknown name refused): template
    text has no way to write one literally, so the plan is refused naming where it is."""
    if isinstance(original, str):
        literal = next((m.group(0) for m in PLACEHOLDER.finditer(original)
                        if isinstance(saved, str) and m.group(0) in saved), None)
        if literal is not None:
            raise TemplateError(
                f"{json_path('$', segments)} holds {literal!r}, which a template would fill in "
                "as a parameter and cannot hold as text; make that value a parameter "
                "(--param NAME=PATH) or save a plan without it")
    elif isinstance(original, dict) and isinstance(saved, dict):
        for key, item in original.items():
            _refuse_literal_placeholders(item, saved.get(key), (*segments, key))
    elif isinstance(original, list) and isinstance(saved, list):
        for index, item in enumerate(original[:len(saved)]):
            _refuse_literal_placeholders(item, saved[index], (*segments, index))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "yes/no value"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "null"


def _replace_literal(steps: list[dict[str, Any]], original: list[dict[str, Any]], pname: str,
                     literal: str) -> Any:
    """Make each argument equal to ``literal`` the parameter; its value (all of one type).

    Arguments only: a step id in ``depends_on``, a ``why`` or a retry setting that happens
    to read the same is no value a template user chooses; nor is a reference, nested or the
    step's whole ``args`` (a user choosing it would choose which output the step reads).
    """
    found: list[tuple[tuple[Any, ...], Any]] = []
    taken: list[tuple[tuple[Any, ...], Any]] = []
    for index, (step, was) in enumerate(zip(steps, original, strict=True)):
        if isinstance(step.get("args"), dict) and not is_reference(step["args"]):
            _replace_equal(step["args"], was["args"], literal, "{{" + pname + "}}",
                           ("steps", index, "args"), found, taken)
    if not found and taken:  # said as a path taken twice is, whichever --param came first
        at, placeholder = taken[0]
        raise TemplateError(f"parameter {pname}: {json_path('$', at)} is already parameter "
                            f"{PLACEHOLDER.fullmatch(placeholder).group(1)}; give each value "
                            "one parameter")
    if not found:
        raise TemplateError(f"parameter {pname}: no argument of the plan has the value {literal!r}")
    kinds = {_kind(value) for _, value in found}
    if len(kinds) > 1:
        # "5" and 5 differ as the plan hash compares them: one parameter type would turn
        # the others into values of its own type in every instance (or refuse the plan).
        places = ", ".join(f"{json_path('$', at)} ({_kind(value)})" for at, value in found)
        raise TemplateError(
            f"parameter {pname}: the plan holds {literal!r} as values of different types: "
            f"{places}; a parameter has one type: name each place with --param NAME=PATH")
    return found[0][1]


def _replace_equal(value: Any, original: Any, literal: str, placeholder: str,
                   at: tuple[Any, ...], found: list[tuple[tuple[Any, ...], Any]],
                   taken: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Replace each value equal to ``literal`` that ``original`` (the plan as it was) holds
    at the same place: not one an earlier parameter already replaced, which goes in
    ``taken`` with that parameter's placeholder."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        was = original[key]
        if isinstance(item, dict | list):
            if not is_reference(item):
                _replace_equal(item, was, literal, placeholder, (*at, key), found, taken)
        elif was is None or _text(was) != literal:
            continue
        elif item == was:
            found.append(((*at, key), item))
            value[key] = placeholder
        else:  # an earlier --param made it its placeholder
            taken.append(((*at, key), item))


def _name_in_why(steps: list[dict[str, Any]], values: dict[str, Any]) -> None:
    """Mention parameters in the steps' rationales, so an instance explains its own values."""
    names: dict[str, str] = {}
    for pname, value in sorted(values.items(), key=lambda kv: -len(_text(kv[1]))):
        if isinstance(value, str) and len(value) > 2:
            names.setdefault(value, pname)  # two parameters of one value: the first names it
    if not names:
        return
    # One pass over the text as the plan gave it, longest value first: replacing value
    # after value found short ones again inside placeholders (read {{s{{our}}ce}}).
    found = re.compile("|".join(re.escape(value) for value in names))
    for step in steps:
        why = step.get("why")
        if isinstance(why, str):
            step["why"] = found.sub(lambda hit: "{{" + names[hit.group(0)] + "}}", why)


def _goal_pattern(goal: str, values: dict[str, Any]) -> tuple[str, list[tuple[int, int, str]]]:
    """A phrase (or ``re:`` pattern) for the goal with values replaced by captures.

    Also returns where in ``goal`` each captured value was found: (start, end, parameter).
    """
    text = goal.strip().rstrip(".!?").strip()
    # A phrase has no way to write these literally, and one starting with re: is read as a
    # regex: the goal's words go into an escaped regex instead, so they stay words.
    use_regex = bool(_PHRASE_SPECIAL & set(goal)) or text.startswith(_REGEX_PREFIX)
    offset = len(goal) - len(goal.lstrip())  # text starts there in goal (when not empty)
    spans: list[tuple[int, int, str]] = []
    # Longest value first, ties in the order the parameters were given: a value found
    # inside a longer one (sales in sales.csv) must not take the longer one's place.
    for pname, value in sorted(values.items(), key=lambda kv: -len(_text(kv[1]))):
        literal = _text(value)
        if re.search(r"\s", literal):
            continue  # a capture is one word; the value stays fixed, as the default
        for hit in re.finditer(rf"(?<!\S){re.escape(literal)}(?=[\s,;:]|$)", text, re.IGNORECASE):
            if all(hit.end() <= s or hit.start() >= e for s, e, _ in spans):
                spans.append((hit.start(), hit.end(), pname))
                break
    spans.sort()
    out, position = [], 0
    for start, end, pname in spans:
        out.append(_quote(text[position:start], use_regex))
        out.append(f"(?P<{pname}>\\S+)" if use_regex else "{" + pname + "}")
        position = end
    out.append(_quote(text[position:], use_regex))
    pattern = "".join(out)
    found = [(start + offset, end + offset, pname) for start, end, pname in spans]
    return (_REGEX_PREFIX + pattern if use_regex else pattern), found


def _quote(text: str, use_regex: bool) -> str:
    return re.escape(text) if use_regex else text


def _goal_skeleton(goal: str, spans: list[tuple[int, int, str]]) -> str:
    """The goal with each captured value replaced at the span the pattern found it in.

    Not at its first occurrence: that may lie inside another value (sales in
    sales.csv), and which of the two was replaced first hung on set order.
    """
    for start, end, pname in sorted(spans, reverse=True):  # right to left keeps offsets valid
        goal = goal[:start] + "{{" + pname + "}}" + goal[end:]
    return goal


def _check_round_trip(template: Template, goal: str, expected: dict[str, Any]) -> None:
    found, misses = TemplateMatcher(TemplateLibrary([template])).match(goal)
    if found is None or found.params != {**found.params, **expected}:
        why = "; ".join(p for m in misses for p in m.problems) or "the pattern does not match it"
        raise TemplateError(f"template {template.name} would not match its own goal {goal!r}: {why}")

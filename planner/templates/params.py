"""Parameter values: typing, bounds checks and substitution into a template's plan skeleton."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import ValidationError

from ..plan import Plan
from .backtracking import too_slow
from .model import PLACEHOLDER, ParamType, Template, TemplateError, TemplateParam

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


def coerce(param: TemplateParam, raw: Any) -> Any:
    """``raw`` (text from a goal, or a typed value) as the parameter's type; ValueError if not."""
    if param.type is ParamType.BOOL:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"{param.name}: {raw!r} is not a yes/no value")
    if param.type is ParamType.INT:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(f"{param.name}: {raw!r} is not a whole number")
        try:
            return int(raw) if not isinstance(raw, str) else int(raw.strip())
        except ValueError:
            raise ValueError(f"{param.name}: {raw!r} is not a whole number") from None
    if param.type is ParamType.NUMBER:
        if isinstance(raw, bool):
            raise ValueError(f"{param.name}: {raw!r} is not a number")
        try:
            value = float(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise ValueError(f"{param.name}: {raw!r} is not a number") from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{param.name}: {raw!r} is not a finite number")
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if not isinstance(raw, str):
        raise ValueError(f"{param.name}: {raw!r} is not text")
    return _canonical_enum(param, raw)


def _canonical_enum(param: TemplateParam, value: str) -> str:
    # Goals are matched case-insensitively, so "Sum" selects the declared "sum".
    for allowed in param.enum or ():
        if isinstance(allowed, str) and allowed.lower() == value.lower():
            return allowed
    return value


def check_value(param: TemplateParam, value: Any) -> list[str]:
    """Why ``value`` (already typed) breaks the parameter's pattern, enum or bounds; [] if fine."""
    problems: list[str] = []
    if param.enum is not None and value not in param.enum:
        allowed = ", ".join(str(v) for v in param.enum)
        problems.append(f"{param.name}: {value!r} is not one of {allowed}")
    if param.pattern is not None:
        text = str(value)
        if too_slow(param.pattern, length=len(text)):  # goal text: never run past the budget
            problems.append(f"{param.name}: a value of {len(text)} characters is too long to "
                            f"check against {param.pattern} in bounded time")
        elif not re.fullmatch(param.pattern, text):
            problems.append(f"{param.name}: {value!r} does not match {param.pattern}")
    if param.min is not None and isinstance(value, int | float) and value < param.min:
        problems.append(f"{param.name}: {value!r} is below the minimum {param.min:g}")
    if param.max is not None and isinstance(value, int | float) and value > param.max:
        problems.append(f"{param.name}: {value!r} is above the maximum {param.max:g}")
    return problems


def bounds_check(template: Template, params: dict[str, Any]) -> list[str]:
    """Every way typed ``params`` leave the template's bounds (unknown, missing, type, pattern,
    enum, min/max); an empty list means an instance with these values is a standard change."""
    declared = {p.name for p in template.params}
    problems = [f"{name}: not a parameter of template {template.name}"
                for name in sorted(set(params) - declared)]
    for param in template.params:
        if param.name not in params:
            if param.required:
                problems.append(f"{param.name}: missing (required)")
            continue
        value = params[param.name]
        if not _has_type(param.type, value):
            problems.append(f"{param.name}: {value!r} is not a {param.type.value}")
            continue
        problems.extend(check_value(param, value))
    return problems


def _has_type(kind: ParamType, value: Any) -> bool:
    if kind is ParamType.BOOL:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is ParamType.INT:
        return isinstance(value, int)
    if kind is ParamType.NUMBER:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, str)


def coerce_all(template: Template, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``params`` typed by their declarations (text from goals or the CLI), with any errors."""
    typed: dict[str, Any] = {}
    errors: list[str] = []
    for name, raw in params.items():
        try:
            typed[name] = coerce(template.param(name), raw)
        except KeyError:
            typed[name] = raw
        except ValueError as exc:
            errors.append(str(exc))
    return typed, errors


def with_defaults(template: Template, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` completed with the defaults of the parameters they leave out."""
    full = {p.name: p.default for p in template.params if p.default is not None}
    full.update(params)
    return full


def instantiate(template: Template, params: dict[str, Any], *, goal: str | None = None) -> Plan:
    """The plan of ``template`` with ``params`` filled in; TemplateError if a value is out of bounds.

    ``goal`` becomes the plan's goal (default: the skeleton's goal, else the first example goal).
    """
    full, problems = coerce_all(template, with_defaults(template, params))
    problems += bounds_check(template, full) if not problems else []
    if problems:
        raise TemplateError(f"cannot instantiate template {template.name} v{template.version}: "
                            + "; ".join(problems))
    values = dict(full)
    values["goal"] = goal or _default_goal(template, values)
    document = {"goal": values["goal"], "steps": substitute(template.plan["steps"], values)}
    try:
        return Plan.model_validate(document)
    except ValidationError as exc:
        raise TemplateError(
            f"template {template.name} v{template.version} does not make a well-formed plan: {exc}"
        ) from exc


def _default_goal(template: Template, values: dict[str, Any]) -> str:
    skeleton_goal = template.plan.get("goal")
    # {{goal}} in the skeleton's goal stands for the goal given, and there is none here.
    if isinstance(skeleton_goal, str) and "goal" not in PLACEHOLDER.findall(skeleton_goal):
        return substitute(skeleton_goal, values)
    return template.example_goals[0] if template.example_goals else template.description or template.name


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """A copy of ``value``: a string that is exactly ``{{p}}`` becomes the typed value of p;
    placeholders inside longer strings become the value's text."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: _text(values[m.group(1)]), value)
    if isinstance(value, dict):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(item, values) for item in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

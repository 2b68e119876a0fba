"""The options of ``baton templates``: names, ``--param`` and the bounds of each parameter.

Each malformed option is a usage error (exit 2, one line naming it), found before any
work, as the template model would refuse it later with a less direct message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .common import EXIT_USAGE, fail

if TYPE_CHECKING:
    from planner.templates import ParamBounds

# What planner.templates.model's name patterns allow, in words for an error line.
TEMPLATE_NAME_RULE = "a lowercase letter, then at most 63 lowercase letters, digits, '-' or '_'"
PARAM_NAME_RULE = "a lowercase letter, then at most 39 lowercase letters, digits or '_'"
BOUND_OPTIONS_HELP = ("--param-pattern NAME=REGEX, --param-enum NAME=V1,V2,... or, for numbers, "
                      "--param-min NAME=N with --param-max NAME=N")


def refuse_plan_options(given: Mapping[str, bool]) -> None:
    """Options of --from-plan given with FILE are a usage error, never silently dropped."""
    named = [option for option, present in given.items() if present]
    if named:
        verb = "does" if len(named) == 1 else "do"
        fail(f"{', '.join(named)} {verb} not apply to FILE: a template file is added as written",
             EXIT_USAGE)


def check_template_name(name: str, given: str) -> None:
    """A name no template can have is a usage error (as the template model would refuse it)."""
    from planner.templates.model import TEMPLATE_NAME_PATTERN

    if not re.fullmatch(TEMPLATE_NAME_PATTERN, name):
        fail(f"{given} is not a template name: use {TEMPLATE_NAME_RULE}", EXIT_USAGE)


def parse_params(values: list[str]) -> dict[str, str]:
    """``--param NAME=SPEC`` values by name; a malformed, misnamed or repeated one is a usage error."""
    from planner.templates.model import PARAM_NAME_PATTERN

    params: dict[str, str] = {}
    for item in values:
        key, sep, spec = (part.strip() for part in item.partition("="))
        if not sep or not key or not spec:
            fail(f"--param {item!r}: write NAME=JSONPATH or NAME=VALUE", EXIT_USAGE)
        if not re.fullmatch(PARAM_NAME_PATTERN, key):
            fail(f"--param {item!r}: {key!r} is not a parameter name: use {PARAM_NAME_RULE}",
                 EXIT_USAGE)
        if key in params:
            fail(f"--param {key} is given twice; give each parameter once", EXIT_USAGE)
        params[key] = spec
    return params


def parse_bounds(params: Mapping[str, str], *, pattern: list[str], enum: list[str],
                 minimum: list[str], maximum: list[str]) -> dict[str, ParamBounds]:
    """The bounds options by parameter name; each must name a ``--param`` and be well formed."""
    from planner.templates import ParamBounds

    fields: dict[str, dict[str, object]] = {}
    for option, field, values, parse in (
        ("--param-pattern", "pattern", pattern, _regex),
        ("--param-enum", "enum", enum, _values),
        ("--param-min", "min", minimum, _number),
        ("--param-max", "max", maximum, _number),
    ):
        for name, text in _named_values(option, values, params).items():
            fields.setdefault(name, {})[field] = parse(option, name, text)
    for name, given in fields.items():
        low, high = given.get("min"), given.get("max")
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            fail(f"--param-min {name}: {low:g} is above --param-max {high:g}", EXIT_USAGE)
    return {name: ParamBounds(**given) for name, given in fields.items()}  # type: ignore[arg-type]


def _named_values(option: str, values: list[str], params: Mapping[str, str]) -> dict[str, str]:
    """``NAME=TEXT`` items of one option by name: each names a --param, once."""
    found: dict[str, str] = {}
    what = "REGEX" if option == "--param-pattern" else "VALUE"
    for item in values:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name or not text.strip():
            fail(f"{option} {item!r}: write NAME={what}", EXIT_USAGE)
        if name not in params:
            fail(f"{option} {name}: no --param {name}; bound only the parameters you give",
                 EXIT_USAGE)
        if name in found:
            fail(f"{option} {name} is given twice; give each parameter once", EXIT_USAGE)
        found[name] = text if option == "--param-pattern" else text.strip()
    return found


def _regex(option: str, name: str, text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        fail(f"{option} {name}: {text!r} is not a valid regex ({exc})", EXIT_USAGE)
    return text


def _values(option: str, name: str, text: str) -> tuple[str, ...]:
    values = tuple(value.strip() for value in text.split(",") if value.strip())
    if not values:
        fail(f"{option} {name}: give at least one value (V1,V2,...)", EXIT_USAGE)
    return values


def _number(option: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        fail(f"{option} {name}: {text!r} is not a number", EXIT_USAGE)
    if not math.isfinite(value):
        fail(f"{option} {name}: {text!r} is not a finite number", EXIT_USAGE)
    return value

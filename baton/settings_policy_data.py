"""Checks of ``[policy.data]``: the keys Baton's shipped policies read must have the shape
they read.

A mistyped value does not fail alike on both engines: ``two_person_risk = "60"`` makes
the embedded interpreter fail (every plan denied, cause hidden), while OPA compares a
number with a string without an error and asks for one approver where two were due. So
``load_settings`` refuses such a value as a configuration error (exit 2) naming the key
and the type it must have. ``[policy.data]`` replaces whole top-level keys, so a table
of the shipped data (``approval``, ``risk``, ``limits``, ``batch_window``) must give
every key the policies read; keys of its own beyond those are left alone, and so are
top-level keys Baton does not know (data for policies of one's own). Values are never
quoted: policy data may hold something secret.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .settings_users import toml_key

Problem = tuple[str, str]
Check = Callable[[Any, str], list[Problem]]


def _kind(value: Any) -> str:
    """What a TOML value is, in words (never the value itself)."""
    if isinstance(value, bool):
        return "true or false"
    kinds = {str: "a string", int: "a number", float: "a number", list: "an array",
             dict: "a table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "a date or time")


def _scalar(wanted: str, accepts: Callable[[Any], bool]) -> Check:
    def check(value: Any, key: str) -> list[Problem]:
        return [] if accepts(value) else [(key, f"must be {wanted}, not {_kind(value)}")]
    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


STRING = _scalar("a string", lambda v: isinstance(v, str))
NUMBER = _scalar("a number", _is_number)
WHOLE = _scalar("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
BOOLEAN = _scalar("true or false", lambda v: isinstance(v, bool))


def _array(of: Check, wanted: str) -> Check:
    def check(value: Any, key: str) -> list[Problem]:
        if not isinstance(value, list):
            return [(key, f"must be {wanted}, not {_kind(value)}")]
        return [p for index, item in enumerate(value) for p in of(item, f"{key}[{index}]")]
    return check


def _table(of: Check, wanted: str) -> Check:
    """A table whose keys are names of one's choosing (roles, secrets, hosts, tags)."""
    def check(value: Any, key: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [(key, f"must be {wanted}, not {_kind(value)}")]
        return [p for name, item in value.items() for p in of(item, f"{key}.{toml_key(name)}")]
    return check


def _record(fields: Mapping[str, Check], *, replaced_whole: bool = True) -> Check:
    """A table with fixed keys, each of which the policies read."""
    def check(value: Any, key: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [(key, f"must be a table with {', '.join(fields)}, not {_kind(value)}")]
        why = (f": [policy.data] replaces the shipped {key.rsplit('.', 1)[-1]} table whole, so "
               f"give every key ({', '.join(fields)})" if replaced_whole else "")
        problems = [(f"{key}.{name}", f"is missing{why}") for name in fields if name not in value]
        return problems + [p for name, field in fields.items() if name in value
                           for p in field(value[name], f"{key}.{name}")]
    return check


STRINGS = _array(STRING, "an array of strings")

# The keys of policies/rego/data.yaml and the shape the shipped rules read them in.
SHAPES: dict[str, Check] = {
    "role_tools": _table(STRINGS, "a table of role = [tool patterns]"),
    "egress_allowlist": STRINGS,
    "secret_destinations": _table(STRINGS, "a table of secret name = [host patterns]"),
    "approval": _record({"roles": STRINGS, "two_person_risk": NUMBER}),
    "risk": _record({"per_step": NUMBER, "write": NUMBER,
                     "tags": _table(NUMBER, "a table of tag = number"),
                     "large_plan_steps": WHOLE, "large_plan": NUMBER}),
    "limits": _record({"max_steps": WHOLE, "max_write_steps": WHOLE}),
    "batch_window": _record({"start_hour": WHOLE, "end_hour": WHOLE, "weekends": BOOLEAN}),
    "tool_regions": _table(STRING, "a table of tool = region"),
    "host_regions": _table(STRING, "a table of host pattern = region"),
    "secret_patterns": _array(_record({"kind": STRING, "pattern": STRING}, replaced_whole=False),
                              "an array of tables with kind and pattern"),
    "sensitive_key_words": STRINGS,
    "sensitive_value_min_length": WHOLE,
    "sensitive_value_min_entropy": NUMBER,
}


def policy_data_problems(policy_data: Mapping[str, Any]) -> list[Problem]:
    """(setting, problem) for each known ``[policy.data]`` key of the wrong shape, and for
    each NaN or infinity anywhere in it, known key or not."""
    shapes = [problem for key, value in policy_data.items() if key in SHAPES
              for problem in SHAPES[key](value, f"policy.data.{key}")]
    return shapes + [(key, "must be a finite number: TOML's nan and inf have no JSON form, so "
                           "the policies could not be given their data")
                     for key in _non_finite(policy_data, "policy.data")]


def _non_finite(value: Any, key: str) -> list[str]:
    """Where ``value`` holds a NaN or an infinity (TOML writes them ``nan``, ``inf``)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [key]
    if isinstance(value, dict):
        return [found for name, item in value.items()
                for found in _non_finite(item, f"{key}.{toml_key(name)}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in _non_finite(item, f"{key}[{index}]")]
    return []

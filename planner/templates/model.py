"""The template contract: a plan skeleton with typed parameters and the goals it answers."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tools import BatonError
from tools.redaction import redact

from ..plan import STEP_ID, is_reference
from .backtracking import pattern_problem, too_slow

TEMPLATE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
PARAM_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,39})\s*\}\}")
# Names instantiate() fills in itself: {{goal}} is the requester's goal text. A parameter
# of that name would be captured and bounds-checked, then replaced by the whole goal.
RESERVED_PARAM_NAMES = frozenset({"goal"})
# A pattern that matches every one of these bounds nothing worth the name: it lets
# through a long run of text, a path out of the workspace and shell syntax at once.
# Neither "" nor a newline is a probe, so that .+ and .* (no DOTALL) are caught too.
CATCH_ALL_PROBES = ("a" * 500, "../../etc/passwd", "$(rm -rf /)")


class TemplateError(BatonError):
    """A template file or template use is wrong (bad file, bad parameter, version clash)."""

    code = "template_error"


class ParamType(str, enum.Enum):
    """The types a template parameter may have."""

    STR = "str"
    INT = "int"
    NUMBER = "number"
    BOOL = "bool"


#: The parameter types that min and max bound.
NUMBER_TYPES = (ParamType.INT, ParamType.NUMBER)


class TemplateParam(BaseModel):
    """One typed parameter of a template, with the bounds a value must stay within."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=PARAM_NAME_PATTERN, description="Parameter name used as {name}.")
    type: ParamType = Field(default=ParamType.STR, description="str, int, number or bool.")
    pattern: str | None = Field(
        default=None, description="Regex a str value must match in full (e.g. '^[\\w.-]+\\.csv$')."
    )
    enum: tuple[str | int | float | bool, ...] | None = Field(
        default=None, description="The only values allowed (compared case-insensitively for str)."
    )
    min: float | None = Field(default=None, description="Smallest value allowed (int and number).")
    max: float | None = Field(default=None, description="Largest value allowed (int and number).")
    description: str = Field(default="", description="What the parameter means, for people.")
    default: str | int | float | bool | None = Field(
        default=None, description="Value used when the goal does not give one; none: required."
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_PARAM_NAMES:
            raise ValueError(reserved_name_message(value))
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regex: {exc}") from None
            # Matched against goal text and probed below: one that may backtrack without
            # bound would hang every plan, so it is refused here (see backtracking).
            slow = pattern_problem(value)
            if slow is not None:
                name = info.data.get("name", "?")
                raise ValueError(f"parameter {name}: pattern {value!r} may take too long to "
                                 f"match: {slow}")
        return value

    @model_validator(mode="after")
    def _sane_limits(self) -> TemplateParam:
        misplaced = number_bounds_problem(self.name, self.type, self.min, self.max)
        if misplaced:
            raise ValueError(misplaced)
        # Every comparison with NaN is false, so a NaN limit would let every value through.
        problems = _limit_problems(self.min, self.max)
        if problems:
            raise ValueError(f"parameter {self.name}: {'; '.join(problems)}")
        return self

    def masked(self, secret_values: Iterable[str]) -> TemplateParam:
        """This parameter with each secret value masked (see :meth:`Template.masked`)."""
        return _masked_fields(self, secret_values, ("name", "pattern", "enum", "description",
                                                    "default"))

    @property
    def required(self) -> bool:
        """True when the goal must supply a value."""
        return self.default is None

    @property
    def unbounded_by(self) -> str | None:
        """What this parameter lacks for its values to be bounded, or None when they are.

        An enum or a pattern bounds any type (a pattern is matched against the value's
        text) unless the pattern matches anything (see :func:`matches_anything`); a
        yes/no value is bounded by its type; min and max bound numbers only when both
        are given, and never text.
        """
        if self.enum is not None or self.type is ParamType.BOOL:
            return None
        loose = self.pattern is not None and matches_anything(self.pattern)
        if self.pattern is not None and not loose:
            return None
        lacks = f"pattern {self.pattern!r} matches anything" if loose else ""
        if self.type is ParamType.STR:
            return lacks or "no pattern or enum"
        if self.min is not None and self.max is not None:
            return None
        if self.min is None and self.max is None:
            missing = "no min and max" if loose else "no pattern, enum, or min and max"
        else:
            missing = "no max" if self.max is None else "no min"
        return "; ".join(filter(None, (lacks, missing)))


class ParamBounds(BaseModel):
    """Bounds given for a parameter made from a plan's value (``baton templates add
    --from-plan``), before the value's type is known."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: str | None = Field(default=None, description="Regex the value must match in full.")
    enum: tuple[str, ...] | None = Field(
        default=None, description="The only values allowed, as text; typed like the parameter."
    )
    min: float | None = Field(default=None, description="Smallest value allowed (numbers).")
    max: float | None = Field(default=None, description="Largest value allowed (numbers).")

    @model_validator(mode="after")
    def _sane_limits(self) -> ParamBounds:
        problems = _limit_problems(self.min, self.max)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def number_bounds_problem(name: str, kind: ParamType, low: float | None,
                          high: float | None) -> str | None:
    """Why min or max cannot be given to parameter ``name`` of type ``kind``; None if they can.

    They bound only numbers: ignored on text or yes/no, they would let every value through a
    template its author believes bounded.
    """
    if (low is None and high is None) or kind in NUMBER_TYPES:
        return None
    return (f"parameter {name} is a {kind.value} parameter: min and max bound only int and "
            "number parameters")


def _limit_problems(low: float | None, high: float | None) -> list[str]:
    """Why ``low`` and ``high`` cannot bound a number (not finite, or low above high); [] if fine."""
    problems = [f"{label} must be a finite number, not {value:g}"
                for label, value in (("min", low), ("max", high))
                if value is not None and not math.isfinite(value)]
    if not problems and low is not None and high is not None and low > high:
        problems.append(f"min {low:g} is above max {high:g}")
    return problems


def reserved_name_message(name: str) -> str:
    """Why ``name`` cannot name a parameter."""
    return (f"parameter name {name!r} is reserved: {{{{{name}}}}} is the requester's goal text "
            "in a template's plan; choose another name")


def matches_anything(pattern: str) -> bool:
    """True when ``pattern`` matches in full every one of :data:`CATCH_ALL_PROBES`.

    A pattern that cannot be tried on them in bounded time (a parameter refuses one) is
    taken to bound nothing.
    """
    if any(too_slow(pattern, length=len(probe)) for probe in CATCH_ALL_PROBES):
        return True
    return all(re.fullmatch(pattern, probe) for probe in CATCH_ALL_PROBES)


def unbounded_params(params: tuple[TemplateParam, ...] | list[TemplateParam]) -> list[TemplateParam]:
    """The parameters whose values nothing bounds (see :attr:`TemplateParam.unbounded_by`)."""
    return [param for param in params if param.unbounded_by is not None]


def unbounded_message(params: list[TemplateParam]) -> str:
    """Why a pre-approved template with these unbounded parameters is refused, naming each."""
    named = ", ".join(f"{p.name} ({p.type.value}: {p.unbounded_by})" for p in params)
    message = ("a pre-approved template must bound every parameter, or any value would be a "
               "standard change; give each a pattern or an enum (numbers: or both min and max); "
               f"unbounded: {named}")
    if any(p.pattern is not None and matches_anything(p.pattern) for p in params):
        probes = ", ".join((repr(probe) if len(probe) < 20 else f"{probe[0]!r} * {len(probe)}")
                           for probe in CATCH_ALL_PROBES)
        message += f" (a pattern that matches every one of {probes} bounds nothing)"
    return message


class Template(BaseModel):
    """A reusable plan: a skeleton with ``{{param}}`` placeholders and the goals that select it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=TEMPLATE_NAME_PATTERN, description="Template name, e.g. csv-total.")
    version: int = Field(default=1, ge=1, description="Version; the newest one is used for matching.")
    description: str = Field(default="", description="What the plan does, for people.")
    pre_approved: bool = Field(
        default=False, description="Instances within bounds are standard changes for policies."
    )
    approved_by: str | None = Field(
        default=None,
        description="Who marked it pre-approved: saving stamps the acting user (a file's own "
        "value is ignored). Their own plans are not standard changes, and without it no "
        "instance is one.")
    example_goals: tuple[str, ...] = Field(
        default=(), description="Goals this template answers; used to suggest the nearest ones."
    )
    patterns: tuple[str, ...] = Field(
        min_length=1,
        description="Goal phrases with {param} captures, (a|b) choices and [optional] words, "
        "or 're:' followed by a regex with named groups. Matched in full, case-insensitively.",
    )
    params: tuple[TemplateParam, ...] = Field(default=(), description="Typed parameters.")
    plan: dict[str, Any] = Field(
        description="Plan skeleton ({goal?, steps}); strings may hold {{param}} placeholders."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        names = [p.name for p in self.params]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"parameter(s) declared twice: {', '.join(duplicates)}")
        if not isinstance(self.plan.get("steps"), list) or not self.plan["steps"]:
            raise ValueError("plan.steps must be a non-empty list of steps")
        unknown = sorted(placeholders(self.plan) - set(names) - RESERVED_PARAM_NAMES)
        if unknown:
            raise ValueError(f"plan uses undeclared parameter(s): {', '.join(unknown)}")
        misplaced = misplaced_placeholders(self.plan["steps"])
        if misplaced:
            where, placeholder = misplaced[0]
            raise ValueError(
                f"{where} holds {placeholder!r}: parameters fill argument values only (inside "
                "a step's args, never a reference's target; a step's why may mention them): "
                "there the template's user would choose what the plan runs, not a value it "
                "runs with")
        unbounded = unbounded_params(self.params)
        if self.pre_approved and unbounded:
            raise ValueError(unbounded_message(unbounded))
        goal_text = goal_placeholders(self.plan["steps"])
        if self.pre_approved and goal_text:
            raise ValueError(
                "a pre-approved template may not put {{goal}} in its steps: the goal is the "
                "requester's free text, which no bound limits, so any text would be a standard "
                f"change; used at {', '.join(goal_text)}")
        return self

    def param(self, name: str) -> TemplateParam:
        """The parameter called ``name`` (KeyError if absent)."""
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def to_document(self) -> dict[str, Any]:
        """The template as plain data, in the YAML file layout."""
        return self.model_dump(mode="json", exclude_defaults=False)

    def masked(self, secret_values: Iterable[str]) -> Template:
        """This template as a reader may see it: each secret value masked as ``[REDACTED]``.

        One saved before its secret was configured still holds the value. Only the view
        changes, and it is not validated again (a masked name or placeholder need not be
        well formed): never save or plan from what this returns.
        """
        values = [value for value in secret_values if value]
        if not values:
            return self
        shown = _masked_fields(self, values, ("name", "description", "example_goals",
                                              "patterns", "plan"))
        return shown.model_copy(update={"params": tuple(p.masked(values) for p in self.params)})


def _masked_fields(model: BaseModel, secret_values: Iterable[str], fields: tuple[str, ...]) -> Any:
    """A copy of ``model`` with ``secret_values`` masked in ``fields`` (tuples stay tuples)."""
    values = list(secret_values)
    update = {}
    for field in fields:
        value = getattr(model, field)
        masked = redact(value, values)
        update[field] = tuple(masked) if isinstance(value, tuple) else masked
    return model.model_copy(update=update)


def misplaced_placeholders(steps: list[Any]) -> list[tuple[str, str]]:
    """Each ``{{param}}`` in ``steps`` outside an argument value, as (where, the placeholder):
    in a step's ``tool``, ``id``, ``depends_on``, ``retry`` or ``timeout_s``, its
    whole ``args``, or a reference's target. Substituted there, the template's user would
    pick which tool runs, rewire the graph or pick which output a step reads."""
    found: list[tuple[str, str]] = []
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue  # not a step: the plan made from it is refused as malformed
        label = f"plan.steps[{index}]"
        if isinstance(step.get("id"), str) and STEP_ID.match(step["id"]):
            label += f" ({step['id']})"
        for key, value in step.items():
            if key == "why":
                continue  # text for people, naming the values (authoring's _name_in_why)
            args = key == "args" and isinstance(value, dict) and not is_reference(value)
            _find_misplaced(value, f"{label}.{key}", found, in_args=args)
    return found


def _find_misplaced(value: Any, where: str, found: list[tuple[str, str]], *,
                    in_args: bool) -> None:
    if isinstance(value, str):
        placeholder = None if in_args else PLACEHOLDER.search(value)
        if placeholder:
            found.append((where, placeholder.group(0)))
    elif isinstance(value, dict):
        # A reference's target is never a parameter, at any depth of the arguments.
        inside = in_args and not is_reference(value)
        for key, item in value.items():
            _find_misplaced(item, f"{where}.{key}", found, in_args=inside)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _find_misplaced(item, f"{where}[{index}]", found, in_args=in_args)


def goal_placeholders(steps: list[Any]) -> list[str]:
    """Where in ``steps`` a ``{{goal}}`` placeholder is, as ``plan.steps[0] (id).args.text``."""
    found: list[str] = []
    for index, step in enumerate(steps):
        label = f"plan.steps[{index}]"
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            label += f" ({step['id']})"
        _find_goal(step, label, found)
    return found


def _find_goal(value: Any, where: str, found: list[str]) -> None:
    if isinstance(value, str):
        if "goal" in PLACEHOLDER.findall(value):
            found.append(where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _find_goal(item, f"{where}.{key}", found)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _find_goal(item, f"{where}[{index}]", found)


def placeholders(value: Any) -> set[str]:
    """Names of every ``{{param}}`` placeholder inside ``value``."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        found: set[str] = set()
        for item in value.values():
            found |= placeholders(item)
        return found
    if isinstance(value, list | tuple):
        found = set()
        for item in value:
            found |= placeholders(item)
        return found
    return set()

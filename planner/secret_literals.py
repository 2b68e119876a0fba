"""Keeping configured secret values out of stored plans, and out of what readers are shown.

A plan is read by everyone who may read plans (auditors included), sent to the
model again when revised, and judged by approvers; a secret written into it
literally would be shown to all of them. A version holding one is stored
INVALID with the value masked, and a problem says where it was and how to
refer to the secret instead (``${secret:NAME}``).

A version stored before its secret was configured still holds the value: it is
shown masked (:func:`masked_version`, the stored bytes and hash untouched) and
found by :func:`held_secrets` so that it neither runs nor becomes a template.
An argument holding the mask mark itself (copied from such a view) is found by
:func:`masked_mark_problems`: a tool would receive ``[REDACTED]``, not a secret.

A template is read as widely as a plan and copied into every plan made from it: one
holding a value is refused before it is saved (:func:`template_secret_problems`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from tools.redaction import (
    ESCAPE_MARKS,
    REDACTED,
    is_number_text,
    number_holds,
    redact,
    secret_forms,
)

from .plan import Plan
from .problems import Problem, ProblemCode
from .versions import StoredVersion

# What a reader is shown of a version that may hold a secret value: its text, never its
# identity (plan id, version, the hash approvals bind to) nor its lifecycle.
_SHOWN_TEXT = ("goal", "plan", "origin", "problems", "feedback", "document", "error")

Describe = Callable[[str | None], str]  # the name of a value found -> the problem's message


def configured_secret_problems(document: Any, secrets: Mapping[str, str | None]
                               ) -> tuple[tuple[Problem, ...], Any]:
    """Where ``document`` holds a secret value, and a copy of it with each one masked.

    ``secrets`` maps each value to look for to its setting name (None: a credential
    that has no name to refer to, such as the LLM API key). Values are matched anywhere
    inside strings, keys included; longest first, so one that contains another is named.
    """
    return _scan(document, secrets, ProblemCode.CONFIGURED_SECRET, _not_stored)


def held_secrets(plan: Plan, secrets: Mapping[str, str | None]) -> tuple[Problem, ...]:
    """Where a stored ``plan`` holds a secret value (stored before the secret was configured)."""
    return _scan(plan.to_wire(), secrets, ProblemCode.CONFIGURED_SECRET, _held)[0]


def template_secret_problems(document: Any, secrets: Mapping[str, str | None]
                             ) -> tuple[Problem, ...]:
    """Where a template's ``document`` (its YAML layout) holds a secret value: any field,
    the description, example goals, patterns and parameters as much as the plan skeleton."""
    return _scan(document, secrets, ProblemCode.CONFIGURED_SECRET, _in_template,
                 steps_path="$.plan.steps")[0]


def masked_mark_problems(plan: Plan) -> tuple[Problem, ...]:
    """Where ``plan``'s arguments hold ``[REDACTED]``, what a masked view shows for a secret."""
    arguments = {"steps": [{"id": step.id, "args": step.args} for step in plan.steps]}
    return _scan(arguments, {REDACTED: None}, ProblemCode.MASKED_VALUE, _masked_mark)[0]


def masked_version(stored: StoredVersion, secret_values: Iterable[str]) -> StoredVersion:
    """``stored`` as a reader may see it: each secret value masked as ``[REDACTED]``.

    Only the view changes: ``plan_hash`` stays the stored hash that approvals bind to (the
    masked plan no longer hashes to it, so never run or approve what this returns).
    """
    values = [value for value in secret_values if value]
    data = stored.model_dump(mode="json")
    text = {key: data[key] for key in _SHOWN_TEXT}
    masked = redact(text, values)
    if masked == text:
        return stored
    try:
        return StoredVersion.model_validate({**data, **masked})
    except ValidationError:
        # A value masked where the plan's shape needs its text (a step id, a reference):
        # shown as a document that is not a well-formed plan, like any such document.
        plan = masked["plan"]
        return StoredVersion.model_validate({**data, **masked, "document": plan,
                                             "plan": {"goal": plan["goal"], "steps": []}})


def _scan(document: Any, secrets: Mapping[str, str | None], code: ProblemCode,
          describe: Describe, *, steps_path: str = "$.steps") -> tuple[tuple[Problem, ...], Any]:
    """Problems of ``code`` where ``document`` holds one of ``secrets``, and a masked copy.

    Each value is looked for as written and in every escaped form that masking hides
    (:func:`tools.redaction.secret_forms`: JSON- and repr-escaped): a document holding
    ``crm\\"key`` holds ``crm"key`` for whoever reads it unescaped. One problem per value
    and string, whichever forms it holds.
    A number (never a bool) holds a value that reads as digits as masking finds it
    (:func:`tools.redaction.number_holds`): ``{"pin": 987654321}`` holds ``"987654321"``.

    A problem inside an item of the list at ``steps_path`` names that step's id, masked
    too: a step id may itself be one of the values.
    """
    values = [v for v in secrets if v]
    # Longest first, so that a value (or form) containing another is masked whole.
    ordered = sorted(((form, value) for value in values for form in secret_forms(value)),
                     key=lambda item: -len(item[0]))
    longest_first = sorted(values, key=len, reverse=True)
    # Only values a number's text can hold are looked for in numbers (most plans hold none).
    numeric = [value for value in values if is_number_text(value)]
    problems: list[Problem] = []

    def found_in_number(number: Any, path: str, step: str | None) -> Any:
        held = [value for value in numeric if number_holds(number, value)]
        problems.extend(Problem(code=code, step=step, path=path, message=describe(secrets[value]))
                        for value in held)
        return REDACTED if held else number

    def found(text: str, path: str, step: str | None) -> str:
        held: list[str] = []
        for form, value in ordered:
            if form in text:
                text = text.replace(form, REDACTED)
                held.append(value)
        if any(mark in text for mark in (*ESCAPE_MARKS, "+")):  # "+": a space, as a form writes it
            # Escaped character by character (\u002B as .NET writes a "+", &amp;, %2D): as
            # masking finds it, so a plan holds no value that an output would have masked.
            for value in longest_first:
                if value not in held and (unescaped := redact(text, [value])) != text:
                    text = unescaped
                    held.append(value)
        problems.extend(Problem(code=code, step=step, path=path, message=describe(secrets[value]))
                        for value in dict.fromkeys(held))
        return text

    def masked(value: Any, path: str, step: str | None) -> Any:
        if isinstance(value, str):
            return found(value, path, step)
        if isinstance(value, Mapping):
            copy = {}
            for k, v in value.items():
                # The path names the key as masked: a secret used as a key must not be quoted.
                key = found(str(k), f"{path} (key)", step)
                copy[key] = masked(v, f"{path}.{key}", step)
            return copy
        if isinstance(value, list | tuple):
            return [masked(item, f"{path}[{i}]",
                           _step_id(path == steps_path, item, values) or step)
                    for i, item in enumerate(value)]
        return found_in_number(value, path, step) if numeric else value

    copy = masked(document, "$", None)
    return tuple(problems), copy


def _step_id(in_steps: bool, item: Any, values: list[str]) -> str | None:
    """The id of a step ``item``, each of ``values`` in it masked (problems are shown and stored)."""
    if in_steps and isinstance(item, Mapping) and isinstance(item.get("id"), str):
        return redact(item["id"], values)
    return None


def _not_stored(name: str | None) -> str:
    if name is None:
        return ("holds a configured credential (the LLM API key or a password in a configured "
                "URL); it was not stored. Never write credentials into a plan")
    return (f"holds the value of the configured secret {name}; it was not stored. Write "
            f"${{secret:{name}}} where the tool takes a secret (an HTTP header) instead")


def _held(name: str | None) -> str:
    if name is None:
        return ("holds a configured credential (the LLM API key or a password in a configured "
                "URL), stored before such values were refused; revise the plan without it")
    return (f"holds the value of the configured secret {name}, stored before such values "
            f"were refused; revise the plan to write ${{secret:{name}}} where the tool takes "
            "a secret (an HTTP header) instead")


def _in_template(name: str | None) -> str:
    # Short: a template can hold it in many places; the caller says once what to do instead.
    if name is None:
        return ("holds a configured credential (the LLM API key or a password in a "
                "configured URL)")
    return f"holds the value of the configured secret {name}"


def _masked_mark(_: str | None) -> str:
    return (f"holds {REDACTED}, the mark shown where a secret's value was hidden (from a "
            "reader or from the planner): the tool would receive that text, not the secret. "
            "Write ${secret:NAME} where the tool takes a secret (an HTTP header), or the "
            "value itself if it is not a secret")


__all__ = ["configured_secret_problems", "held_secrets", "masked_mark_problems", "masked_version",
           "template_secret_problems"]

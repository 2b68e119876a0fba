"""Keeping configured secret values out of stored plans.

A plan is read by everyone who may read plans (auditors included), sent to the
model again when revised, and judged by approvers; a secret written into it
literally would be shown to all of them. A version holding one is stored
INVALID with the value masked, and a problem says where it was and how to
refer to the secret instead (``${secret:NAME}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.redaction import REDACTED

from .problems import Problem, ProblemCode


def configured_secret_problems(document: Any, secrets: Mapping[str, str | None]
                               ) -> tuple[tuple[Problem, ...], Any]:
    """Where ``document`` holds a secret value, and a copy of it with each one masked.

    ``secrets`` maps each value to look for to its setting name (None: a credential
    that has no name to refer to, such as the LLM API key). Values are matched anywhere
    inside strings, keys included; longest first, so one that contains another is named.
    """
    ordered = sorted(((v, n) for v, n in secrets.items() if v), key=lambda item: -len(item[0]))
    problems: list[Problem] = []

    def masked(value: Any, path: str, step: str | None) -> Any:
        if isinstance(value, str):
            return _masked_text(value, path, step, ordered, problems)
        if isinstance(value, Mapping):
            copy = {}
            for k, v in value.items():
                # The path names the key as masked: a secret used as a key must not be quoted.
                key = _masked_text(str(k), f"{path} (key)", step, ordered, problems)
                copy[key] = masked(v, f"{path}.{key}", step)
            return copy
        if isinstance(value, list | tuple):
            return [masked(item, f"{path}[{i}]", _step_id(path, i, item) or step)
                    for i, item in enumerate(value)]
        return value

    copy = masked(document, "$", None)
    return tuple(problems), copy


def _step_id(path: str, index: int, item: Any) -> str | None:
    if path == "$.steps" and isinstance(item, Mapping) and isinstance(item.get("id"), str):
        return item["id"]
    return None


def _masked_text(text: str, path: str, step: str | None, secrets: list[tuple[str, str | None]],
                 problems: list[Problem]) -> str:
    for value, name in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
            problems.append(Problem(code=ProblemCode.CONFIGURED_SECRET, step=step, path=path,
                                    message=_message(name)))
    return text


def _message(name: str | None) -> str:
    if name is None:
        return ("holds a configured credential (the LLM API key or a password in a configured "
                "URL); it was not stored. Never write credentials into a plan")
    return (f"holds the value of the configured secret {name}; it was not stored. Write "
            f"${{secret:{name}}} where the tool takes a secret (an HTTP header) instead")


__all__ = ["configured_secret_problems"]

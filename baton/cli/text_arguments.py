"""Refuse command-line text that cannot be encoded or stored, before any command runs.

Bytes that are not valid UTF-8 reach Python as lone surrogates; a NUL cannot be stored in
PostgreSQL. Either crashed deep inside a command (printing, hashing or storing it) with a raw
UnicodeEncodeError traceback. Checked once here, for every text argument and option of every
command, as click parses it: a usage error (exit 2) naming the option or argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from planner.json_values import scalar_fault

from .common import EXIT_USAGE, fail

# (command, parameter) pairs whose command refuses such text itself, with its own code and
# message: `baton plan` and `baton revise` answer "the goal/feedback cannot be recorded"
# (a usage error too, exit 2, code unstorable_text).
CHECKED_BY_THE_COMMAND = frozenset({("plan", "goal"), ("revise", "feedback")})

_GUARDED = "_baton_text_guarded"


class TextCheckedGroup(TyperGroup):
    """The root group: every text parameter in the command tree is checked as it is parsed."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        for command in _tree(self):
            for param in command.params:
                if (command.name, param.name) not in CHECKED_BY_THE_COMMAND:
                    _guard(param)
        return super().main(args, *rest, **kwargs)


def text_fault(value: Any) -> str | None:
    """Why a parsed parameter value cannot be used, or None (lists: their first bad item)."""
    if isinstance(value, str):
        return scalar_fault(value)
    if isinstance(value, list | tuple):
        return next((fault for item in value if (fault := text_fault(item))), None)
    return None


def _tree(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _tree(sub)


def _guard(param: Any) -> None:
    """Check ``param``'s value before its own callback (idempotent: a tree may be reused)."""
    if getattr(param, _GUARDED, False):
        return
    original = param.callback

    def checked(ctx: typer.Context, param: Any, value: Any) -> Any:
        fault = text_fault(value)
        if fault is not None:
            fail(f"{_label(param)}: {fault}", EXIT_USAGE)
        return original(ctx, param, value) if original is not None else value

    param.callback = checked
    setattr(param, _GUARDED, True)


def _label(param: Any) -> str:
    """``option --comment`` or ``argument RUN_ID``, as the user typed or read it in --help."""
    if getattr(param, "param_type_name", "") == "option":
        longest = max(param.opts, key=len)
        return f"option {longest}"
    return f"argument {param.metavar or param.name.upper()}"

"""Validation problems: what is wrong with a plan, where, and what to do about it."""

from __future__ import annotations

import enum
import unicodedata

from pydantic import BaseModel, ConfigDict, Field

from tools import BatonError


class ProblemCode(str, enum.Enum):
    """Stable codes for every static validation rule (scripts and the LLM repair loop use them)."""

    MALFORMED_DOCUMENT = "malformed_document"
    WRONG_SHAPE = "wrong_shape"
    NO_STEPS = "no_steps"
    TOO_MANY_STEPS = "too_many_steps"
    MALFORMED_ID = "malformed_id"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_TOOL = "unknown_tool"
    INVALID_ARGS = "invalid_args"
    UNKNOWN_ARG = "unknown_arg"
    MALFORMED_REF = "malformed_ref"
    # "${secret:" that starts no whole ${secret:NAME}: no rule judges it, nothing fills it
    MALFORMED_SECRET_REF = "malformed_secret_ref"
    REF_UNKNOWN_STEP = "ref_unknown_step"
    REF_UNKNOWN_FIELD = "ref_unknown_field"
    REF_TYPE_MISMATCH = "ref_type_mismatch"
    UNKNOWN_DEPENDENCY = "unknown_dependency"
    SELF_DEPENDENCY = "self_dependency"
    CYCLE = "cycle"
    CONFIGURED_SECRET = "configured_secret"  # a configured secret's value written into the plan
    MASKED_VALUE = "masked_value"  # an argument holding [REDACTED], the mark of a hidden value
    URL_CREDENTIAL = "url_credential"  # a URL's credential that could not be masked in place


def printable(text: str) -> str:
    """``text`` with control and format characters escaped as repr writes them (``\\n``, ``\\x1b``).

    An id is quoted raw in a problem's line: a malformed one holding a line break or an
    escape sequence would split or repaint that line. Ordinary text comes back unchanged.
    """
    return "".join(ch if ch.isprintable() or unicodedata.category(ch) == "Zs"
                   else repr(ch)[1:-1] for ch in text)


class Problem(BaseModel):
    """One thing wrong with a plan."""

    model_config = ConfigDict(frozen=True)

    code: ProblemCode = Field(description="Stable rule code.")
    step: str | None = Field(default=None, description="Id of the step at fault, if any.")
    path: str = Field(default="$", description="JSON path of the offending value.")
    message: str = Field(description="What is wrong and how to fix it.")

    def __str__(self) -> str:
        where = f"step {printable(self.step)}: " if self.step else ""
        return f"[{self.code.value}] {where}{printable(self.path)}: {self.message}"


def too_many_steps(count: int, limit: int) -> Problem:
    """The problem of a plan with ``count`` steps, over ``limit``: its steps are not checked
    (a reply thousands of steps long would cost a check, and a problem, per step)."""
    return Problem(code=ProblemCode.TOO_MANY_STEPS, path="$.steps",
                   message=f"the plan has {count} steps, more than the limit of {limit}; "
                           "split the goal or merge steps")


class InvalidPlanError(BatonError):
    """A plan failed static validation; carries every problem."""

    code = "invalid_plan"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the plan is invalid ({len(problems)} problem(s)):\n{lines}")

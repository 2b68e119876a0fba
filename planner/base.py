"""What every planner returns and raises: the shared shape of planning."""

from __future__ import annotations

import enum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from tools import BatonError, ToolRegistry

from .plan import Plan, TemplateOrigin
from .problems import Problem

# No stored version number is larger (the databases' integer); the CLI and the API bound
# --version / "version" by it, so a larger one is a usage error, not an overflow in a lookup.
MAX_VERSION = 2**31 - 1


class PlannerKind(str, enum.Enum):
    """Where a plan version came from."""

    LLM = "llm"
    TEMPLATE = "template"
    FILE = "file"


class ModelExchange(BaseModel):
    """One request to a model and its reply, as recorded in the planning trace and the ledger."""

    model_config = ConfigDict(frozen=True)

    model: str = Field(description="Model name sent with the request.")
    endpoint: str = Field(description="Base URL of the endpoint (never the key).")
    prompt_sha256: str = Field(description="SHA-256 of the canonical JSON of the messages sent.")
    response_format: str = Field(description="json_schema, json_object or text.")
    reply: str | None = Field(default=None, description="The full reply text.")
    refusal: str | None = Field(
        default=None, description="The model's refusal, in full, when it refused to reply.")
    finish_reason: str | None = Field(default=None, description="Why the model stopped.")
    prompt_tokens: int | None = Field(default=None, description="Tokens in the prompt.")
    completion_tokens: int | None = Field(default=None, description="Tokens in the reply.")
    latency_ms: float = Field(description="Wall time of the request.")
    error: str | None = Field(default=None, description="Error of this request, if it failed.")
    problems: tuple[Problem, ...] = Field(
        default=(), description="Validation problems of the candidate plan in this reply."
    )


class PlanningTrace(BaseModel):
    """Everything the planner asked and got, returned with the plan for the ledger."""

    model_config = ConfigDict(frozen=True)

    planner: PlannerKind = Field(description="Which planner produced it.")
    exchanges: tuple[ModelExchange, ...] = Field(default=(), description="Model calls, in order.")
    tools_offered: tuple[str, ...] = Field(default=(), description="Tools shown to the model.")
    notes: tuple[str, ...] = Field(default=(), description="Anything else worth recording.")


class PlanResult(BaseModel):
    """A valid plan and how it was made."""

    model_config = ConfigDict(frozen=True)

    plan: Plan = Field(description="The validated plan.")
    planner: PlannerKind = Field(description="Which planner produced it.")
    origin: TemplateOrigin | None = Field(default=None, description="Template it instantiates.")
    trace: PlanningTrace = Field(description="How it was made.")


class PlanningError(BatonError):
    """No valid plan could be produced; carries the trace and the last problems."""

    code = "planning_failed"

    def __init__(self, message: str, *, trace: PlanningTrace | None = None,
                 problems: list[Problem] | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.trace = trace
        self.problems = list(problems or [])


class Planner(Protocol):
    """Turns a goal (or a previous plan plus feedback) into a validated plan."""

    def plan(self, goal: str, registry: ToolRegistry) -> PlanResult:
        """A plan for ``goal`` using only tools in ``registry``; ``PlanningError`` otherwise."""
        ...

    def revise(self, previous: Plan, feedback: str, registry: ToolRegistry, *,
               rejection: str | None = None) -> PlanResult:
        """A new plan that addresses ``feedback`` on ``previous`` (``rejection``: why an
        approver rejected it, when they did; a planner may weigh it or ignore it)."""
        ...


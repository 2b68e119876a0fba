"""The planner: the plan contract, static validation, and the planners that write plans."""

from .plan import (
    Plan,
    Reference,
    Step,
    TemplateOrigin,
    canonical_json,
    follow_path,
    is_reference,
    iter_references,
    plan_json_schema,
    resolve_references,
    topological_order,
)
from .problems import InvalidPlanError, Problem, ProblemCode

__all__ = [
    "InvalidPlanError",
    "Plan",
    "Problem",
    "ProblemCode",
    "Reference",
    "Step",
    "TemplateOrigin",
    "canonical_json",
    "follow_path",
    "is_reference",
    "iter_references",
    "plan_json_schema",
    "resolve_references",
    "topological_order",
]

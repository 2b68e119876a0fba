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
from .json_values import MAX_ARG_DEPTH, storable
from .loading import PlanFileError, load_plan_document, read_plan_file
from .validation import ValidationReport, validate_plan

__all__ = [
    "MAX_ARG_DEPTH",
    "InvalidPlanError",
    "Plan",
    "PlanFileError",
    "Problem",
    "ProblemCode",
    "Reference",
    "Step",
    "TemplateOrigin",
    "ValidationReport",
    "canonical_json",
    "follow_path",
    "is_reference",
    "iter_references",
    "load_plan_document",
    "plan_json_schema",
    "read_plan_file",
    "resolve_references",
    "storable",
    "topological_order",
    "validate_plan",
]

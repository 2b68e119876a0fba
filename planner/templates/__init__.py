"""The plan library: versioned YAML templates, the template planner and save-as-template."""

from .authoring import template_from_plan
from .loader import (
    SHIPPED_DIR,
    TemplateLibrary,
    load_template_file,
    read_new_template,
    read_template_file,
    saved_file_digest,
    template_file_name,
    template_yaml,
)
from .matching import (NO_MATCH_MESSAGE, NearMiss, TemplateMatch, TemplateMatcher, TemplatePlanner,
                       wording_problem)
from .model import ParamBounds, ParamType, Template, TemplateError, TemplateParam, unbounded_params
from .params import bounds_check, instantiate
from .provenance import (
    PreApproval,
    PreApprovalState,
    SavedRecord,
    TemplateSource,
    file_digest,
    pre_approval_of,
)

__all__ = [
    "NO_MATCH_MESSAGE",
    "SHIPPED_DIR",
    "NearMiss",
    "ParamBounds",
    "ParamType",
    "PreApproval",
    "PreApprovalState",
    "SavedRecord",
    "Template",
    "TemplateError",
    "TemplateLibrary",
    "TemplateMatch",
    "TemplateMatcher",
    "TemplateParam",
    "TemplatePlanner",
    "TemplateSource",
    "bounds_check",
    "file_digest",
    "instantiate",
    "load_template_file",
    "pre_approval_of",
    "read_new_template",
    "read_template_file",
    "saved_file_digest",
    "template_file_name",
    "template_yaml",
    "template_from_plan",
    "unbounded_params",
    "wording_problem",
]

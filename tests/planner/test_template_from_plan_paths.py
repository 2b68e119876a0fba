"""``templates add --from-plan --param NAME=$.path``: a path that reads into a single value
(text, a number, null) is refused in one line, like any other path not in the plan."""

from __future__ import annotations

import pytest

from planner.plan import Plan
from planner.templates import TemplateError, template_from_plan

PLAN = Plan.model_validate({"goal": "Copy sales.csv to backup/sales.csv", "steps": [
    {"id": "copy", "tool": "files.copy",
     "args": {"src": "sales.csv", "dst": "backup/sales.csv", "limit": 3, "note": None}}]})


@pytest.mark.parametrize(("path", "kind"), [
    ("$.steps[0].args.src[0]", "string"),
    ("$.steps.copy.args.src.first", "string"),
    ("$.steps[0].args.limit[0]", "number"),
    ("$.steps[0].args.note.x", "null"),
    ("$.steps[0].id[1]", "string"),
])
def test_a_path_into_a_single_value_is_refused_naming_it(path, kind):
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="copy_file", params={"p": path})
    assert str(caught.value) == (f"parameter p: {path} does not exist in the plan: it reads "
                                 f"into a {kind}, not a list or object")

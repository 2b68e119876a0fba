"""min and max on a str or bool parameter are refused in a template file, as on the CLI.

They bound only numbers: on text or yes/no they were read and ignored, so a template file
with ``{name: code, type: str, min: 1, max: 5}`` loaded and took ``"999999"``, while its
author believed it bounded (``templates add --param-min`` refuses them since 06ab2c4).
"""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from planner.templates import (
    SHIPPED_DIR,
    Template,
    TemplateError,
    TemplateLibrary,
    TemplateParam,
    load_template_file,
    read_new_template,
)


def _document(param: dict) -> dict:
    return {
        "name": "t-text", "example_goals": ["read notes.txt"], "patterns": ["read {code}"],
        "params": [param],
        "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{code}}"}}]},
    }


@pytest.mark.parametrize("kind", ["str", "bool"])
@pytest.mark.parametrize("limits", [{"min": 1, "max": 5}, {"min": 1}, {"max": 5}])
def test_min_or_max_on_a_parameter_that_is_no_number_is_refused_naming_it(kind, limits):
    with pytest.raises(ValidationError) as caught:
        TemplateParam.model_validate({"name": "code", "type": kind, **limits})
    [error] = caught.value.errors()
    assert error["msg"].removeprefix("Value error, ") == (
        f"parameter code is a {kind} parameter: min and max bound only int and number "
        "parameters")


def test_a_template_file_with_min_and_max_on_text_is_refused_naming_the_parameter(tmp_path):
    path = tmp_path / "t-text.v1.yaml"
    path.write_text(yaml.safe_dump(_document({"name": "code", "min": 1, "max": 5})))
    expected = "parameter code is a str parameter: min and max bound only int and number"
    with pytest.raises(TemplateError, match=expected):
        load_template_file(path)
    with pytest.raises(TemplateError, match=expected):
        read_new_template(path)
    with pytest.raises(TemplateError, match=expected):
        TemplateLibrary.load([tmp_path])


@pytest.mark.parametrize("kind", ["int", "number"])
def test_min_and_max_still_bound_numbers(kind):
    param = TemplateParam.model_validate({"name": "n", "type": kind, "min": 1, "max": 5})
    assert (param.min, param.max) == (1, 5)
    template = Template.model_validate(_document({"name": "code", "pattern": "^[a-z.]+$"}))
    assert template.params[0].min is None


def test_the_shipped_templates_still_load():
    library = TemplateLibrary.load([SHIPPED_DIR])
    assert len(library) == len(list(SHIPPED_DIR.glob("*.yaml"))) > 0

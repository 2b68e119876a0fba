"""A malformed template file is one line naming the file, the line and the column."""

from __future__ import annotations

import pytest

from planner.templates import TemplateError, TemplateLibrary, read_new_template


def test_a_malformed_yaml_file_is_one_line_naming_the_file_and_line(tmp_path):
    path = tmp_path / "broken.v1.yaml"
    path.write_text('name: broken\npatterns: [\n  - "x {a}"\nparams: {\n')
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary.load([tmp_path])
    message = caught.value.message
    assert "\n" not in message
    assert message.startswith(f"{path}, line 3, column 3: not valid YAML")
    assert "<unicode string>" not in message


def test_a_malformed_file_being_added_names_its_line_too(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\n  patterns: x\n")
    with pytest.raises(TemplateError) as caught:
        read_new_template(path)
    assert caught.value.message.startswith(f"{path}, line 2, column 11: not valid YAML (")
    assert "fix or remove" not in caught.value.message  # only a library file is read to plan


def test_a_library_file_that_is_not_a_valid_template_says_to_fix_or_remove_it(tmp_path):
    (tmp_path / "odd.v1.yaml").write_text("name: odd\npatterns: []\nplan: {steps: []}\n")
    with pytest.raises(TemplateError, match="fix or remove the file"):
        TemplateLibrary.load([tmp_path])

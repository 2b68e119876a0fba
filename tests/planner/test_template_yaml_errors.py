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


# The reviewer's file (/tmp/rev-planner/add/selfref.yaml): an alias of the mapping that
# holds it, which used to end in a RecursionError traceback.
SELF_REFERENCE = ('name: x\npatterns: ["x"]\n'
                  "plan: &a {steps: [{id: a, tool: files.list, args: {}}], self: *a}\n")


@pytest.mark.parametrize(("text", "where", "shown"), [
    (SELF_REFERENCE, "line 3, column 7", "&a, *a"),
    ('name: x\npatterns: &p ["x"]\nexample_goals: *p\nplan: {steps: []}\n',
     "line 2, column 11", "&p, *p"),
    ("name: x\npatterns: [x]\nplan: {steps: [{id: a, tool: t, args: *nowhere}]}\n",
     "line 3, column 39", "&nowhere, *nowhere"),
])
def test_anchors_and_aliases_are_refused_in_one_line_naming_the_file(tmp_path, text, where,
                                                                     shown):
    path = tmp_path / "x.v1.yaml"
    path.write_text(text)
    for read in (lambda: TemplateLibrary.load([tmp_path]), lambda: read_new_template(path)):
        with pytest.raises(TemplateError) as caught:
            read()
        message = caught.value.message
        assert message.startswith(f"{path}: anchors and aliases ({shown}) are not allowed in "
                                  f"a template ({where}); write each value out")
        assert "\n" not in message


def test_a_template_nested_too_deeply_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("name: deep\npatterns: [x]\nplan: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(TemplateError) as caught:
        read_new_template(path)
    message = caught.value.message
    # libyaml stops at its nesting limit ("exceeded maximum nesting depth", with the line);
    # PyYAML's own parser recurses until the reader stops it ("nested too deeply to read").
    assert message.startswith(f"{path}") and "nest" in message and "\n" not in message


def test_a_saved_template_holds_no_anchors_even_for_a_value_used_twice(tmp_path):
    from planner.templates import Template, template_yaml

    shared = {"path": "a.txt"}
    template = Template.model_validate({
        "name": "twice", "patterns": ["read twice"],
        "plan": {"steps": [{"id": "a", "tool": "files.read", "args": shared},
                           {"id": "b", "tool": "files.read", "args": shared}]}})
    text = template_yaml(template)
    assert "&" not in text and "*" not in text
    path = tmp_path / "twice.v1.yaml"
    path.write_text(text)
    assert TemplateLibrary.load([tmp_path]).get("twice") == template

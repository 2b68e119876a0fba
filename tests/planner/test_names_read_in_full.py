"""Names read with a pattern are read in full: a trailing line break is not let through.

``re.match`` with ``^…$`` matches before a final ``\\n``: a template file named
``notes.yaml\\n`` was read as template ``notes`` (by ``templates add`` when the document has
no name, and as a library file), and an argument key ``total\\n`` was shown as ``$.total``
followed by a line break, splitting the problem's line.
"""

from __future__ import annotations

import pytest

from planner.arg_checks import json_path
from planner.templates import TemplateError, load_template_file, read_new_template

TEMPLATE = ("example_goals: ['Read notes.txt']\npatterns: ['read {path}']\n"
            "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
            "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")


def test_a_template_file_name_ending_in_a_line_break_names_no_template(tmp_path):
    path = tmp_path / "notes.yaml\n"
    path.write_text(TEMPLATE)
    with pytest.raises(TemplateError, match="give the template a name"):
        read_new_template(path)
    with pytest.raises(TemplateError, match="template files are named NAME.vN.yaml"):
        load_template_file(path)


def test_a_template_file_name_without_the_line_break_still_names_it(tmp_path):
    path = tmp_path / "notes.yaml"
    path.write_text(TEMPLATE)
    assert read_new_template(path).name == "notes"
    assert load_template_file(path).name == "notes"


def test_a_key_ending_in_a_line_break_is_quoted_in_a_json_path():
    assert json_path("$", ["total\n"]) == "$['total\\n']"
    assert json_path("$", ["total"]) == "$.total"

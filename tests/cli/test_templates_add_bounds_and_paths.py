"""``baton templates add --from-plan``: bounds fit the parameter's type, paths are read whole.

``--param-min``/``--param-max`` bound numbers: on a text parameter they were saved and
ignored (``templates show`` listed min and max on a str parameter, and any text matched),
so a template believed bounded was not. A path segment was read with ``^...$`` and
``re.match``, which let a line break after ``]`` through (``steps[0]\\n``).
"""

from __future__ import annotations

import pytest

BOUNDS = {"min": ["--param-min", "src=1"], "max": ["--param-max", "src=9"],
          "both": ["--param-min", "src=1", "--param-max", "src=9"]}


@pytest.mark.parametrize("bounds", BOUNDS.values(), ids=BOUNDS.keys())
def test_number_bounds_on_a_text_parameter_are_a_usage_error_naming_it(cli, plan_id, bounds):
    result = cli("--as", "alice", "templates", "add", "--from-plan", plan_id, "--name", "copy-it",
                 "--param", "src=$.steps.load.args.path", *bounds)
    assert result.returncode == 2, result
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "src" in line and "str" in line, line
    assert "copy-it" not in cli("templates", "list").stdout  # nothing was saved


def test_a_text_parameter_may_still_be_bounded_by_a_pattern(cli, plan_id):
    result = cli("--as", "alice", "templates", "add", "--from-plan", plan_id, "--name", "copy-it",
                 "--param", "src=$.steps.load.args.path", "--param-pattern", "src=[a-z]+\\.csv")
    assert result.returncode == 0, result
    assert "copy-it" in cli("templates", "list").stdout


def test_a_path_segment_with_a_line_break_is_refused(cli, plan_id):
    result = cli("--as", "alice", "templates", "add", "--from-plan", plan_id, "--name", "copy-it",
                 "--param", "src=$.steps[0]\n.args.path")
    assert result.returncode != 0, result
    assert "cannot read path segment" in result.stderr
    assert "copy-it" not in cli("templates", "list").stdout

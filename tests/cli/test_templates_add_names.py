"""`baton templates`: a malformed name or option is a usage error (exit 2), one line naming it.

A name no template or parameter can have is refused before anything is read or saved, as
the CLI refuses any other malformed option; nothing is saved.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("extra", "named"), [
    (["--name", "Bad Name"], "--name 'Bad Name' is not a template name"),
    (["--name", "backup-copy", "--param", "Bad=a.csv"], "'Bad' is not a parameter name"),
    (["--name", "backup-copy", "--param", " =a.csv"], "write NAME=JSONPATH or NAME=VALUE"),
    (["--name", "backup-copy", "--param", "src=a.csv", "--param", "src=b.csv"],
     "--param src is given twice"),
], ids=["template name", "parameter name", "blank parameter name", "parameter given twice"])
def test_templates_add_from_plan_with_a_malformed_name_is_a_usage_error_naming_it(
        cli, plan_id, extra, named):
    result = cli("--as", "alice", "templates", "add", "--from-plan", plan_id, *extra)
    assert result.returncode == 2, result
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and named in line, line
    assert "validation error" not in result.stderr
    assert "backup-copy" not in cli("templates", "list").stdout  # nothing was saved


@pytest.mark.parametrize("extra", [
    ["--name", "other"], ["--param", "path=x"], ["--version", "2"],
    ["--description", "mine"], ["--pre-approved"],
])
def test_templates_add_file_refuses_the_options_that_apply_only_to_from_plan(cli, extra):
    result = cli("--as", "alice", "templates", "add", "template.yaml", *extra)
    assert result.returncode == 2, result
    [line] = result.stderr.strip().splitlines()
    assert f"{extra[0]} does not apply to FILE" in line, line
    assert "read-one" not in cli("templates", "list").stdout  # nothing was saved


def test_templates_show_with_a_malformed_name_is_a_usage_error(cli):
    result = cli("templates", "show", "Bad Name")
    assert result.returncode == 2, result
    [line] = result.stderr.strip().splitlines()
    assert "'Bad Name' is not a template name" in line, line
    assert cli("templates", "show", "no-such-template").returncode == 1  # well-formed, absent

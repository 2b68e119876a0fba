"""`baton templates add --from-plan`: a malformed name is one error line, not a traceback.

The line is the CLI's for a refused template (exit 1, as for any TemplateError).
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("extra", "named"), [
    (["--name", "Bad Name"], "template name 'Bad Name'"),
    (["--name", "backup-copy", "--param", "Bad=a.csv"], "parameter name 'Bad'"),
], ids=["template name", "parameter name"])
def test_templates_add_from_plan_with_a_malformed_name_is_one_error_line_naming_it(
        cli, plan_id, extra, named):
    result = cli("--as", "alice", "templates", "add", "--from-plan", plan_id, *extra)
    assert result.returncode == 1, result
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot save plan ") and named in line, line
    assert "validation error" not in result.stderr
    assert "backup-copy" not in cli("templates", "list").stdout  # nothing was saved

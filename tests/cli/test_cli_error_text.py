"""Error lines quote what the user typed as plain text: no markup, no emoji codes, no crash."""

from __future__ import annotations

import pytest

from tests.support.cli_in_process import in_process_baton


@pytest.mark.parametrize("typed", ["[/x]", "[bold]me[/bold]", "a:ledger:b", "x\\[y"])
def test_a_refused_value_is_quoted_as_typed(data_dir, capsys, typed):
    with in_process_baton(capsys) as baton:
        result = baton("token", typed + "\t")  # refused for the tab
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: the user id {typed + chr(9)!r} holds a control "
                                     "character (U+0009); give the name without it")


def test_a_path_with_brackets_is_named_as_written(data_dir, capsys, tmp_path):
    missing = tmp_path / "[red]templates" / "t.yaml"
    with in_process_baton(capsys) as baton:
        result = baton("validate", str(missing))
    assert result.returncode == 2, result.stderr
    assert str(missing) in result.stderr and "\\[" not in result.stderr

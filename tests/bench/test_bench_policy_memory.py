"""``python -m bench.bench_policy_memory``: a usage error below one evaluation, and every row
measured on both engines."""

from __future__ import annotations

import json

import pytest

import bench.bench_policy_memory as memory


@pytest.mark.parametrize("value", ["0", "two"])
def test_a_count_below_one_or_not_a_number_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as stopped:
        memory.main(["--evaluations", value])
    assert stopped.value.code == 2
    assert "argument --evaluations: " in capsys.readouterr().err


def test_each_row_has_both_engines_figures(capsys):
    assert memory.main(["--evaluations", "1"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["rows"]) == {"3_steps", "50_steps", "step_check"}
    for row in figures["rows"].values():
        for mode in ("isolated", "in_process"):
            assert set(row[mode]) == {"kib_per_evaluation", "median_ms"}
    assert figures["evaluator_processes_used"] >= 1

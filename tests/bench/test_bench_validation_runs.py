"""The validation benchmark's big-argument figures still run (they are printed, not asserted)."""

from __future__ import annotations

from pathlib import Path

from bench.bench_validation import big_args_figures
from tools import ToolRegistry
from tools.builtin import register_builtin_tools


def test_the_big_args_figures_run(tmp_path: Path, capsys):
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path)
    big_args_figures(registry, values=200, runs=1)
    assert "build_policy_input" in capsys.readouterr().out

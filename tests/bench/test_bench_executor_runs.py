"""The executor benchmark still runs end to end (figures are printed by the script, not asserted)."""

from __future__ import annotations

from bench.baton_chain import chain_plan
from bench.bench_executor import measure, render


def test_the_chain_plan_is_a_chain():
    plan = chain_plan(4)
    assert [s.depends_on for s in plan.steps] == [(), ("s0",), ("s1",), ("s2",)]
    assert plan.topological_order() == ["s0", "s1", "s2", "s3"]


def test_a_tiny_benchmark_measures_floor_and_a_successful_baton_run(tmp_path):
    figures = measure((3, 6), workdir=tmp_path)
    assert [f.steps for f in figures] == [3, 6]
    assert all(f.floor_ms > 0 and f.baton_ms is not None and f.baton_ms > 0 for f in figures)
    assert "flatness" in render(figures)

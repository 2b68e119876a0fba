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
    assert all(f.baton_async_ms is not None and f.baton_async_ms > 0 for f in figures)
    assert all(f.journal_ms is not None and f.journal_ms > 0 for f in figures)
    table = render(figures)
    assert "flatness, sync" in table and "flatness, async" in table


def test_the_async_chain_uses_the_async_no_op_tool():
    from bench.baton_chain import noop_registry

    plan = chain_plan(2, "noop_async")
    assert {s.tool for s in plan.steps} == {"noop_async"}
    assert noop_registry().get("noop_async").is_async


def test_the_fan_out_plan_has_no_dependencies_and_its_line_prints(monkeypatch):
    import bench.bench_executor as bench_executor
    from bench.baton_chain import fan_plan

    plan = fan_plan(3)
    assert [s.depends_on for s in plan.steps] == [(), (), ()] and len(plan.steps) == 3
    monkeypatch.setattr(bench_executor, "FAN_STEPS", 20)
    line = bench_executor.fan_out_line()
    assert line.startswith("fan-out of 20 independent steps") and "async tool" in line

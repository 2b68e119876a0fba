"""Benchmark: static validation of a 1,000-step plan against the built-in tools.

Prints the median time of ``validate_plan`` over several runs, the cost per
step, and the ratio against two baselines measured in the same run:
``Plan.model_validate`` alone (parsing the contract) and plain jsonschema
validation of every step's arguments (no references, types or graph checks).

Then a plan of two steps, one of whose arguments hold ``--big-args`` values
(200,000 by default) and one reference: ``validate_plan`` on it, what building
the policy input reads of a fresh plan's references (each step's dependencies
and references, every step's data sources), and the whole policy input.

    .venv/bin/python -m bench.bench_validation [--steps 1000] [--runs 7] [--big-args 200000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.cli import log_to_stderr, positive_int  # noqa: E402
from planner import Plan, validate_plan  # noqa: E402
from tools import ToolRegistry  # noqa: E402
from tools.builtin import register_builtin_tools  # noqa: E402

ROW_WIDTH = 4  # values per row of the big argument: an int, a string, a float and a bool


def build_plan(size: int) -> dict[str, Any]:
    """Chains of read → aggregate → query, fanned out and fanned in, with references throughout."""
    steps: list[dict[str, Any]] = []
    i = 0
    while len(steps) < size:
        load, total, pick = f"load_{i}", f"total_{i}", f"pick_{i}"
        steps.append({"id": load, "tool": "files.read", "args": {"path": f"exports/{i}.csv"}})
        steps.append({"id": total, "tool": "table.aggregate",
                      "args": {"csv": {"ref": f"{load}.text"}, "column": "amount", "op": "sum",
                               "group_by": "region"}})
        previous = f"pick_{i - 1}" if i else total
        steps.append({"id": pick, "tool": "json.query",
                      "args": {"expression": "a", "data": {"total": {"ref": f"{total}.value"},
                                                           "before": {"ref": f"{previous}.value"}}}})
        steps.append({"id": f"post_{i}", "tool": "http.request",
                      "args": {"method": "POST", "url": "https://hooks.example.com/finance",
                               "json": {"groups": {"ref": f"{total}.groups"}, "sha": {"ref": f"{load}.sha256"}},
                               "timeout_s": 5},
                      "depends_on": [pick]})
        i += 1
    return {"goal": "benchmark", "steps": steps[:size]}


def build_big_args_plan(values: int) -> dict[str, Any]:
    """A read, then a json.query whose ``data`` holds ``values`` scalars and one reference."""
    rows = [[i, f"r{i}", i / 2, i % 2 == 0] for i in range(max(values // ROW_WIDTH, 1))]
    return {"goal": "one step with a big argument tree", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "exports/big.csv"}},
        {"id": "query", "tool": "json.query",
         "args": {"expression": "rows[0]", "data": {"rows": rows, "text": {"ref": "load.text"}}}}]}


def big_args_figures(registry: ToolRegistry, values: int, runs: int) -> None:
    """Print the figures of the plan whose one step holds ``values`` argument values."""
    from datetime import UTC, datetime

    from policies.contracts import PolicyContext, Requester
    from policies.inputs import build_policy_input, data_sources

    document = build_big_args_plan(values)
    report = validate_plan(document, registry, max_steps=2)
    assert report.ok, report.problems[:5]
    requester = Requester(id="alice", roles=("analyst",))
    context = PolicyContext(now=datetime.now(UTC))

    # A fresh Plan each call (cheap: nested arguments are shared, not copied): nothing carries over.
    def reference_uses() -> None:
        plan = Plan.model_validate(document)
        for step in plan.steps:
            step.dependencies()
            step.references()
        data_sources(plan, registry)

    def policy_input() -> None:
        build_policy_input(Plan.model_validate(document), registry, requester=requester,
                           context=context)

    full = median_seconds(lambda: validate_plan(document, registry, max_steps=2), runs)
    refs = median_seconds(reference_uses, runs)
    built = median_seconds(policy_input, runs)
    held = len(document["steps"][1]["args"]["data"]["rows"]) * ROW_WIDTH
    print(f"plan: 2 steps, one holding {held:,} argument values, 1 reference")
    print(f"validate_plan (all checks)          median {full * 1e3:8.1f} ms")
    print(f"reference uses of the policy input  median {refs * 1e3:8.1f} ms   "
          "(dependencies, references, data sources)")
    print(f"build_policy_input                  median {built * 1e3:8.1f} ms")


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``fn`` over ``runs`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=1000)
    parser.add_argument("--runs", type=positive_int, default=7)
    parser.add_argument("--big-args", type=int, default=200_000,
                        help="argument values of the one big step (0: skip that plan)")
    options = parser.parse_args(argv)
    log_to_stderr()  # a log line on stdout would land in the printed figures

    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=Path(tempfile.mkdtemp()), http_max_response_bytes=1 << 20)
    document = build_plan(options.steps)
    report = validate_plan(document, registry, max_steps=options.steps)
    assert report.ok, report.problems[:5]

    from jsonschema import Draft202012Validator

    validators = {spec.name: Draft202012Validator(spec.input_schema()) for spec in registry}

    def plain_jsonschema() -> None:
        # The slot for a reference is an arbitrary value here: this baseline checks shapes only.
        for step in document["steps"]:
            list(validators[step["tool"]].iter_errors(step["args"]))

    full = median_seconds(lambda: validate_plan(document, registry, max_steps=options.steps), options.runs)
    parse = median_seconds(lambda: Plan.model_validate(document), options.runs)
    plain = median_seconds(plain_jsonschema, options.runs)
    n = options.steps
    print(f"plan: {n} steps, {sum(len(s.get('depends_on', [])) for s in document['steps'])} depends_on, "
          f"references in {sum(1 for s in document['steps'] if 'ref' in str(s['args']))} steps")
    print(f"validate_plan (all checks)          median {full * 1e3:8.1f} ms   {full / n * 1e6:7.1f} µs/step")
    print(f"baseline Plan.model_validate        median {parse * 1e3:8.1f} ms   ratio {full / parse:5.1f}x")
    print(f"baseline jsonschema args only       median {plain * 1e3:8.1f} ms   ratio {full / plain:5.1f}x")
    if options.big_args > 0:
        big_args_figures(registry, options.big_args, options.runs)


if __name__ == "__main__":
    main()

"""Benchmark: static validation of a 1,000-step plan against the built-in tools.

Prints the median time of ``validate_plan`` over several runs, the cost per
step, and the ratio against two baselines measured in the same run:
``Plan.model_validate`` alone (parsing the contract) and plain jsonschema
validation of every step's arguments (no references, types or graph checks).

    .venv/bin/python bench/bench_validation.py [--steps 1000] [--runs 7]
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

from planner import Plan, validate_plan  # noqa: E402
from tools import ToolRegistry  # noqa: E402
from tools.builtin import register_builtin_tools  # noqa: E402


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


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``fn`` over ``runs`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()

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


if __name__ == "__main__":
    main()

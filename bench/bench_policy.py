"""Decision latency of the policy engines: ``python -m bench.bench_policy [--repeat N]``.

Median milliseconds per decision for a 3-step and a 50-step plan, on the
embedded regopy engine and on the OPA backend against the local fake OPA
server (HTTP + regopy), next to baselines measured in the same run: building
the policy input alone, and an empty policy (a constant decision) on the
embedded engine. Also prints the policy evals' catch and false-positive rates.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.policies import policy_registry, run_corpus
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input
from policies.opa import OpaEngine

REQUESTER = Requester(id="alice", roles=("analyst",))


def make_plan(n: int) -> Plan:
    """A plan of ``n`` steps: a read, reads/aggregates chained by references, a POST at the end."""
    steps: list[dict[str, Any]] = [{"id": "s0", "tool": "files.read", "args": {"path": "sales.csv"}}]
    for i in range(1, n - 1):
        steps.append({"id": f"s{i}", "tool": "table.aggregate",
                      "args": {"csv": {"ref": "s0.text"}, "column": f"c{i}", "op": "sum"}})
    steps.append({"id": f"s{n - 1}", "tool": "http.request",
                  "args": {"method": "POST", "url": "https://x.hooks.example.com/in",
                           "json": {"v": {"ref": f"s{max(n - 2, 0)}.value"}}}})
    return Plan.model_validate({"goal": f"{n}-step plan", "steps": steps})


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def run(repeat: int) -> dict[str, Any]:
    """Every figure, as a dict."""
    from tests.support.fake_opa import FakeOpa

    registry = policy_registry()
    bundle = PolicyBundle.load()
    context = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "empty.rego").write_text(
            'package baton\nimport rego.v1\ndecision := {"allow": true, "deny": [], "risk": 0,'
            ' "approvals": {"count": 0, "roles": []}}\n'
            'step_decision := {"allow": true, "deny": []}\n')
        empty = EmbeddedEngine(PolicyBundle.load(Path(tmp)))
    figures: dict[str, Any] = {"repeat": repeat, "median_ms": {}}
    with FakeOpa() as server:
        engines = {"embedded": EmbeddedEngine(bundle),
                   "fake_opa": OpaEngine(bundle, server.url, timeout_s=30.0),
                   "embedded_empty_policy": empty}
        for n in (3, 50):
            plan = make_plan(n)
            doc = build_policy_input(plan, registry, requester=REQUESTER, context=context)
            row = {"build_policy_input": median_ms(
                lambda: build_policy_input(plan, registry, requester=REQUESTER, context=context),
                repeat)}
            for name, engine in engines.items():
                row[name] = median_ms(lambda e=engine: e.decide(doc), repeat)
            figures["median_ms"][f"{n}_steps"] = row
    evals = run_corpus(EmbeddedEngine(bundle), registry)
    figures["evals"] = {k: evals[k] for k in ("unsafe", "caught", "catch_rate", "benign",
                                              "false_positives", "false_positive_rate")}
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_policy")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    sys.stdout.write(json.dumps(run(args.repeat), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Decision latency of the policy engines: ``python -m bench.bench_policy [--repeat N]``.

Median milliseconds per decision for a 3-step and a 50-step plan, on the
embedded regopy engine (in this process, and in evaluator processes as the
server, workers and runs judge: ``embedded_isolated``) and on the OPA backend
against the local fake OPA server (HTTP + regopy), next to baselines measured
in the same run: building the policy input alone, and an empty policy (a
constant decision) on the embedded engine. Then, on the embedded engine, plans
of the validator's largest size (200 steps) whose data flows make residency's
work grow fastest, each beside the 3-step plan's decision in the same run
(``long_plans``), and a POST of thousands of AWS-key-like values beside as
many ordinary ones (``many_findings_plans``: at most 50 findings are listed,
the rest counted). Also prints the policy evals' catch and false-positive rates.
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

from evals.cli import log_to_stderr, positive_int
from evals.policies import policy_registry, run_corpus
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input
from policies.isolated_rego import IsolatedEmbeddedEngine
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


EU_URL = "https://data.eu.example.com/customers"
US_URL = "https://x.us.example.com/in"


def long_plans(n: int = 200) -> dict[str, Plan]:
    """Plans of ``n`` steps where every step is fed by every one before it."""
    def chained(make: Callable[[int], dict[str, Any]]) -> Plan:
        steps = [{**make(i), "id": f"s{i}", **({"depends_on": [f"s{i - 1}"]} if i else {})}
                 for i in range(n)]
        return Plan.model_validate({"goal": "long plan", "steps": steps})

    def eu_then_us(i: int) -> dict[str, Any]:
        if i < n // 2:
            return {"tool": "http.request", "args": {"url": EU_URL}}
        return {"tool": "http.request", "args": {"method": "POST", "url": US_URL, "body": "x"}}

    writes = [{"id": f"w{i}", "tool": "files.write",
               "args": {"path": f"o{i}.txt", "text": "x"},
               "depends_on": [f"w{j}" for j in range(i)]} for i in range(n)]
    return {
        # Each step's data_sources lists every step before it.
        "chain_of_reads": chained(lambda i: {"tool": "files.read", "args": {"path": "a.csv"}}),
        # Every write depends on every write before it (and feeds every workspace step).
        "writes_depending_on_all_before": Plan.model_validate(
            {"goal": "long plan", "steps": writes}),
        # n/2 EU reads chained to n/2 POSTs to a US host: (n/2)² flows out of the EU.
        "eu_reads_chained_to_us_posts": chained(eu_then_us),
    }


def many_findings_plans(n: int = 4_990) -> dict[str, Plan]:
    """One POST of ``n`` rows, each holding an AWS-key-like value (``n`` findings; the step's
    limit is 5,000 distinct strings), and the same with ordinary values (the scan alone)."""
    def post(prefix: str) -> Plan:
        rows = [{"key_id": f"{prefix}{i:016d}"} for i in range(n)]
        return Plan.model_validate({"goal": "post rows", "steps": [
            {"id": "post", "tool": "http.request",
             "args": {"method": "POST", "url": "https://api.internal.example/in", "json": rows}}]})
    return {f"secret_findings_{n}": post("AKIA"), f"ordinary_strings_{n}": post("ORDI")}


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def long_plan_figures(engine: EmbeddedEngine, registry: Any, context: PolicyContext,
                      repeat: int) -> dict[str, float]:
    """Median ms per decision of each of ``long_plans`` and ``many_findings_plans`` and of the
    3-step plan, with ratios."""
    def decide(plan: Plan) -> Callable[[], Any]:
        doc = build_policy_input(plan, registry, requester=REQUESTER, context=context)
        return lambda: engine.decide(doc)

    rows = {"3_steps": median_ms(decide(make_plan(3)), repeat)}
    for name, plan in {**long_plans(), **many_findings_plans()}.items():
        rows[name] = median_ms(decide(plan), max(3, repeat // 10))
        rows[f"{name}_ratio"] = round(rows[name] / rows["3_steps"], 1)
    return rows


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
                   "embedded_isolated": IsolatedEmbeddedEngine(bundle),
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
    figures["long_plans_embedded_median_ms"] = long_plan_figures(
        EmbeddedEngine(bundle), registry, context, repeat)
    evals = run_corpus(EmbeddedEngine(bundle), registry)
    figures["evals"] = {k: evals[k] for k in ("unsafe", "caught", "catch_rate", "benign",
                                              "false_positives", "false_positive_rate")}
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_policy")
    parser.add_argument("--repeat", type=positive_int, default=50,
                        help="timed decisions per figure (at least 1)")
    args = parser.parse_args(argv)
    log_to_stderr()  # OpaEngine logs "policy.opa_loaded": on stdout it would break the JSON
    sys.stdout.write(json.dumps(run(args.repeat), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Memory kept per policy evaluation: ``python -m bench.bench_policy_memory [--evaluations N]``.

rego-cpp (regopy) keeps native memory after every evaluation whose rules iterate over the
input, for good. For a 3-step and a 50-step plan's decision and for one call's run-time
check, this measures the growth of this process's resident memory per evaluation on the
embedded engine judging in-process and judging in evaluator processes
(``policies.isolated_rego``, with its default limits), in the same run: the isolated figures
first, while this process has kept nothing yet. Beside them: median milliseconds per
evaluation, and how many evaluator processes judged (one is replaced past 512 MB). Figures,
not assertions: the ratios are what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.bench_policy import REQUESTER, make_plan
from evals.cli import log_to_stderr, positive_int
from evals.policies import policy_registry
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, StepCall
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input
from policies.isolated_rego import EvaluatorPool, IsolatedEmbeddedEngine

# One call's run-time check, as the runner asks it before a POST.
POST = StepCall(run_id="r-1", plan_id="p-1", step_id="post", tool="http.request",
                effect="write", tags=("http",), requester=REQUESTER,
                args={"method": "POST", "url": "https://x.hooks.example.com/in",
                      "json": {"total": 12}})


def rss_kb() -> int:
    """This process's resident memory now (KiB); its peak where /proc is not there."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak


def measure(evaluate: Callable[[], Any], count: int, after: Callable[[], None]) -> dict[str, float]:
    """KiB of resident memory gained per evaluation, and median ms, over ``count`` of them
    (after 3 to warm up)."""
    for _ in range(3):
        evaluate()
    before = rss_kb()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        evaluate()
        times.append((time.perf_counter() - start) * 1000)
        after()
    return {"kib_per_evaluation": round((rss_kb() - before) / count, 1),
            "median_ms": round(statistics.median(times), 2)}


def run(evaluations: int) -> dict[str, Any]:
    """Every figure, as a dict."""
    bundle = PolicyBundle.load()
    context = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
    registry = policy_registry()
    docs = {f"{n}_steps": build_policy_input(make_plan(n), registry, requester=REQUESTER,
                                             context=context) for n in (3, 50)}
    counts = {"3_steps": evaluations * 4, "50_steps": evaluations, "step_check": evaluations * 10}
    pool = EvaluatorPool(bundle.modules, bundle.data_document())
    isolated, in_process = IsolatedEmbeddedEngine(bundle, pool=pool), EmbeddedEngine(bundle)

    def cases(engine: EmbeddedEngine) -> dict[str, Callable[[], Any]]:
        return {**{name: (lambda doc=doc: engine.decide(doc)) for name, doc in docs.items()},
                "step_check": lambda: engine.check_step(POST)}

    seen: set[int] = set()
    figures: dict[str, Any] = {"evaluations": counts}
    rows = {name: {"isolated": measure(fn, counts[name], lambda: seen.update(pool.pids()))}
            for name, fn in cases(isolated).items()}
    figures["evaluator_processes_used"] = len(seen)
    pool.close()
    for name, fn in cases(in_process).items():
        row = rows[name]
        row["in_process"] = measure(fn, counts[name], lambda: None)
        kept, kept_isolated = (row[mode]["kib_per_evaluation"] for mode in ("in_process",
                                                                            "isolated"))
        row["kept_ratio_in_process_over_isolated"] = (
            round(kept / kept_isolated, 1) if kept_isolated > 0 else "isolated: none kept")
        row["time_ratio_isolated_over_in_process"] = round(
            row["isolated"]["median_ms"] / row["in_process"]["median_ms"], 2)
    figures["rows"] = rows
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_policy_memory")
    parser.add_argument("--evaluations", type=positive_int, default=30,
                        help="50-step decisions per engine (4x as many 3-step decisions, 10x "
                             "as many run-time checks); at least 1")
    args = parser.parse_args(argv)
    log_to_stderr()
    sys.stdout.write(json.dumps(run(args.evaluations), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

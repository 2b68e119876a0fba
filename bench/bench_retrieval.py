"""Tool ranking latency per goal over the full Seal-Tools catalogue, against a naive baseline.

    python -m bench.bench_retrieval [--goals N]

Baseline (same run, same goals): a substring scan that scores each tool by
how many goal words occur in its name and description text. Prints index
build time, then per-goal latency (mean, p50, p95) and recall@20 of both.
Goals without a gold call are skipped and counted, as ``evals.retrieval`` does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from evals.cli import log_to_stderr, positive_int
from evals.data import run_cli
from evals.datasets.seal_tools import catalogue, goals_with_gold_calls
from planner.retrieval import LexicalRanker, tool_text


def substring_rank(goal: str, haystacks: list[tuple[str, str]], k: int) -> list[str]:
    """Score = goal words (4+ letters) found as substrings of name + description."""
    words = [w for w in goal.lower().split() if len(w) >= 4]
    scored = [(sum(w in text for w in words), i) for i, (_, text) in enumerate(haystacks)]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [haystacks[i][0] for _, i in scored[:k]]


def _percentiles(ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    return f"mean {statistics.fmean(ms):7.2f} ms  p50 {statistics.median(ms):7.2f} ms  p95 {p95:7.2f} ms"


def main(argv: list[str] | None = None) -> int:
    """Run both rankers over the goals and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_retrieval")
    parser.add_argument("--goals", type=positive_int, default=700,
                        help="the first N goals (at least 1)")
    args = parser.parse_args(argv)
    goals, without_gold = goals_with_gold_calls(args.goals)
    specs = list(catalogue())
    ranker = LexicalRanker()
    started = time.perf_counter()
    ranker.index(specs)
    build_ms = (time.perf_counter() - started) * 1000
    haystacks = [(t.name, f"{t.name} {t.description}".lower()) for t in map(tool_text, specs)]
    results = {}
    for label, rank in (("bm25", lambda g: ranker.rank(g, specs, 20)),
                        ("substring", lambda g: substring_rank(g, haystacks, 20))):
        times, hits = [], []
        for record in goals:
            t0 = time.perf_counter()
            ranked = rank(record["query"])
            times.append((time.perf_counter() - t0) * 1000)
            gold = {c["api"] for c in record["calling"]}
            hits.append(len(gold & set(ranked)) / len(gold))
        results[label] = (times, statistics.fmean(hits))
    print(f"catalogue: {len(specs)} tools, {len(goals)} goals; BM25 index built in {build_ms:.0f} ms")
    for label, (times, recall) in results.items():
        print(f"{label:>9}: {_percentiles(times)}  recall@20 {recall:.3f}")
    if without_gold:
        print(f"{without_gold} goal{'s' if without_gold > 1 else ''} without gold calls skipped")
    return 0


if __name__ == "__main__":
    log_to_stderr()
    sys.exit(run_cli(main, "python -m bench.bench_retrieval"))

"""Template-planner latency: goal → validated plan, against the shipped and a 200-template library.

Baselines measured in the same run: one precompiled regex match, and
``Plan.model_validate`` of the instantiated plan (the floor any planner pays).

    .venv/bin/python bench/bench_template_planner.py [--goals 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evals.cli import log_to_stderr, positive_int
from planner.plan import Plan
from planner.templates import SHIPPED_DIR, Template, TemplateLibrary, TemplatePlanner
from planner.validation import validate_plan
from tools import ToolRegistry
from tools.builtin import register_builtin_tools

GOALS = [
    "Total the amount column of sales.csv and write it to total.json",
    "Post the total of sales.csv to https://webhook.example.net/finance",
    "Show the mean of the price column of q{i}.csv",
    "Summarise the amount column of sales.csv by region into summary{i}.json",
    "Copy sales.csv to backup/sales{i}.csv",
    "Fetch https://api.internal.example/status and extract services.db.state",
]


def synthetic_library(size: int) -> TemplateLibrary:
    """The shipped templates plus copies with distinct wording, ``size`` templates in all."""
    shipped = list(TemplateLibrary.load([SHIPPED_DIR]))
    templates: list[Template] = list(shipped)
    index = 0
    while len(templates) < size:
        base = shipped[index % len(shipped)]
        word = f"variant{index}"
        templates.append(base.model_copy(update={
            "name": f"{base.name}-{word}",
            "patterns": tuple(f"{word} {p}" for p in base.patterns if not p.startswith("re:")),
            "example_goals": tuple(f"{word} {g}" for g in base.example_goals),
        }))
        index += 1
    return TemplateLibrary(templates)


def median_us(fn: Callable[[str], object], goals: list[str], repeat: int) -> float:
    """Median wall time of one call, microseconds."""
    samples = []
    for _ in range(repeat):
        for goal in goals:
            start = time.perf_counter()
            fn(goal)
            samples.append((time.perf_counter() - start) * 1e6)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    """Print median latencies for both libraries and both baselines."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--goals", type=positive_int, default=120)
    parser.add_argument("--repeat", type=positive_int, default=5)
    args = parser.parse_args(argv)
    log_to_stderr()  # a log line on stdout would land in the printed figures
    goals = [GOALS[i % len(GOALS)].format(i=i) for i in range(args.goals)]
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=Path(tempfile.mkdtemp()))
    shipped = TemplatePlanner(TemplateLibrary.load([SHIPPED_DIR]))
    large = TemplatePlanner(synthetic_library(200))
    plans = {g: shipped.plan(g, registry).plan.to_wire() for g in goals}
    one_regex = re.compile(r"^(?:total|sum)\s+the\s+(?P<column>\S+)\s+column\s+of\s+(?P<source>\S+)"
                           r"\s+and\s+write\s+it\s+to\s+(?P<target>\S+)$", re.IGNORECASE)
    start = time.perf_counter()
    TemplatePlanner(synthetic_library(200))
    build_ms = (time.perf_counter() - start) * 1e3

    rows = [
        ("baseline: one regex match", median_us(one_regex.match, goals, args.repeat)),
        ("baseline: Plan.model_validate of the plan",
         median_us(lambda g: Plan.model_validate(plans[g]), goals, args.repeat)),
        ("matching only (no validation), 200 templates",
         median_us(large.matcher.match, goals, args.repeat)),
        ("validate_plan of the plan (static validation)",
         median_us(lambda g: validate_plan(plans[g], registry), goals, args.repeat)),
        (f"template planner, shipped library ({len(shipped.matcher.library)} templates)",
         median_us(lambda g: shipped.plan(g, registry), goals, args.repeat)),
        ("template planner, synthetic library (200 templates)",
         median_us(lambda g: large.plan(g, registry), goals, args.repeat)),
    ]
    print(f"{len(goals)} goals x {args.repeat} repeats; median per goal (µs), validation included")
    for label, value in rows:
        print(f"  {label:<62} {value:10.1f}")
    print(f"  compiling the 200-template library once: {build_ms:.1f} ms")


if __name__ == "__main__":
    main()

"""Benchmark: how long the CLI takes to start, next to a bare interpreter measured in the same run.

Prints the median wall time of ``baton --help`` and of ``baton validate
examples/valid/sales_total.json``, and of ``python -c pass`` as the floor.

    .venv/bin/python bench/bench_cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evals.cli import positive_int

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(command: list[str], runs: int, cwd: str) -> float:
    """Median wall time of ``command`` over ``runs`` runs, after one warm-up run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=positive_int, default=9)
    options = parser.parse_args(argv)
    baton = str(Path(sys.executable).with_name("baton"))
    example = str(ROOT / "examples" / "valid" / "sales_total.json")
    with tempfile.TemporaryDirectory() as cwd:  # no baton.toml of the developer's
        floor = median_seconds([sys.executable, "-c", "pass"], options.runs, cwd)
        helped = median_seconds([baton, "--help"], options.runs, cwd)
        validated = median_seconds([baton, "validate", example], options.runs, cwd)
    print(f"python -c pass                 median {floor * 1e3:7.0f} ms")
    print(f"baton --help                   median {helped * 1e3:7.0f} ms   ({helped / floor:4.1f}x the floor)")
    print(f"baton validate sales_total     median {validated * 1e3:7.0f} ms   ({validated / floor:4.1f}x the floor)")


if __name__ == "__main__":
    main()

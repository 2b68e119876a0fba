"""Per-step overhead of Baton's executor on chains of no-op steps, next to the SQLite floor.

Run: ``.venv/bin/python -m bench.bench_executor [--quick] [--sizes 100,1000,10000] [--repeat 3]``

The floor is measured in the same run on the same disk: one SQLite
``INSERT`` + ``COMMIT`` per step in WAL mode with the pragmas of
``executor/store/db.py`` (``synchronous=NORMAL``). "Baton's SQL alone" is
the statements one durable step commits, run raw (``bench/journal_floor.py``).
Baton's figures are whole ``Runner`` runs of an approved plan of N chained
no-op steps (each step depends on the previous one), divided by N, with a
sync and with an async no-op tool. Flatness is per-step cost at the
largest chain over the smallest: near 1.0 means no scan grows with the run.
With ``--repeat N`` each figure is the best of N runs: on a shared machine
single runs vary by ±10%, more than most single changes are worth.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from evals.cli import positive_int
from executor.store.db import SQLITE_BUSY_TIMEOUT_MS

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (50, 200)


@dataclass(frozen=True)
class Figure:
    """One measured chain length: the floor, and Baton with a sync and an async no-op tool."""

    steps: int
    floor_ms: float
    baton_ms: float | None
    baton_async_ms: float | None = None
    journal_ms: float | None = None  # Baton's per-step SQL alone (bench/journal_floor.py)

    @property
    def ratio(self) -> float | None:
        """Baton's per-step cost (sync tool) over the floor's."""
        return None if self.baton_ms is None else self.baton_ms / self.floor_ms

    @property
    def async_ratio(self) -> float | None:
        """Baton's per-step cost (async tool) over the floor's."""
        return None if self.baton_async_ms is None else self.baton_async_ms / self.floor_ms


def floor_per_step_ms(steps: int, workdir: Path) -> float:
    """One INSERT + COMMIT per step on a fresh WAL SQLite file, in milliseconds per step."""
    path = workdir / f"floor-{steps}-{time.perf_counter_ns()}.db"
    conn = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    for pragma in ("journal_mode=WAL", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
                   "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE steps (id INTEGER PRIMARY KEY, run_id TEXT, step_id TEXT, "
                 "output TEXT, at TEXT)")
    started = time.perf_counter()
    for i in range(steps):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO steps (run_id, step_id, output, at) VALUES (?, ?, ?, ?)",
                     ("r1", f"s{i}", "{}", "2026-01-01T00:00:00"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed * 1000 / steps


def baton_per_step_ms(steps: int, workdir: Path, kind: str = "sync") -> float | None:
    """A Runner run of ``steps`` chained no-op steps (``kind`` of tool), in ms per step (None: no runner)."""
    try:
        from bench.baton_chain import run_chain
    except ImportError:
        return None
    url = f"sqlite:///{workdir / f'baton-{kind}-{steps}-{time.perf_counter_ns()}.db'}"
    return run_chain(steps, url, kind=kind) * 1000 / steps


def measure(sizes: tuple[int, ...], workdir: Path | None = None, *, repeat: int = 1) -> list[Figure]:
    """Floor and Baton per-step figures for each chain length, in one run (best of ``repeat``)."""
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        where = workdir or Path(tmp)
        floor_per_step_ms(50, where)  # warm the page cache and the interpreter
        return [_best(n, where, repeat) for n in sizes]


def _best(steps: int, where: Path, repeat: int) -> Figure:
    from bench.journal_floor import journal_per_step_ms

    floors: list[float] = []
    journals: list[float] = []
    batons: dict[str, list[float]] = {"sync": [], "async": []}
    for _ in range(max(1, repeat)):  # interleaved, so all see the same machine load
        floors.append(floor_per_step_ms(steps, where))
        journals.append(journal_per_step_ms(steps, where))
        for kind, figures in batons.items():
            figure = baton_per_step_ms(steps, where, kind)
            if figure is not None:
                figures.append(figure)
    return Figure(steps, min(floors), min(batons["sync"], default=None),
                  min(batons["async"], default=None), min(journals))


def _cell(value: float | None, fmt: str, width: int) -> str:
    return f"{value:{width}{fmt}}" if value is not None else f"{'n/a':>{width}}"


def render(figures: list[Figure]) -> str:
    """The figures as a plain text table (ratios to the floor), then the flatness lines."""
    lines = ["          SQLite floor    Baton's SQL alone    Baton, sync no-op tool   Baton, async no-op tool",
             f"{'steps':>7}  {'ms/step':>11}  {'ms/step':>9}  {'ratio':>7}  "
             f"{'ms/step':>13}  {'ratio':>8}  {'ms/step':>13}  {'ratio':>8}"]
    for f in figures:
        journal_ratio = f.journal_ms / f.floor_ms if f.journal_ms is not None else None
        lines.append(f"{f.steps:>7}  {f.floor_ms:11.4f}  {_cell(f.journal_ms, '.4f', 9)}  "
                     f"{_cell(journal_ratio, '.2f', 6)}x  {_cell(f.baton_ms, '.3f', 13)}  "
                     f"{_cell(f.ratio, '.2f', 7)}x  {_cell(f.baton_async_ms, '.3f', 13)}  "
                     f"{_cell(f.async_ratio, '.2f', 7)}x")
    first, last = figures[0], figures[-1]
    for label, attr in (("sync", "baton_ms"), ("async", "baton_async_ms")):
        low, high = getattr(first, attr), getattr(last, attr)
        if low and high and len(figures) > 1:
            lines.append(f"flatness, {label} (per-step at {last.steps} / at {first.steps}): "
                         f"{high / low:.2f}")
    if any(f.baton_ms is None for f in figures):
        lines.append("baton: n/a — executor.runner.Runner is not available in this tree")
    return "\n".join(lines)


def chain_sizes(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated chain lengths, each a whole number of at least 1."""
    return tuple(positive_int(size) for size in text.split(","))


def main(argv: list[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"smoke run: chains of {QUICK_SIZES}")
    parser.add_argument("--sizes", type=chain_sizes,
                        help="comma-separated chain lengths (default 100,1000,10000)")
    parser.add_argument("--repeat", type=positive_int, default=1,
                        help="runs per size (at least 1); the best is shown")
    args = parser.parse_args(argv)
    from baton.logging import configure_logging

    configure_logging("warning")  # the runner's "run ended" lines would break up the table
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    print(render(measure(sizes, repeat=args.repeat)))  # noqa: T201  (a benchmark prints its figures)
    if not args.quick:
        print(fan_out_line(repeat=args.repeat))  # noqa: T201


FAN_STEPS, FAN_CONCURRENCY = 2_000, 32


def fan_out_line(*, repeat: int = 1) -> str:
    """Per-step cost of a fan-out (independent steps, run 32 at a time), both tool kinds."""
    from bench.baton_chain import run_chain

    figures = {}
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        for kind in ("sync", "async"):
            figures[kind] = min(
                run_chain(FAN_STEPS, f"sqlite:///{Path(tmp) / f'fan-{kind}-{i}.db'}", kind=kind,
                          shape="fan", concurrency=FAN_CONCURRENCY)
                for i in range(max(1, repeat))) * 1000 / FAN_STEPS
    return (f"fan-out of {FAN_STEPS:,} independent steps, {FAN_CONCURRENCY} at a time: "
            f"sync tool {figures['sync']:.3f} ms/step, async tool {figures['async']:.3f} ms/step "
            "(results that finish together share a commit)")


if __name__ == "__main__":
    main()

"""Per-step overhead of the executors users would otherwise pick, side by side with Baton.

Run through ``bench/peers/run_peers.sh`` (it installs the peers into
``bench/.peers-venv`` first). This file has two roles:

* under Baton's interpreter (``python -m bench.peers.peer_bench``) it measures
  Baton and the SQLite floor in-process, then each peer in a subprocess of
  the peers' interpreter, and prints one table with the ratios;
* under the peers' interpreter (``peer_bench.py --peer NAME``) it measures one
  peer and prints one JSON line. It imports nothing of Baton's there.

Every peer runs a chain of N no-op steps persisted to a fresh SQLite file,
after a short warm-up run; per-step = median wall time of ``--repeat`` chains / N.

SQLite's own durability settings dominate these figures, so each peer whose
defaults differ from Baton's is measured twice: as it ships, and with the
settings Baton uses (WAL, ``synchronous=NORMAL``: a commit survives the process
being killed, not necessarily a power cut). DBOS ships with SQLite's
defaults (a rollback journal and ``synchronous=FULL``: fsyncs on every commit);
LangGraph's ``SqliteSaver`` switches to WAL but keeps ``synchronous=FULL``;
Prefect already uses WAL and NORMAL. Only the matched rows compare like with
like.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PEERS = ("dbos", "langgraph", "prefect")
WARMUP_STEPS = 10
# How each peer's SQLite is set up: as the peer ships it, or as Baton sets its own.
SQLITE_MODES = ("shipped", "matched")
MATCHED_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")  # executor/store/db.py's settings
# Peers whose shipped settings already are Baton's: measured once.
SHIPS_MATCHED = frozenset({"prefect"})
DB_FILES = {"dbos": "dbos.sqlite", "langgraph": "langgraph.sqlite", "prefect": "prefect.sqlite"}


def _match_sqlite(dbapi_connection: Any) -> None:
    """Give one SQLite connection Baton's durability settings."""
    cursor = dbapi_connection.cursor()
    for pragma in MATCHED_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _match_every_sqlalchemy_engine() -> None:
    """Apply :data:`MATCHED_PRAGMAS` to every SQLite connection SQLAlchemy opens from now on
    (DBOS creates its engines itself; a listener on the class reaches them all)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            _match_sqlite(dbapi_connection)

    event.listen(Engine, "connect", on_connect)


def _journal_mode(path: Path) -> str:
    """The journal mode a SQLite file was left in (WAL is stored in the file): proof of the setting."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def _median_time(run: Any, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``run`` (a busy machine skews single runs)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def bench_dbos(steps: int, workdir: Path, repeat: int, matched: bool) -> float:
    """A DBOS workflow calling ``steps`` no-op @DBOS.step functions; seconds for the chain."""
    if matched:
        _match_every_sqlalchemy_engine()
    from dbos import DBOS

    DBOS(config={"name": "peerbench", "system_database_url": f"sqlite:///{workdir / DB_FILES['dbos']}",
                 "log_level": "WARNING"})

    @DBOS.step()
    def noop(i: int) -> int:
        return i

    @DBOS.workflow()
    def chain(n: int) -> int:
        total = 0
        for i in range(n):
            total += noop(i)
        return total

    DBOS.launch()
    try:
        chain(WARMUP_STEPS)
        return _median_time(lambda: chain(steps), repeat)
    finally:
        DBOS.destroy()


def bench_langgraph(steps: int, workdir: Path, repeat: int, matched: bool) -> float:
    """A LangGraph loop of ``steps`` no-op supersteps checkpointed by SqliteSaver; seconds.

    ``durability="sync"``: each checkpoint is written before the next superstep
    starts, as Baton commits a step before the next one (LangGraph's default,
    "async", writes it while the next step runs; on this machine the two measure
    within noise of each other).
    """
    import sqlite3
    from typing import TypedDict

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        i: int
        n: int

    def noop(state: State) -> dict[str, int]:
        return {"i": state["i"] + 1}

    graph = StateGraph(State)
    graph.add_node("noop", noop)
    graph.add_edge(START, "noop")
    graph.add_conditional_edges("noop", lambda s: "noop" if s["i"] < s["n"] else END)
    conn = sqlite3.connect(workdir / DB_FILES["langgraph"], check_same_thread=False)
    if matched:
        _match_sqlite(conn)
    app = graph.compile(checkpointer=SqliteSaver(conn))

    def run(n: int, thread: str) -> None:
        config = {"configurable": {"thread_id": thread}, "recursion_limit": n + 10}
        app.invoke({"i": 0, "n": n}, config, durability="sync")

    run(WARMUP_STEPS, "warmup")
    threads = iter(range(repeat))
    elapsed = _median_time(lambda: run(steps, f"bench-{next(threads)}"), repeat)
    conn.close()
    return elapsed


def bench_prefect(steps: int, workdir: Path, repeat: int, matched: bool) -> float:
    """A Prefect flow calling ``steps`` no-op tasks against a SQLite-backed local API; seconds.

    Prefect's server sets WAL and ``synchronous=NORMAL`` itself: ``matched`` changes nothing.
    """
    (workdir / "prefect-home").mkdir()
    os.environ["PREFECT_HOME"] = str(workdir / "prefect-home")
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = \
        f"sqlite+aiosqlite:///{workdir / DB_FILES['prefect']}"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here
    from prefect import flow, task

    @task
    def noop(i: int) -> int:
        return i

    @flow
    def chain(n: int) -> int:
        total = 0
        for i in range(n):
            total += noop(i)
        return total

    chain(WARMUP_STEPS)
    return _median_time(lambda: chain(steps), repeat)


def measure_peer(name: str, steps: int, repeat: int = 3, sqlite: str = "shipped") -> dict[str, Any]:
    """Measure one peer (in this interpreter), its SQLite set up as ``sqlite`` says; its figures."""
    runner = {"dbos": bench_dbos, "langgraph": bench_langgraph, "prefect": bench_prefect}[name]
    with tempfile.TemporaryDirectory(prefix=f"peer-{name}-") as tmp:
        seconds = runner(steps, Path(tmp), repeat, sqlite == "matched")
        journal = _journal_mode(Path(tmp) / DB_FILES[name])
    return {"peer": name, "version": _version(name), "steps": steps, "sqlite": sqlite,
            "journal_mode": journal, "per_step_ms": seconds * 1000 / steps}


def _run_peer(python: str, name: str, steps: int, repeat: int, timeout_s: float,
              sqlite: str) -> dict[str, Any]:
    cmd = [python, str(Path(__file__).resolve()), "--peer", name, "--steps", str(steps),
           "--repeat", str(repeat), "--sqlite", sqlite]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"peer": name, "error": f"timed out after {timeout_s:.0f}s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"peer": name, "error": f"exit {done.returncode}: {' | '.join(tail)}"}
    return json.loads(lines[-1])


def compare(python: str, steps: int, peers: tuple[str, ...], repeat: int, timeout_s: float) -> str:
    """Measure Baton, the floor and each peer in one run (medians of ``repeat``); return the table."""
    from bench.bench_executor import measure

    runs = [measure((steps,))[0] for _ in range(repeat)]

    def median(attr: str) -> float | None:
        values = [getattr(f, attr) for f in runs if getattr(f, attr) is not None]
        return statistics.median(values) if values else None

    sync_ms, async_ms = median("baton_ms"), median("baton_async_ms")
    rows: list[Row] = [("sqlite floor (INSERT+COMMIT)", "", median("floor_ms"), None, None),
                       ("baton's SQL alone (no engine)", "", median("journal_ms"), None, None),
                       ("baton, sync no-op tool", "", sync_ms, None, None),
                       ("baton, async no-op tool", "", async_ms, None, None)]
    for name in peers:
        for sqlite in ("matched",) if name in SHIPS_MATCHED else SQLITE_MODES:
            result = _run_peer(python, name, steps, repeat, timeout_s, sqlite)
            if "error" in result:
                rows.append((f"{name}, {sqlite}", result["error"], None, None, None))
                continue
            ms = result["per_step_ms"]
            rows.append((_peer_label(result), "", ms,
                         ms / sync_ms if sync_ms else None, ms / async_ms if async_ms else None))
    return _table(steps, rows)


def _peer_label(result: dict[str, Any]) -> str:
    """``dbos 3.4.0, matched (wal)``: the settings asked for and the journal the file was left in."""
    return f"{result['peer']} {result['version']}, {result['sqlite']} ({result['journal_mode']})"


# label, error, ms/step, peer over Baton (sync tool), peer over Baton (async tool)
Row = tuple[str, str, float | None, float | None, float | None]
LABEL_WIDTH = 36


def _table(steps: int, rows: list[Row]) -> str:
    lines = [f"chain of {steps} no-op steps, SQLite persistence, one machine, one run",
             "peers: 'shipped' = the peer's own SQLite settings; 'matched' = Baton's "
             "(WAL, synchronous=NORMAL), the like-for-like rows",
             f"{'executor':<{LABEL_WIDTH}} {'ms/step':>9} {'peer/baton sync':>16} "
             f"{'peer/baton async':>17}"]
    for label, error, ms, ratio_sync, ratio_async in rows:
        if error:
            lines.append(f"{label:<{LABEL_WIDTH}} {'failed':>9}  {error}")
            continue
        ms_text = f"{ms:9.3f}" if ms is not None else f"{'n/a':>9}"
        sync_text = f"{ratio_sync:15.1f}x" if ratio_sync is not None else f"{'':>16}"
        async_text = f"{ratio_async:16.1f}x" if ratio_async is not None else f"{'':>17}"
        lines.append(f"{label:<{LABEL_WIDTH}} {ms_text} {sync_text} {async_text}".rstrip())
    return "\n".join(lines)


def peer_names(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated names among :data:`PEERS`, at least one.

    Checked before Baton and the floor are measured: a misspelt peer would otherwise show
    up only as a failed row at the end of the run.
    """
    names = tuple(name for name in text.split(",") if name)
    unknown = [name for name in names if name not in PEERS]
    if unknown or not names:
        what = f"unknown {', '.join(map(repr, unknown))}" if unknown else "no peer named"
        raise argparse.ArgumentTypeError(f"{what} (choose from {', '.join(PEERS)})")
    return names


def main(argv: list[str] | None = None) -> None:
    """Either measure one peer (``--peer``) or compare them all with Baton."""
    parser = argparse.ArgumentParser(description="Baton vs peer executors, per-step overhead")
    parser.add_argument("--peer", choices=PEERS, help="measure only this peer; print JSON")
    parser.add_argument("--peers", type=peer_names, default=PEERS,
                        help=f"comma-separated peers to compare (default {','.join(PEERS)})")
    parser.add_argument("--sqlite", choices=SQLITE_MODES, default="shipped",
                        help="with --peer: the peer's own SQLite settings, or Baton's")
    parser.add_argument("--peers-python", default=sys.executable,
                        help="interpreter of the peers' venv (bench/.peers-venv/bin/python)")
    parser.add_argument("--steps", type=int, default=500, help="chain length (default 500)")
    parser.add_argument("--quick", action="store_true", help="a 50-step chain")
    parser.add_argument("--repeat", type=int, default=3, help="chains per executor; the median counts")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per peer")
    args = parser.parse_args(argv)
    steps = 50 if args.quick else args.steps
    if args.peer:
        print(json.dumps(measure_peer(args.peer, steps, args.repeat, args.sqlite)), flush=True)  # noqa: T201
        return
    from baton.logging import configure_logging  # Baton's interpreter only, not the peers'

    configure_logging("warning")  # the runner's "run ended" lines would break up the table
    print(compare(args.peers_python, steps, args.peers, args.repeat, args.timeout))  # noqa: T201


if __name__ == "__main__":
    main()

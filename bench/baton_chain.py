"""A Baton run of N chained no-op steps, timed end to end through the real ``Runner``.

The plan is stored as an approved version directly through the store (no
planner, policy or approval: the benchmark is about the executor), and the
run goes through every durable step an attempt takes: journal "attempt
started", call the tool, journal the result, each with a ledger event (one
commit carries a step's result and the next step's start). The no-op tool
comes in both kinds a developer can register: a plain function (run in a
thread, so that its timeout holds even if it never returns) and an
``async def`` (awaited on the event loop).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from executor.artifacts import ArtifactStore
from executor.ledger import Ledger
from executor.runner import Runner
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from executor.store.schema import PlanRow, PlanVersionRow
from planner.plan import Plan
from tools import ToolRegistry


WARMUP_STEPS = 10  # as the peers get (bench/peers/peer_bench.py): a warm engine and interpreter

TOOL_KINDS = ("sync", "async")


def noop_registry() -> ToolRegistry:
    """``noop`` (a sync tool: run in a thread under its timeout) and ``noop_async`` (awaited on the loop)."""
    registry = ToolRegistry()

    @registry.tool("noop", idempotent=True)
    def noop(n: int) -> dict[str, int]:
        """Return ``n`` unchanged (benchmark step).

        Args:
            n: Any number.
        """
        return {"n": n}

    @registry.tool("noop_async", idempotent=True)
    async def noop_async(n: int) -> dict[str, int]:
        """Return ``n`` unchanged (benchmark step, async).

        Args:
            n: Any number.
        """
        return {"n": n}

    return registry


def chain_plan(steps: int, tool: str = "noop") -> Plan:
    """``steps`` calls of ``tool``, each depending on the one before."""
    return Plan.model_validate({"goal": f"benchmark: a chain of {steps} no-op steps", "steps": [
        {"id": f"s{i}", "tool": tool, "args": {"n": i},
         "depends_on": [f"s{i - 1}"] if i else []}
        for i in range(steps)]})


def fan_plan(steps: int, tool: str = "noop") -> Plan:
    """``steps`` independent calls of ``tool`` (a fan-out: they may all run at once)."""
    return Plan.model_validate({"goal": f"benchmark: a fan-out of {steps} no-op steps", "steps": [
        {"id": f"s{i}", "tool": tool, "args": {"n": i}} for i in range(steps)]})


SHAPES = {"chain": chain_plan, "fan": fan_plan}


def store_approved(engine, plan: Plan) -> str:
    """Store ``plan`` as approved version 1 of a new plan; return its id."""
    plan_id = f"p-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(PlanRow(id=plan_id, goal=plan.goal, requester="bench", created_at=now))
        s.flush()
        s.add(PlanVersionRow(plan_id=plan_id, version=1, plan_json=plan.canonical_json(),
                             plan_hash=plan.plan_hash(), status="approved", planner="template",
                             created_by="bench", created_at=now))
        s.commit()
    return plan_id


def run_chain(steps: int, url: str, *, kind: str = "sync", shape: str = "chain",
              concurrency: int = 4) -> float:
    """Seconds for the Runner to create and finish a run of ``steps`` no-op steps.

    ``kind`` picks the no-op tool (see :data:`TOOL_KINDS`), ``shape`` the plan
    (see :data:`SHAPES`: a chain, or a fan-out run ``concurrency`` at a time).
    A warm-up run of :data:`WARMUP_STEPS` steps on the same engine comes
    first, untimed, as the peers get one: the figure is a warm process's.
    """
    tool = {"sync": "noop", "async": "noop_async"}[kind]
    make_plan = SHAPES[shape]
    engine = make_engine(url)
    upgrade(engine)
    with tempfile.TemporaryDirectory(prefix="baton-bench-artifacts-") as tmp:
        runner = Runner(engine, Ledger(engine), noop_registry(), concurrency=concurrency,
                        artifacts=ArtifactStore(Path(tmp), threshold_bytes=64 * 1024))
        _timed_run(runner, engine, make_plan(WARMUP_STEPS, tool))
        elapsed = _timed_run(runner, engine, make_plan(steps, tool))
    engine.dispose()
    return elapsed


def _timed_run(runner: Runner, engine, plan: Plan) -> float:
    plan_id = store_approved(engine, plan)
    started = time.perf_counter()
    run_id = runner.create_run(plan_id, 1, plan, requested_by="bench")
    record = runner.run_sync(run_id, detail=False)  # as `baton run` does (a summary)
    elapsed = time.perf_counter() - started
    if record.status.value != "succeeded":
        raise RuntimeError(f"benchmark run {run_id} ended {record.status.value}: {record.error}")
    return elapsed

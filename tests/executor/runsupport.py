"""Helpers for runner tests: approved plans written through the store, runners, tools."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from executor.artifacts import ArtifactStore
from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.runner import Runner
from executor.store.schema import PlanRow, PlanVersionRow
from planner.plan import Plan
from tools import RetryPolicy, ToolContext, ToolRegistry


def approved_plan(engine: Engine, plan: Plan | dict[str, Any], *, requester: str = "alice",
                  plan_id: str | None = None) -> str:
    """Store ``plan`` as version 1 of a new plan, already approved; returns the plan id."""
    plan = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
    plan_id = plan_id or f"p-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(PlanRow(id=plan_id, goal=plan.goal, requester=requester, created_at=now))
        s.flush()
        s.add(PlanVersionRow(plan_id=plan_id, version=1, plan_json=plan.canonical_json(),
                             plan_hash=plan.plan_hash(), status="approved", planner="template",
                             created_by=requester, created_at=now))
        s.commit()
    return plan_id


class HostCheck:
    """A real runtime check: allows calls whose URL starts with an allowed prefix, denies the rest."""

    def __init__(self, *allowed_prefixes: str) -> None:
        self.allowed = allowed_prefixes
        self.calls: list[StepCall] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow only URLs under the allowed prefixes."""
        self.calls.append(call)
        url = str(call.args.get("url", ""))
        if any(url.startswith(p) for p in self.allowed):
            return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)
        return StepDecision(allow=False, deny=(f"host of {url} is not allowed",), engine="test",
                            bundle_hash="b" * 64)


def one() -> int:
    """One (a tool with nothing to do)."""
    return 1


def one_tool_registry() -> ToolRegistry:
    """A registry of the one tool ``one``."""
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    return registry


def one_step_plan() -> Plan:
    """A plan of one step, ``a``, calling ``one``."""
    return Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})


def make_runner(engine: Engine, registry: ToolRegistry, data_dir: Path, **options: Any) -> Runner:
    """A runner on ``engine`` with artifacts under ``data_dir``."""
    threshold = options.pop("threshold", 64 * 1024)
    return Runner(engine, options.pop("ledger", Ledger(engine)), registry,
                  options.pop("runtime_check", None),
                  artifacts=ArtifactStore(data_dir / "artifacts", threshold_bytes=threshold),
                  **options)


def run_plan(runner: Runner, engine: Engine, plan: Plan | dict[str, Any], **create: Any):
    """Approve ``plan``, create a run for it and run it to the end; returns the RunRecord."""
    plan = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
    plan_id = approved_plan(engine, plan)
    run_id = runner.create_run(plan_id, 1, plan, requested_by="alice", **create)
    return runner.run_sync(run_id)


@dataclass
class Handover:
    """A run whose first owner is still busy in a tool while a second owner holds it."""

    first: Runner
    second: Runner
    run_id: str
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)


@contextmanager
def handed_over(engine: Engine, registry: ToolRegistry, data_dir: Path, plan: Plan,
                started: threading.Event, release: threading.Event,
                **first_options: Any) -> Iterator[Handover]:
    """Run ``plan`` under a first owner in a thread; once its tool set ``started``, hand the run
    to a second owner. On exit the first owner's tool is released and its thread joined."""
    first = make_runner(engine, registry, data_dir, **first_options)
    run_id = first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            first.run_sync(run_id)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert started.wait(20)
        second = make_runner(engine, registry, data_dir)
        lease = second.store.run_row(run_id)["lease_expires_at"]
        assert second.store.take_over(run_id, second.owner_id, expected_owner=first.owner_id,
                                      expected_lease=lease, lease_s=30)
        yield Handover(first, second, run_id, thread, errors)
    finally:
        release.set()
        thread.join(20)


async def no_wait(_delay: float) -> None:
    """A runner's ``sleep`` that waits no backoff at all."""
    return None


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed on return)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_failing_tool(engine: Engine, data_dir: Path, fail: Any, *,
                     sleep: Any = no_wait) -> tuple[Any, list[int]]:
    """Run a one-step plan of ``svc.fetch`` (3 tries, 0.5 s backoff, no jitter), a tool that
    raises ``fail()`` (or what ``fail`` raises): the run's record and the attempts called."""
    calls: list[int] = []
    registry = ToolRegistry()

    @registry.tool("svc.fetch", retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.5,
                                                  jitter=0))
    def fetch(context: ToolContext) -> str:
        """Fails with the error under test."""
        calls.append(context.attempt)
        raise fail()

    record = run_plan(make_runner(engine, registry, data_dir, sleep=sleep), engine,
                      {"goal": "g", "steps": [{"id": "s", "tool": "svc.fetch"}]})
    return record, calls


class Sleeps:
    """Backoff waits, recorded (with what had happened before each) instead of slept."""

    def __init__(self, events: list[str] | None = None) -> None:
        self.delays: list[float] = []
        self.events = events if events is not None else []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.events.append(f"sleep {delay:g}")

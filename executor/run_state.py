"""What the run loop knows of one run while it runs it (``RunState``), and the progress
events it reports (``StepProgress``): built once from the store, then updated in memory by
``executor.loop.StepLoop``."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planner.plan import Plan, Step
from tools import Effect

from .calls import Call
from .draining import Drain
from .runtime_gate import RuntimeGate
from .scheduling import StepStatus
from .store.runs import StepState


@dataclass(frozen=True)
class StepProgress:
    """A step changed state (for progress views)."""

    run_id: str
    step_id: str
    status: StepStatus
    attempt: int
    error: str | None = None


@dataclass
class RunState:  # noqa: D101 - documented below
    """Everything the loop of one run knows; built once from the store, updated in memory."""

    run_id: str
    plan_id: str
    requester: str
    plan: Plan
    by_id: dict[str, Step]
    concurrency: int
    steps: dict[str, StepState]
    states: dict[str, StepStatus]
    deps: dict[str, tuple[str, ...]]
    dependents: dict[str, list[str]]
    rank: dict[str, int]
    waiting: dict[str, int]
    frontier: list[tuple[int, str]]
    outputs: dict[str, Any] = field(default_factory=dict)
    running: deque[str] = field(default_factory=deque)
    calls: dict[str, Call] = field(default_factory=dict)
    # Steps journalled this turn whose tools start once the turn's commit is done; their
    # starts are committed by that commit, never by one made earlier within the turn.
    launch: list[tuple[str, Callable[..., Call]]] = field(default_factory=list)
    args: dict[str, dict[str, Any]] = field(default_factory=dict)
    effects: dict[str, Effect] = field(default_factory=dict)
    secret_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)
    # Retries waiting out their backoff, then their turn (the tool not called yet): dropped
    # once the run stops.
    backoffs: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    # Their turns: set once every attempt started before the retry has been settled.
    turns: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    failure: str | None = None
    cancelled: bool = False
    last_poll: float = 0.0
    # The runtime policy check of this run's calls, made at the first call it is asked about.
    gate: RuntimeGate | None = None
    # Its process's shutdown (executor.draining): once requested, start nothing more.
    drain: Drain | None = None

    @property
    def stopping(self) -> bool:
        """True once a step failed or a cancel was seen: start no new steps."""
        return self.failure is not None or self.cancelled

    @property
    def draining(self) -> bool:
        """True once the process shuts down: start no new step and no retry's call; the run
        is left to its next owner (not ended, unlike ``stopping``)."""
        return self.drain is not None and self.drain.requested

"""The runner: executes one approved plan version durably, deterministically, step by step.

Each attempt: resolve references → runtime check (write or egress calls) →
journal "attempt started" (commit) → call the tool under a real timeout with
the step's idempotency key → journal the result (commit). Results are
committed in the order attempts were started (a FIFO), whatever order the
tools finish in, and steps start in topological order: so the ledger and the
outputs of a run do not depend on timing. A step finishing early waits, in
memory, for its turn; the price is some head-of-line waiting between
independent branches.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from planner.plan import Plan, Reference, Step, follow_path, resolve_references
from tools import BatonError, Effect, ToolContext, ToolRegistry, ToolSpec

from . import crash
from .artifacts import ArtifactStore
from .calls import (Outcome, call_tool, error_code, error_text, mask_args, referenced_secrets,
                    run_in_loop, secret_fields)
from .checks import NO_CHECK_CONFIGURED, RuntimeCheck, StepCall
from .errors import LeaseLostError, RunError, RunNotFoundError, RunOwnedError
from .ledger import Ledger
from .ownership import new_owner_id, owner_gone
from .records import RunRecord, RunStatus
from .retry import decide, effective_policy
from .scheduling import StepStatus, ready_steps
from .store.runs import RunStore, StepState, aware, utcnow
from .telemetry import bind_log, span

log = bind_log()


@dataclass(frozen=True)
class StepProgress:
    """A step changed state (for progress views)."""

    run_id: str
    step_id: str
    status: StepStatus
    attempt: int
    error: str | None = None


@dataclass
class _RunState:
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
    tasks: dict[str, asyncio.Future[Outcome]] = field(default_factory=dict)
    attempt_pk: dict[str, int] = field(default_factory=dict)
    args: dict[str, dict[str, Any]] = field(default_factory=dict)
    secret_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)
    failure: str | None = None
    cancelled: bool = False
    last_poll: float = 0.0

    @property
    def stopping(self) -> bool:
        return self.failure is not None or self.cancelled


class Runner:
    """Runs, resumes and picks up runs; one instance is one owner."""

    def __init__(self, engine: Engine, ledger: Ledger, registry: ToolRegistry,
                 runtime_check: RuntimeCheck | None = None, *, artifacts: ArtifactStore,
                 owner_id: str | None = None, concurrency: int | None = None,
                 per_tool_concurrency: Mapping[str, int] | None = None, lease_s: float = 30.0,
                 secrets: Mapping[str, str] | None = None, workspace: Path | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 observer: Callable[[StepProgress], None] | None = None) -> None:
        self.store = RunStore(engine, ledger, clock=clock)
        self.registry = registry
        self.runtime_check = runtime_check
        self.artifacts = artifacts
        self.owner_id = owner_id or new_owner_id()
        self.concurrency = concurrency
        self.per_tool = dict(per_tool_concurrency or {})
        self.lease_s = lease_s
        self.poll_s = min(lease_s / 3, 1.0)
        self.secrets = dict(secrets or {})
        self.workspace = workspace
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep
        self.observer = observer
        self._crash = crash.crash_target()
        self._secret_fields: dict[str, frozenset[str]] = {}

    # -- entry points -----------------------------------------------------------------

    def create_run(self, plan_id: str, version: int, plan: Plan, *, requested_by: str,
                   run_id: str | None = None, detach: bool = False,
                   concurrency: int | None = None) -> str:
        """Record a new run of an approved plan version (RUN_START); owned by this runner unless detached."""
        import uuid

        run_id = run_id or f"r-{uuid.uuid4().hex[:12]}"
        self.store.create(
            run_id=run_id, plan_id=plan_id, version=version, plan_hash=plan.plan_hash(),
            steps=[(s.id, s.tool) for s in plan.steps], requested_by=requested_by,
            concurrency=concurrency or self.concurrency or 4,
            owner=None if detach else self.owner_id, lease_s=self.lease_s)
        return run_id

    def run_sync(self, run_id: str) -> RunRecord:
        """Run ``run_id`` to its end in a private event loop (see :meth:`run`)."""
        return run_in_loop(self.run(run_id), threads=max(32, 4 * (self.concurrency or 4)))

    def resume_sync(self, run_id: str, *, actor: str = "executor") -> RunRecord:
        """Take over ``run_id`` (see :meth:`take_over`) and run it to its end."""
        self.take_over(run_id, actor=actor)
        return self.run_sync(run_id)

    async def resume(self, run_id: str, *, actor: str = "executor") -> RunRecord:
        """Take over ``run_id`` (see :meth:`take_over`) and run it in the current loop."""
        self.take_over(run_id, actor=actor)
        return await self.run(run_id)

    def take_over(self, run_id: str, *, actor: str = "executor") -> None:
        """Claim a run whose owner is gone; refuse, naming the owner, while it is alive.

        A failed run's failed steps go back to pending (their history kept); the
        step that was in flight is re-attempted with the same idempotency key.
        """
        row = self.store.run_row(run_id)
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r}")
        status = RunStatus(row["status"])
        if status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED):
            raise RunError(f"run {run_id} has already {status.value}; there is nothing to resume")
        owner, lease = row["owner"], aware(row["lease_expires_at"])
        if owner not in (None, self.owner_id) and not owner_gone(owner, lease, self.clock()):
            raise RunOwnedError(f"run {run_id} is owned by {owner}, which is still alive "
                                f"(lease until {lease:%Y-%m-%d %H:%M:%S} UTC); not resuming it")
        took = self.store.take_over(run_id, self.owner_id, expected_owner=owner,
                                    lease_s=self.lease_s, actor=actor,
                                    resume_failed=status is RunStatus.FAILED)
        if took is None:
            raise RunOwnedError(f"run {run_id} was claimed by another process first")

    def worker(self, *, once: bool = False, idle_s: float = 1.0,
               should_stop: Callable[[], bool] = lambda: False) -> int:
        """Run queued runs and runs whose owner's lease expired; with ``once``, stop when none is left."""
        done = 0
        while not should_stop():
            claimed = self.store.claim_next(self.owner_id, self.lease_s)
            if claimed is None:
                if once:
                    break
                time.sleep(idle_s)
                continue
            run_id, _ = claimed
            log.info("worker claimed run", run_id=run_id, owner=self.owner_id)
            try:
                self.run_sync(run_id)
            except RunError as exc:  # one run's problem must not stop the worker
                log.warning("run stopped", run_id=run_id, error=exc.message)
            done += 1
        return done

    async def run(self, run_id: str) -> RunRecord:
        """Execute a run this runner owns until it succeeds, fails or is cancelled."""
        row = self.store.run_row(run_id)
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r}")
        if row["owner"] != self.owner_id:
            raise RunOwnedError(f"run {run_id} is owned by {row['owner'] or 'nobody'}, not by this "
                                "process: resume it or let a worker pick it up")
        with span("baton.run", run_id=run_id, plan_id=row["plan_id"]):
            state = self._load(row)
            if isinstance(state, str):
                self.store.finish(run_id, self.owner_id, RunStatus.FAILED, state)
            else:
                self.store.mark_running(run_id)
                with self.store.pinned():
                    await self._loop(state)
                self._finish(state)
        record = self.store.get(run_id)
        assert record is not None
        return record

    # -- loading ---------------------------------------------------------------------

    def _load(self, row: dict[str, Any]) -> _RunState | str:
        """The loop's state, or why the run must not go on (the plan changed since approval)."""
        plan_json, stored_hash = self.store.plan_source(row["plan_id"], row["version"])
        plan = Plan.model_validate_json(plan_json)
        if plan.plan_hash() != row["plan_hash"] or stored_hash != row["plan_hash"]:
            return (f"plan {row['plan_id']} v{row['version']} no longer matches the approved hash "
                    f"{row['plan_hash'][:12]}…; refusing to run it")
        order = plan.topological_order()
        rank = {sid: i for i, sid in enumerate(order)}
        deps = {s.id: tuple(d for d in s.dependencies() if d in rank) for s in plan.steps}
        dependents: dict[str, list[str]] = {sid: [] for sid in rank}
        for sid, ds in deps.items():
            for d in ds:
                dependents[d].append(sid)
        steps = {st.step_id: st for st in self.store.step_states(row["id"])}
        states = {sid: st.status for sid, st in steps.items()}
        waiting = {sid: sum(states[d] is not StepStatus.SUCCEEDED for d in deps[sid]) for sid in rank}
        frontier = sorted((rank[sid], sid) for sid in rank
                          if states[sid] is StepStatus.PENDING and waiting[sid] == 0)
        return _RunState(
            run_id=row["id"], plan_id=row["plan_id"], requester=row["requested_by"], plan=plan,
            by_id={s.id: s for s in plan.steps},
            concurrency=self.concurrency or row["concurrency"], steps=steps, states=states,
            deps=deps, dependents=dependents, rank=rank, waiting=waiting, frontier=frontier)

    # -- the loop ---------------------------------------------------------------------

    async def _loop(self, st: _RunState) -> None:
        self._poll(st, force=True)
        while True:
            if not st.stopping and st.frontier:
                self._start_ready(st)
            if not st.running:
                return
            head = st.running[0]
            task = st.tasks[head]
            if not task.done():
                await asyncio.wait({task}, timeout=self.poll_s)
                self._poll(st)
                if not task.done():
                    continue
            st.running.popleft()
            del st.tasks[head]
            self._settle(st, head, task.result())
            self._poll(st)

    def _start_ready(self, st: _RunState) -> None:
        candidates = [sid for _, sid in st.frontier]
        chosen = ready_steps(candidates, st.deps, st.states, running=list(st.running),
                             tool_of={sid: st.steps[sid].tool for sid in candidates + list(st.running)},
                             concurrency=st.concurrency, per_tool=self.per_tool)
        for sid in chosen:
            st.frontier.remove((st.rank[sid], sid))
            self._start_step(st, sid)

    def _poll(self, st: _RunState, *, force: bool = False) -> None:
        """Renew the lease and look for a cancel request, at most every ``poll_s``."""
        now = self.monotonic()
        if not force and now - st.last_poll < self.poll_s:
            return
        st.last_poll = now
        cancel = self.store.renew(st.run_id, self.owner_id, self.lease_s)
        if cancel is None:
            raise LeaseLostError(f"run {st.run_id} was taken over by another process")
        if cancel and not st.cancelled:
            st.cancelled = True
            log.info("cancel requested; finishing running steps", run_id=st.run_id)

    def _finish(self, st: _RunState) -> None:
        if st.cancelled:
            status, error = RunStatus.CANCELLED, None
        elif st.failure is not None:
            status, error = RunStatus.FAILED, st.failure
        elif all(s is StepStatus.SUCCEEDED for s in st.states.values()):
            status, error = RunStatus.SUCCEEDED, None
        else:
            status, error = RunStatus.FAILED, "some steps could not be scheduled (per-tool limit 0?)"
        self.store.finish(st.run_id, self.owner_id, status, error, cancelled=st.cancelled)
        log.info("run ended", run_id=st.run_id, status=status.value)

    # -- one step ---------------------------------------------------------------------

    def _start_step(self, st: _RunState, sid: str) -> None:
        step = st.by_id[sid]
        try:
            spec = self.registry.get(step.tool)
            args = resolve_references(step.args, lambda ref: self._lookup(st, ref))
        except (BatonError, KeyError) as exc:
            self._start_attempt(st, sid, spec=None, args=step.args, delay_s=0)
            message = exc.message if isinstance(exc, BatonError) else f"reference: {exc.args[0]}"
            self._fail_for_good(st, sid, message, "preparation", retryable=False)
            return
        names = referenced_secrets(args)
        if not self._check(st, sid, spec, args, names):
            return
        unknown = [n for n in names if n not in self.secrets]
        if unknown:  # after the check: the policy names what may go where; settings name what exists
            self._start_attempt(st, sid, spec=None, args=step.args, delay_s=0)
            self._fail_for_good(st, sid, f"secret {unknown[0]!r} is not configured",
                                "missing_secret", retryable=False)
            return
        st.secret_names[sid] = names
        st.args[sid] = args
        st.tries[sid] = 0
        self._start_attempt(st, sid, spec=spec, args=args, delay_s=0)

    def _lookup(self, st: _RunState, ref: Reference) -> Any:
        return follow_path(self._output(st, ref.step), ref.path)

    def _output(self, st: _RunState, sid: str) -> Any:
        if sid in st.outputs:
            return st.outputs[sid]
        row = st.steps[sid]
        if row.output_uri is not None:
            return self.artifacts.load(row.output_uri)  # not cached: artifacts can be large
        value = json.loads(row.output_json) if row.output_json is not None else None
        st.outputs[sid] = value
        return value

    def _check(self, st: _RunState, sid: str, spec: ToolSpec, args: dict[str, Any],
               secret_names: tuple[str, ...]) -> bool:
        """Ask the runtime check about a write, egress or secret-using call; a denial fails the step."""
        effect = spec.effect_of(args)
        if effect is not Effect.WRITE and "egress" not in spec.tags and not secret_names:
            return True
        sources = [self.registry.get(st.by_id[d].tool) for d in st.deps[sid]
                   if st.by_id[d].tool in self.registry]
        call = StepCall(run_id=st.run_id, plan_id=st.plan_id, step_id=sid, tool=spec.name,
                        effect=effect.value, args=args, tags=tuple(spec.tags), region=spec.region,
                        requester=st.requester, source_tools=tuple(s.name for s in sources),
                        source_regions=tuple(sorted({s.region for s in sources if s.region})))
        decision = NO_CHECK_CONFIGURED if self.runtime_check is None else self.runtime_check.check_step(call)
        deny = [str(d) for d in decision.deny]
        allowed = bool(decision.allow) and not deny
        error = None if allowed else f"denied by runtime policy: {'; '.join(deny) or 'not allowed'}"
        self.store.record_check(st.run_id, st.steps[sid], {
            "step": sid, "tool": spec.name, "effect": effect.value, "allow": allowed, "deny": deny,
            "engine": decision.engine, "bundle_hash": decision.bundle_hash}, denied_error=error)
        if not allowed:
            self._mark(st, sid, StepStatus.FAILED, error)
            st.failure = st.failure or f"step {sid} failed: {error}"
        return allowed

    def _start_attempt(self, st: _RunState, sid: str, *, spec: ToolSpec | None,
                       args: dict[str, Any], delay_s: float) -> None:
        row = st.steps[sid]
        attempt = row.attempts + 1
        step = st.by_id[sid]
        masked = mask_args(step.args, self._secrets_of(spec)) if spec else step.args
        st.attempt_pk[sid] = self.store.start_attempt(st.run_id, row, attempt, {
            "step": sid, "tool": step.tool, "attempt": attempt, "args": masked,
            "delay_s": round(delay_s, 6)})
        row.attempts = attempt
        self._mark(st, sid, StepStatus.RUNNING, None)
        self._maybe_crash(crash.CrashPoint.AFTER_ATTEMPT_STARTED, sid)
        if spec is None:
            return
        context = ToolContext(
            idempotency_key=row.key, run_id=st.run_id, step_id=sid, attempt=attempt,
            secrets={n: self.secrets[n] for n in (*spec.secrets, *st.secret_names.get(sid, ()))
                     if n in self.secrets},
            workspace=self.workspace)
        timeout = step.timeout_s or spec.timeout_s
        st.running.append(sid)
        st.tasks[sid] = asyncio.ensure_future(self._attempt(spec, args, context, timeout, delay_s))

    async def _attempt(self, spec: ToolSpec, args: dict[str, Any], context: ToolContext,
                       timeout: float, delay_s: float) -> Outcome:
        with span("baton.attempt", run_id=context.run_id, step_id=context.step_id,
                  attempt=context.attempt, tool=spec.name):
            return await call_tool(spec, args, context, timeout_s=timeout, delay_s=delay_s,
                                   sleep=self.sleep)

    def _settle(self, st: _RunState, sid: str, outcome: Outcome) -> None:
        """Commit one attempt's result (in FIFO order), then retry, fail or release dependents."""
        self._maybe_crash(crash.CrashPoint.AFTER_TOOL_RETURNED, sid)
        row = st.steps[sid]
        if outcome.error is None:
            stored = self.artifacts.keep(outcome.output)
            payload: dict[str, Any] = {"step": sid, "attempt": row.attempts}
            if stored.uri is None:
                payload["output"] = outcome.output
                st.outputs[sid] = outcome.output
            else:
                payload.update(output_uri=stored.uri, output_sha256=stored.sha256, size=stored.size)
                row.output_uri = stored.uri
            self.store.record_success(st.run_id, row, st.attempt_pk.pop(sid), stored, payload)
            self._mark(st, sid, StepStatus.SUCCEEDED, None)
            self._release(st, sid)
            self._maybe_crash(crash.CrashPoint.BETWEEN_STEPS, sid)
            return
        self._retry_or_fail(st, sid, outcome.error)

    def _retry_or_fail(self, st: _RunState, sid: str, error: BaseException) -> None:
        row = st.steps[sid]
        step = st.by_id[sid]
        spec = self.registry.get(step.tool)
        st.tries[sid] = st.tries.get(sid, 0) + 1
        decision = None if st.stopping else decide(
            error, st.tries[sid], effective_policy(step.retry, spec.retry),
            seed=f"{st.run_id}:{sid}:{row.attempts}")
        text, retryable = error_text(error), decision is not None
        if decision is None:
            self._fail_for_good(st, sid, text, error_code(error),
                                retryable=bool(getattr(error, "retryable", False)))
            return
        self.store.record_failure(st.run_id, row, st.attempt_pk.pop(sid), error=text,
                                  retryable=retryable, final=False, payload={
                                      "step": sid, "attempt": row.attempts, "error": text,
                                      "code": error_code(error), "retryable": True,
                                      "retry_in_s": round(decision.delay_s, 6)})
        bind_log(run_id=st.run_id, step_id=sid, attempt=row.attempts).warning(
            "attempt failed; retrying", delay_s=decision.delay_s, error=text)
        self._start_attempt(st, sid, spec=spec, args=st.args[sid], delay_s=decision.delay_s)

    def _fail_for_good(self, st: _RunState, sid: str, text: str, code: str, *, retryable: bool) -> None:
        row = st.steps[sid]
        self.store.record_failure(st.run_id, row, st.attempt_pk.pop(sid), error=text,
                                  retryable=retryable, final=True, payload={
                                      "step": sid, "attempt": row.attempts, "error": text,
                                      "code": code, "retryable": retryable, "retry_in_s": None})
        self._mark(st, sid, StepStatus.FAILED, text)
        st.failure = st.failure or f"step {sid} failed: {text}"
        bind_log(run_id=st.run_id, step_id=sid, attempt=row.attempts).warning("step failed", error=text)

    def _release(self, st: _RunState, sid: str) -> None:
        for child in st.dependents[sid]:
            st.waiting[child] -= 1
            if st.waiting[child] == 0 and st.states[child] is StepStatus.PENDING:
                bisect.insort(st.frontier, (st.rank[child], child))

    def _mark(self, st: _RunState, sid: str, status: StepStatus, error: str | None) -> None:
        st.states[sid] = status
        st.steps[sid].status = status
        if self.observer is not None:
            self.observer(StepProgress(st.run_id, sid, status, st.steps[sid].attempts, error))

    def _secrets_of(self, spec: ToolSpec) -> frozenset[str]:
        names = self._secret_fields.get(spec.name)
        if names is None:
            names = self._secret_fields[spec.name] = secret_fields(spec)
        return names

    def _maybe_crash(self, point: crash.CrashPoint, sid: str) -> None:
        if self._crash is not None and self._crash == (point, sid):
            crash.crash_now()


__all__ = ["LeaseLostError", "RunError", "RunNotFoundError", "RunOwnedError", "Runner", "StepProgress"]

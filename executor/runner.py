"""The runner: executes one approved plan version durably, deterministically, step by step.

Entry points (create, run, resume, take over, worker) live here; the loop
and one step's life are in :mod:`executor.loop`.

Each attempt: resolve references → runtime check (write, egress or
secret-using calls) → journal "attempt started" (committed, together with
the result that made the step ready) → call the tool under a real timeout
with the step's idempotency key → journal the result. A step finishing
early waits, in memory, for its FIFO turn; the price is some head-of-line
waiting between independent branches.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from planner.plan import Plan, order_by_dependencies
from tools import BatonError, ToolRegistry

from . import crash, outage
from .artifacts import ArtifactStore
from .tool_threads import run_in_loop
from .checks import RuntimeCheck
from .draining import Drain
from .errors import (
    LeaseLostError,
    RunDeferredError,
    RunError,
    RunLeftError,
    RunNotFoundError,
    RunOwnedError,
)
from .ledger import Ledger, SystemActor
from .loop import RunState, StepLoop, StepProgress
from .ownership import new_owner_id, owner_gone
from .records import RunRecord, RunStatus
from .scheduling import StepStatus
from .store.claims import INTERNAL_ERROR_IN_FLIGHT
from .store.db import StoreError, is_connection_loss, is_database_error, is_transient
from .store.runs import RunSnapshot, RunStore, aware, utcnow
from .telemetry import NOOP_SPAN, bind_log, fail_span, span

log = bind_log()


class Runner(StepLoop):
    """Runs, resumes and picks up runs; one instance is one owner."""

    def __init__(self, engine: Engine, ledger: Ledger, registry: ToolRegistry,
                 runtime_check: RuntimeCheck | None = None, *, artifacts: ArtifactStore,
                 owner_id: str | None = None, concurrency: int | None = None,
                 per_tool_concurrency: Mapping[str, int] | None = None, lease_s: float = 30.0,
                 secrets: Mapping[str, str] | None = None, workspace: Path | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 observer: Callable[[StepProgress], None] | None = None,
                 admission: Callable[[str, int], None] | None = None) -> None:
        self.store = RunStore(engine, ledger, clock=clock)
        # Asked, before any run executes (started, resumed or picked up by a worker), whether
        # its plan version may still run; raises a BatonError naming why not. The application
        # passes the approval gate's check: approvals expire and approvers lose their roles.
        self.admission = admission
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

    def run_sync(self, run_id: str, *, detail: bool = True, drain: Drain | None = None
                 ) -> RunRecord:
        """Run ``run_id`` to its end in a private event loop (see :meth:`run`)."""
        return run_in_loop(self.run(run_id, detail=detail, drain=drain),
                           threads=max(32, 4 * (self.concurrency or 4)))

    def resume_sync(self, run_id: str, *, actor: str = SystemActor.EXECUTOR.value,
                    detail: bool = True, drain: Drain | None = None) -> RunRecord:
        """Take over ``run_id`` (see :meth:`take_over`) and run it to its end (see :meth:`run`)."""
        self.take_over(run_id, actor=actor)
        return self.run_sync(run_id, detail=detail, drain=drain)

    async def resume(self, run_id: str, *, actor: str = SystemActor.EXECUTOR.value) -> RunRecord:
        """Take over ``run_id`` (see :meth:`take_over`) and run it in the current loop."""
        self.take_over(run_id, actor=actor)
        return await self.run(run_id)

    def take_over(self, run_id: str, *, actor: str = SystemActor.EXECUTOR.value) -> None:
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
        # The lease is judged by the clock that set it (the database's, on PostgreSQL): this
        # machine's clock running ahead must not make a live owner's lease look expired.
        if owner not in (None, self.owner_id) and not owner_gone(owner, lease,
                                                                 self.store.database_now()):
            raise RunOwnedError(f"run {run_id} is owned by {owner}, which is still alive "
                                f"(lease until {lease:%Y-%m-%d %H:%M:%S} UTC); not resuming it")
        took = self.store.take_over(run_id, self.owner_id, expected_owner=owner,
                                    expected_lease=row["lease_expires_at"], lease_s=self.lease_s,
                                    actor=actor, resume_failed=status is RunStatus.FAILED)
        if took is None:
            raise RunOwnedError(f"run {run_id} was claimed by another process, or its owner "
                                "renewed its lease, as it was being taken over; not resuming it")

    def worker(self, *, once: bool = False, idle_s: float = 1.0,
               should_stop: Callable[[], bool] = lambda: False,
               wait_for_database_s: float | None = None, drain: Drain | None = None) -> int:
        """Run queued runs and runs whose owner's lease expired; with ``once``, stop when none is
        left. Returns how many runs it ended (succeeded, failed or cancelled).

        Once ``drain`` is requested it claims no run, and the run it is running starts
        nothing more: it is ended, or left for another worker (see :mod:`executor.draining`;
        not counted, its warning names it).

        A run that stops on an error is logged with its id and the worker goes on: after a
        lost lease, a database failure naming the run or a deferred admission check, the run
        is not counted (the warning "run stopped" says why: it is left to its new owner, a
        resume, or a worker once the lease ends); after an unexpected exception (a bug),
        logged with its traceback, the run has ended failed (see :meth:`run`).

        While looking for the next run, a transient database failure (a deadlock, a
        serialization failure, a busy SQLite file) is tried again after a short random wait;
        a lost or refused connection to PostgreSQL (a restart, a failover: see
        :func:`~executor.store.db.is_connection_loss`) is waited out (see
        :class:`~executor.outage.DatabaseOutage`) for ``wait_for_database_s`` (None: for
        ever, or ``ONCE_WAIT_S`` with ``once``), then raised. Any other failure (no schema,
        no permission, a SQLite file that cannot be opened) stops the worker with its
        ``StoreError``.
        """
        unavailable = outage.DatabaseOutage(self.owner_id,
                                            outage.wait_limit_s(once, wait_for_database_s),
                                            monotonic=self.monotonic, sleep=time.sleep)
        if drain is not None:
            should_stop = drain.or_requested(should_stop)
        done = 0
        while not should_stop():
            try:
                claimed = self.store.claim_next(self.owner_id, self.lease_s)
            except StoreError as exc:
                self._claim_failed(exc, unavailable, idle_s, should_stop)
                continue
            unavailable.answered()
            if claimed is None:
                if once:
                    break
                time.sleep(idle_s)
                continue
            run_id, _ = claimed
            log.info("worker claimed run", run_id=run_id, owner=self.owner_id)
            try:
                self.run_sync(run_id, detail=False, drain=drain)
            except RunLeftError:  # the process shuts down: left, and said so (see run)
                continue
            except BatonError as exc:  # one run's problem (a lost lease...) must not stop the worker
                # Not counted: taken over, given back or left for a resume, not ended here.
                log.warning("run stopped", run_id=run_id, error=exc.message)
                continue
            except Exception:  # noqa: BLE001 - a bug, a failing check: that run's alone
                # The run ended failed (or, its database gone too, was left for a resume):
                # the traceback says what broke.
                log.exception("run stopped on an internal error", run_id=run_id)
            done += 1
        if drain is not None and drain.requested:
            log.info("worker stopped claiming runs: shutting down", owner=self.owner_id)
        return done

    def _claim_failed(self, exc: StoreError, unavailable: outage.DatabaseOutage, idle_s: float,
                      should_stop: Callable[[], bool]) -> None:
        """Wait before the next claim after ``exc``, or raise it when it will not pass."""
        if is_connection_loss(exc):
            unavailable.failed(exc, should_stop)
            return
        if not is_transient(exc):
            raise exc
        log.warning("claim failed; trying again", owner=self.owner_id, error=exc.message)
        # Random: the other side of a deadlock retries too, and must not meet us again.
        time.sleep(random.uniform(0.05, max(0.1, min(idle_s, 1.0))))

    async def run(self, run_id: str, *, detail: bool = True, drain: Drain | None = None
                  ) -> RunRecord:
        """Execute a run this runner owns until it succeeds, fails or is cancelled.

        The record returned has the steps and attempts only with ``detail``:
        reading back a long run's every step is not free, and a caller that
        shows a summary (or nothing, like the worker) does not need them.

        An unexpected exception (no ``BatonError``: a bug) ends the run failed before it
        goes on up (see :meth:`_internal_errors_end`); a ``BatonError`` (a lost lease, a
        database failure) leaves the run as it is, for a resume.

        Once ``drain`` is requested the run starts nothing more; unless it ends in its grace,
        it is left (its lease given back, a warning naming it and its steps in flight) and
        ``RunLeftError`` raised (see :mod:`executor.draining`).
        """
        snapshot = self.store.snapshot(run_id)
        if snapshot is None:
            raise RunNotFoundError(f"no run {run_id!r}")
        row = snapshot.row
        if row["owner"] != self.owner_id:
            raise RunOwnedError(f"run {run_id} is owned by {row['owner'] or 'nobody'}, not by this "
                                "process: resume it or let a worker pick it up")
        # The span outside: an internal error's end is recorded on it, then its exception.
        with span("baton.run", run_id=run_id, plan_id=row["plan_id"],
                  secret_values=self._mask_values) as run_span, \
                self._internal_errors_end(run_id, run_span):
            state = self._refused(row) or self._load(snapshot)
            if isinstance(state, str):
                summary = self.store.finish(run_id, self.owner_id, RunStatus.FAILED, state)
            else:
                state.drain = drain
                self.store.mark_running(run_id, self.owner_id)
                try:
                    with self.store.pinned(run_id, self.owner_id):
                        await self._loop(state)
                except RunLeftError as left:
                    self._leave(left)
                    raise
                summary = self._finish(state)
            self._end_run_span(run_span, summary.status, summary.error)
        if not detail:
            return summary
        record = self.store.get(run_id)
        assert record is not None
        return record

    def _leave(self, left: RunLeftError) -> None:
        """Give the lease of a run left by a drain back now, so that another worker or a
        resume takes it over at once, and say so: which run, which steps, how it is finished."""
        run_id = left.run_id
        try:
            self.store.give_up(run_id, self.owner_id)
        except StoreError as exc:  # held until its lease ends, then taken over all the same
            log.warning("the run's lease is left to lapse", run_id=run_id, error=exc.message)
        finish = f"any worker takes it over now, or `baton resume {run_id}`"
        if left.in_flight:
            finish += ("; the steps in flight are called again with the same idempotency key "
                       "(a call that is not idempotent and may have had its effect is not: "
                       "its step fails)")
        log.warning("run left unfinished: shutting down", run_id=run_id,
                    in_flight=list(left.in_flight), finish=finish)

    def _end_run_span(self, run_span: Any, status: RunStatus, error: str | None) -> None:
        """Say on the run's span how the run ended; a failed run's span is an ERROR (a
        succeeded or cancelled one stays UNSET, as instrumentation leaves it)."""
        run_span.set_attribute("baton.run.status", status.value)
        if status is RunStatus.FAILED:
            fail_span(run_span, error or "failed", secret_values=self._mask_values)

    @contextmanager
    def _internal_errors_end(self, run_id: str, run_span: Any = NOOP_SPAN) -> Iterator[None]:
        """An unexpected exception in the block ends the owned run failed, then goes on up.

        Left running, the run would be claimed again each time its lease lapsed and its
        in-flight steps called again, every lease period, for ever. Ended failed it is
        resumable: its steps left in flight end failed (their attempt interrupted, as a
        cancel ends a dead owner's) and a resume calls them again with the same key. A
        database failure is no bug: the run stops, resumable, as on any other. The database
        gone too, the end cannot be recorded: that is logged and the run left for a resume.
        """
        try:
            yield
        except Exception as exc:
            if isinstance(exc, BatonError) or is_database_error(exc):
                raise
            if self._end_on_internal_error(run_id, exc):
                run_span.set_attribute("baton.run.status", RunStatus.FAILED.value)
            raise

    def _end_on_internal_error(self, run_id: str, exc: Exception) -> bool:
        """End ``run_id`` failed, naming ``exc`` (masked); log, never raise, if it cannot be.

        Whether it was ended."""
        # Masked before it is cut: a secret cut in two would escape the masking.
        what = _cut(self._storable(_first_line(exc)))
        cause = (f"internal error in the executor: {what}; see the traceback in the log of "
                 "the worker or command that ran it")
        try:
            self.store.finish(run_id, self.owner_id, RunStatus.FAILED, cause,
                              in_flight=INTERNAL_ERROR_IN_FLIGHT)
        except LeaseLostError as moved:  # taken over meanwhile: its end is its new owner's
            log.warning("the run's end is not recorded here", run_id=run_id, error=moved.message)
        except StoreError as failure:
            log.warning("the run's end could not be recorded; left for a resume", run_id=run_id,
                        error=failure.message)
        except Exception:  # noqa: BLE001 - the exception that brought us here goes on up
            log.exception("the run's end could not be recorded; left for a resume",
                          run_id=run_id)
        else:
            log.info("run ended failed on an internal error", run_id=run_id, error=cause)
            return True
        return False

    # -- loading ---------------------------------------------------------------------

    def _refused(self, row: Mapping[str, Any]) -> str | None:
        """Why the admission check says this run must not execute (None: it may, or it is
        being cancelled, which executes nothing).

        A check that cannot judge now (``RunDeferredError``: a settings file half-saved as
        the run was claimed) refuses nothing: the lease is given up and
        the error raised, the run left as it was for the next claim. A database failure
        under the check refuses nothing either: the run is left as it is, and its lease
        lapses (a failure that lasts must not have it claimed in a loop)."""
        if self.admission is None or row["cancel_requested"]:
            return None
        try:
            self.admission(row["plan_id"], row["version"])
        except RunDeferredError:
            # Claimed again at once only once the worker sees the cause gone (it looks at the
            # settings before each claim); a lapsing lease would hold it up for nothing.
            try:
                self.store.give_up(row["id"], self.owner_id)
            except StoreError as exc:
                log.warning("the run's lease is left to lapse", run_id=row["id"],
                            error=exc.message)
            raise
        except StoreError:
            raise  # left as it is: its lease lapses, and a worker claims it again then
        except BatonError as exc:
            return exc.message
        return None

    def _load(self, snapshot: RunSnapshot) -> RunState | str:
        """The loop's state, or why the run must not go on (the plan changed since approval)."""
        row, plan_json, stored_hash = snapshot.row, snapshot.plan_json, snapshot.plan_hash
        if plan_json is None:
            return f"plan {row['plan_id']} v{row['version']} is no longer stored; refusing to run it"
        try:
            plan = Plan.model_validate_json(plan_json)
        except ValidationError as exc:  # stored before a rule it breaks (a timeout bound) existed
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            return (f"plan {row['plan_id']} v{row['version']} no longer passes validation "
                    f"({where}: {first['msg']}); refusing to run it")
        if stored_hash != row["plan_hash"] or not _is_approved_text(plan, plan_json, row["plan_hash"]):
            return (f"plan {row['plan_id']} v{row['version']} no longer matches the approved hash "
                    f"{row['plan_hash'][:12]}…; refusing to run it")
        ids = [s.id for s in plan.steps]
        known = set(ids)
        deps = {s.id: tuple(d for d in s.dependencies() if d in known) for s in plan.steps}
        rank = {sid: i for i, sid in enumerate(order_by_dependencies(ids, deps))}
        dependents: dict[str, list[str]] = {sid: [] for sid in rank}
        for sid, ds in deps.items():
            for d in ds:
                dependents[d].append(sid)
        steps = {st.step_id: st for st in snapshot.steps}
        states = {sid: st.status for sid, st in steps.items()}
        waiting = {sid: sum(states[d] is not StepStatus.SUCCEEDED for d in deps[sid]) for sid in rank}
        frontier = sorted((rank[sid], sid) for sid in rank
                          if states[sid] is StepStatus.PENDING and waiting[sid] == 0)
        # A step that failed for good before a crash still stops the run (no new steps);
        # resuming the failed run, once the cause is fixed, is what sends it back.
        failed = next((st for st in steps.values() if st.status is StepStatus.FAILED), None)
        return RunState(
            run_id=row["id"], plan_id=row["plan_id"], requester=row["requested_by"], plan=plan,
            by_id={s.id: s for s in plan.steps},
            concurrency=self.concurrency or row["concurrency"], steps=steps, states=states,
            deps=deps, dependents=dependents, rank=rank, waiting=waiting, frontier=frontier,
            failure=f"step {failed.step_id} failed: {failed.error}" if failed else None)


def _first_line(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, the message's first line only: a run's cause is one line,
    and later lines (a database driver's) may carry parameters."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _cut(text: str, limit: int = 300) -> str:
    """``text`` cut at ``limit`` characters (an exception may hold a whole document)."""
    return text if len(text) <= limit else text[:limit] + "…"


def _is_approved_text(plan: Plan, plan_json: str, approved_hash: str) -> bool:
    """Whether the stored plan is the approved one: its text hashes to the approved hash.

    Plans are stored as their canonical JSON, so hashing the text is enough
    (and cheap); a text stored any other way is re-canonicalised first.
    """
    if hashlib.sha256(plan_json.encode("utf-8")).hexdigest() == approved_hash:
        return True
    return plan.plan_hash() == approved_hash


__all__ = ["LeaseLostError", "RunError", "RunNotFoundError", "RunOwnedError", "Runner", "StepProgress"]

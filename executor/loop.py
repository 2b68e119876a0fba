"""The run loop and one step's life: start ready steps, settle results in FIFO order, retry.

Each turn of the loop records the result of the attempt at the head of the
FIFO and the "attempt started" entries of the steps that became ready, then
commits them together (``RunStore.flush``) and only then calls the started
tools: journal-then-act holds with one commit per turn. Results are settled
in the order attempts were started, whatever order the tools finish in, and
steps start in topological order: the ledger and the outputs of a run do not
depend on timing.

A cancel is seen at the latest by the next commit: the commit reads the run's
cancel flag under its write lock, and once a cancel request has committed it
leaves out the steps' starts it holds (their results still commit). Those
steps are put back as never started, their tools not called, and the run ends
cancelled: no step starts after a committed cancel, whenever the loop last
polled. A retry decided in that turn is not called either: it ends as a retry
a cancel drops in its backoff does.

A commit made within a turn, before the turn's own (a preparation failure
commits its attempt at once; a runtime check that waits commits what the turn
settled), holds back the starts queued for the turn's commit (``st.launch``)
and their checks: their tools are not called yet, and a start committed reads
as a call that may have been made, which a resume would not make again for a
write that is not idempotent. They commit with the turn's commit, or, a cancel
having committed first, are left out by it: a step whose start was queued when
the cancel committed never starts, whichever commit of the turn saw it.

A retry is journalled when its failed attempt is settled. One without a backoff is
then called as a new step is (checked by the runtime policy, started at the turn's
commit); one with a backoff waits out its backoff and its turn first
(:mod:`executor.delayed_retries`).

The runtime check is asked and recorded by the loop's :class:`~executor.step_checks.StepChecks`
(asked off the loop, its verdict recorded where it would have been at once).

Configured secret values (the runner's and the ledger's) are masked in a
step's output and in every error text as soon as the loop takes them from a
tool, before anything stores, logs or passes them on: the stored row or
artifact, the ledger, the dependents and a resumed run all see the same
masked value, and a dependent can never forward a credential it was not
handed itself.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import Awaitable, Callable
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from planner.json_values import storable
from planner.plan import Reference, follow_path, resolve_references
from tools import BatonError, Effect, ToolContext, ToolError, ToolRegistry, ToolSpec
from tools.redaction import redact

from . import crash
from .artifacts import ArtifactError, ArtifactStore
from .call_payloads import mask_args, referenced_secrets, secret_fields
from .calls import (
    Call,
    Outcome,
    attempt_timeout_s,
    begin_call,
    cut_error_text,
    error_code,
    error_text,
)
from .checks import RuntimeCheck
from .delayed_retries import DelayedRetries
from .draining import drain_turn
from .errors import LeaseLostError
from .records import RunRecord, RunStatus
from .run_state import RunState, StepProgress
from .retry import (
    decide,
    effective_policy,
    no_call_after_interruption,
    retry_after_refusal,
    unsafe_repeat,
)
from .runtime_gate import DENIALS_MAX_CHARS, DENIALS_MAX_COUNT, TIME_BOUND_TAGS
from .scheduling import StepStatus, ready_steps
from .step_checks import StepChecks
from .store import attempt_log
from .store.db import StoreError
from .store.runs import RunStore
from .telemetry import bind_log, end_span, start_span

log = bind_log()

# The constants are the runtime gate's (executor.runtime_gate), kept importable from here.
__all__ = ["DENIALS_MAX_CHARS", "DENIALS_MAX_COUNT", "TIME_BOUND_TAGS", "RunState", "StepLoop",
           "StepProgress"]


class StepLoop:
    """The loop of one run and the life of its steps; :class:`~executor.runner.Runner` is one."""

    store: RunStore
    registry: ToolRegistry
    runtime_check: RuntimeCheck | None
    artifacts: ArtifactStore
    owner_id: str
    per_tool: dict[str, int]
    lease_s: float
    poll_s: float
    secrets: dict[str, str]
    workspace: Path | None
    monotonic: Callable[[], float]
    sleep: Callable[[float], Awaitable[Any]]
    observer: Callable[[StepProgress], None] | None
    _crash: tuple[crash.CrashPoint, str] | None
    _secret_fields: dict[str, frozenset[str]]

    # Its collaborators, made at their first use: cached on the instance, so the per-step
    # path pays one attribute lookup for them, nothing more.
    @cached_property
    def _checks(self) -> StepChecks:
        """Asks the runtime check about this loop's calls and records its verdicts."""
        return StepChecks(self)

    @cached_property
    def _retries(self) -> DelayedRetries:
        """The retries with a backoff: their wait, their check and their call."""
        return DelayedRetries(self)

    async def _loop(self, st: RunState) -> None:
        try:
            await self._turns(st)
        except BaseException as stop:  # a lost lease, a failed database...: calls left in flight
            self._keep_settled(st, stop)
            for call in st.calls.values():
                call.abandon()  # a retry still in its backoff must not call the tool later
                end_span(call.span, stop, secret_values=self._mask_values)
            st.calls.clear()
            raise

    async def _turns(self, st: RunState) -> None:
        self._poll(st, force=True)
        while True:
            if not st.stopping and st.frontier:
                await self._start_ready(st)
            self._commit(st)
            if st.stopping:  # after the commit: a retry it launched is dropped too
                self._retries.drop_waiting(st)
            if st.draining:  # shutting down: raises once the calls made end, or the grace
                drain_turn(st)
            if not st.running:
                return
            if await self._wait_for_head(st):
                await self._settle_finished(st)
                self._poll(st)

    def _keep_settled(self, st: RunState, stop: BaseException) -> None:
        """Commit what the turn recorded before ``stop`` ended the loop: the results it settled
        (a finished step, fetched or written again by a takeover otherwise) and their ledger
        events. The starts it queued for its commit (``st.launch``) are left out, with their
        checks: their tools were never called, and a start committed reads as a call that may
        have been made (a write that is not idempotent would never be called again); the next
        owner starts them afresh. Nothing once the run is another's; a commit that fails is
        logged, ``stop`` goes up."""
        if isinstance(stop, LeaseLostError):
            return
        try:
            self.store.flush(leave_out={sid for sid, _ in st.launch})
        except Exception as exc:  # noqa: BLE001 - the run stops on ``stop`` all the same
            log.warning("the results settled before the run stopped could not be committed",
                        run_id=st.run_id,
                        error=exc.message if isinstance(exc, BatonError) else type(exc).__name__)

    async def _wait_for_head(self, st: RunState) -> bool:
        """Wait for the oldest call, until it ends, its deadline or the next poll; whether it
        ended."""
        sid = st.running[0]
        call = st.calls[sid]
        turn = st.turns.pop(sid, None)
        if turn is not None and not turn.done() and not st.stopping:
            turn.set_result(None)  # a retry: every attempt started before it is settled
        loop = asyncio.get_running_loop()
        if call.ready(loop.time()):
            return True
        assert call.future is not None
        wait_s = min(self.poll_s, max(0.0, call.deadline - loop.time()))
        await asyncio.wait({call.future}, timeout=wait_s)
        self._poll(st)
        return call.ready(loop.time())

    async def _settle_finished(self, st: RunState) -> None:
        """Settle the oldest call, and every call behind it that has ended too, in start order.

        Their results share the next commit (a fan-out settles many steps per
        transaction). Each settle is followed by the starts it makes ready, as if
        committed one by one: the ledger's order does not depend on what ended when.
        """
        loop = asyncio.get_running_loop()
        while st.running:
            sid = st.running[0]
            call = st.calls.get(sid)  # None: a retry journalled this turn, not launched yet
            if call is None or not call.ready(loop.time()):
                return
            st.running.popleft()
            del st.calls[sid]
            outcome = call.outcome()
            end_span(call.span, outcome.error, secret_values=self._mask_values)
            await self._settle(st, sid, outcome)
            if not st.stopping and st.frontier:
                await self._start_ready(st)

    async def _start_ready(self, st: RunState) -> None:
        slots = st.concurrency - len(st.running)
        if slots <= 0 or st.draining:
            return
        if not self.per_tool:
            # Every frontier step is ready (pending, dependencies done): take the first ones.
            chosen = [sid for _, sid in st.frontier[:slots]]
        else:
            candidates = [sid for _, sid in st.frontier]
            chosen = ready_steps(candidates, st.deps, st.states, running=list(st.running),
                                 tool_of={sid: st.steps[sid].tool
                                          for sid in candidates + list(st.running)},
                                 concurrency=st.concurrency, per_tool=self.per_tool)
        for sid in chosen:
            # A cancel seen while an earlier one's runtime check was asked (StepChecks): no
            # step starts after it, and the rest are not checked for nothing. A drain either.
            if st.cancelled or st.draining:
                return
            st.frontier.remove((st.rank[sid], sid))
            await self._start_step(st, sid)

    def _commit(self, st: RunState) -> None:
        """One commit for the turn's results and starts; then, and only then, call the started
        tools."""
        self._flush(st)
        for sid, make_call in st.launch:
            self._maybe_crash(crash.CrashPoint.AFTER_ATTEMPT_STARTED, sid)
            # Cancelled, this commit left out every step's start (none committed before it:
            # see _flush): only retries are left, journalled and dropped uncalled.
            st.calls[sid] = make_call(stopped=st.cancelled)
        st.launch.clear()

    def _flush(self, st: RunState, *, within_turn: bool = False,
               in_order: bool = False) -> tuple[str, ...]:
        """Commit what is recorded; the steps whose start it left out, a cancel having
        committed first (see the module doc): the run is cancelled, and those steps that
        were to be called at this turn's commit are put back as never started.

        ``within_turn``: a commit that may come before the turn's own: the starts queued for
        that one (``st.launch``) are held back for it, their tools not called yet; with
        ``in_order`` (a commit whose moment depends on timing), everything recorded after
        the first of them too, so that the ledger's order does not depend on that moment."""
        hold = {sid for sid, _ in st.launch} if within_turn else ()
        dropped = self.store.flush(hold=hold, in_order=in_order)
        if self.store.cancel_seen and not st.cancelled:
            st.cancelled = True
            log.info("cancel requested; finishing running steps", run_id=st.run_id)
        if dropped:
            launching = {sid for sid, _ in st.launch}
            st.launch = [(sid, make_call) for sid, make_call in st.launch if sid not in dropped]
            for sid in dropped:
                if sid in launching:
                    self._unstart(st, sid)
        return dropped

    def _unstart(self, st: RunState, sid: str) -> None:
        """Undo :meth:`_start_step` for a step whose start was left out of the commit: pending
        and in the frontier again, its attempt count and log as they were (the store's row
        never changed), as a cancel leaves a step that never started."""
        row = st.steps[sid]
        row.attempt_log.pop()
        row.attempts -= 1
        if sid in st.running:
            st.running.remove(sid)
        for started in (st.args, st.effects, st.secret_names, st.tries):
            started.pop(sid, None)
        self._mark(st, sid, StepStatus.PENDING, None)
        bisect.insort(st.frontier, (st.rank[sid], sid))

    def _poll(self, st: RunState, *, force: bool = False) -> None:
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

    def _finish(self, st: RunState) -> RunRecord:
        if st.cancelled:
            status, error = RunStatus.CANCELLED, None
        elif st.failure is not None:
            # Masked again: a failure loaded from a step stored before its secret was configured.
            status, error = RunStatus.FAILED, self._storable(st.failure)
        elif all(s is StepStatus.SUCCEEDED for s in st.states.values()):
            status, error = RunStatus.SUCCEEDED, None
        else:
            status = RunStatus.FAILED
            error = "some steps could not be scheduled (per-tool limit 0?)"
        # A cancel that committed since the last look still ends a run that succeeded cancelled.
        summary = self.store.finish(st.run_id, self.owner_id, status, error)
        log.info("run ended", run_id=st.run_id, status=summary.status.value)
        return summary

    # -- one step ---------------------------------------------------------------------

    async def _start_step(self, st: RunState, sid: str) -> None:
        step = st.by_id[sid]
        try:
            spec = self.registry.get(step.tool)
            args = resolve_references(step.args, lambda ref: self._lookup(st, ref))
            effect = _effect_of(spec, args)
        except StoreError:
            raise  # the database failed reading an artifact, not the step: the run stops, resumable
        except (BatonError, KeyError) as exc:
            if not self._start_attempt(st, sid, spec=None, args=step.args, delay_s=0):
                return
            message = exc.message if isinstance(exc, BatonError) else f"reference: {exc.args[0]}"
            self._fail_for_good(st, sid, cut_error_text(message, self._storable), "preparation",
                                retryable=False)
            return
        names = referenced_secrets(args)
        log = st.steps[sid].attempt_log
        interrupted = attempt_log.interrupted_last(log)
        # A retry whose owner died while it waited out its backoff waits what is left of it,
        # and is checked when that wait is over, as a retry with a backoff is
        # (executor.delayed_retries).
        wait_s = attempt_log.wait_left(log[-1], self.store.clock()) if interrupted else 0.0
        if not wait_s and not await self._checks.check(st, sid, spec, args, effect, names,
                                                       starting=True):
            return
        if st.draining:  # it came as the check was asked: the next owner starts the step
            self.store.leave_out((sid,))  # and asks its check again: recorded once, by it
            bisect.insort(st.frontier, (st.rank[sid], sid))
            return
        # The tool's declared secrets too: left out, its context.secrets[...] was a KeyError.
        unknown = [n for n in (*spec.secrets, *names) if n not in self.secrets]
        # After the check: the policy names what may go where; settings name what exists.
        if unknown:
            if not self._start_attempt(st, sid, spec=None, args=step.args, delay_s=0):
                return
            self._fail_for_good(st, sid, f"secret {unknown[0]!r} is not configured",
                                "missing_secret", retryable=False)
            return
        st.secret_names[sid] = names
        st.args[sid] = args
        st.effects[sid] = effect
        # Failed or interrupted attempts before a crash count; a resumed failure starts afresh.
        st.tries[sid] = attempt_log.tries(log)
        refusal = no_call_after_interruption(
            interrupted, interrupted and attempt_log.may_have_called(log[-1]), st.tries[sid],
            effective_policy(step.retry, spec.retry), tool=spec.name, effect=effect,
            idempotent=spec.idempotent, sends_key=spec.sends_idempotency_key)
        if refusal is not None:  # journalled as an attempt that ends before calling anything
            if self._start_attempt(st, sid, spec=None, args=step.args, delay_s=0):
                self._fail_for_good(st, sid, refusal, "interrupted", retryable=False)
            return
        self._start_attempt(st, sid, spec=spec, args=args, delay_s=wait_s, new=True)

    def _lookup(self, st: RunState, ref: Reference) -> Any:
        # Outputs are masked before they are kept; masking what a reference reads as well
        # covers one stored before its secret was configured (and it is the same in a fresh
        # and a resumed run, so determinism holds either way).
        return self._masked(follow_path(self._output(st, ref.step), ref.path))

    def _output(self, st: RunState, sid: str) -> Any:
        if sid in st.outputs:
            return st.outputs[sid]
        row = st.steps[sid]
        if row.output_uri is not None:
            return self.artifacts.load(row.output_uri)  # not cached: artifacts can be large
        value = json.loads(row.output_json) if row.output_json is not None else None
        st.outputs[sid] = value
        return value

    def _start_attempt(self, st: RunState, sid: str, *, spec: ToolSpec | None,
                       args: dict[str, Any], delay_s: float, new: bool = False) -> bool:
        """Journal the attempt (a ``spec`` of None: one that fails before any call) and queue
        its call for the turn's commit; False when a cancel left it out (see :meth:`_flush`).
        A step's start (``new``, or a preparation failure), not a retry's, is left out so."""
        row = st.steps[sid]
        attempt = row.attempts + 1
        step = st.by_id[sid]
        masked = mask_args(step.args, self._secrets_of(spec)) if spec else step.args
        self.store.start_attempt(st.run_id, row, attempt, {
            "step": sid, "tool": step.tool, "attempt": attempt, "args": masked,
            "delay_s": round(delay_s, 6)}, backoff_s=delay_s, cancellable=new or spec is None)
        row.attempts = attempt
        self._mark(st, sid, StepStatus.RUNNING, None)
        if spec is None:
            # Preparation failed: its attempt commits at once, its failure next (the starts
            # queued before it wait for the turn's commit: their tools are not called yet).
            if sid in self._flush(st, within_turn=True):
                self._unstart(st, sid)
                return False
            return True
        timeout = attempt_timeout_s(spec, args, step.timeout_s or spec.timeout_s)
        context = ToolContext(
            idempotency_key=row.key, run_id=st.run_id, step_id=sid, attempt=attempt,
            secrets={n: self.secrets[n] for n in (*spec.secrets, *st.secret_names.get(sid, ()))},
            workspace=self.workspace, time_limit_s=timeout)
        st.running.append(sid)
        st.launch.append((sid, partial(self._launch, st, spec, args, context, timeout, delay_s)))
        return True

    def _launch(self, st: RunState, spec: ToolSpec, args: dict[str, Any], context: ToolContext,
                timeout: float, delay_s: float, *, stopped: bool = False) -> Call:
        """Start the tool now (its span ends when the loop settles it); a retry waits its backoff
        and then its turn (:meth:`_wait_for_head`) first, unless the run stops meanwhile (see
        :mod:`executor.delayed_retries`). ``stopped``: a retry whose start the commit that saw
        the cancel recorded; a start committed before it is called (see :meth:`_commit`)."""
        span = start_span("baton.attempt", run_id=context.run_id, step_id=context.step_id,
                          attempt=context.attempt, tool=spec.name)
        if stopped:  # a retry decided in the turn whose commit saw the cancel: as if dropped
            return self._retries.dropped(st, span)
        if delay_s <= 0:
            return begin_call(spec, args, context, timeout_s=timeout, span=span)
        return self._retries.launch(st, spec, args, context, timeout, delay_s, span)

    async def _settle(self, st: RunState, sid: str, outcome: Outcome) -> None:
        """Commit one attempt's result (in FIFO order), then retry, fail or release dependents."""
        self._maybe_crash(crash.CrashPoint.AFTER_TOOL_RETURNED, sid)
        row = st.steps[sid]
        if outcome.error is None:
            # Masked before anything keeps it: row, artifact, ledger and dependents alike.
            output = self._masked(outcome.output)
            try:
                stored = self.artifacts.keep(output)
            except ArtifactError as exc:  # a full disk: the step fails, naming it; the run ends
                self._fail_for_good(st, sid, f"its result could not be stored: {exc.message}",
                                    exc.code, retryable=False)
                return
            payload: dict[str, Any] = {"step": sid, "attempt": row.attempts}
            if stored.uri is None:
                payload["output"] = output
                st.outputs[sid] = output
            else:
                payload.update(output_uri=stored.uri, output_sha256=stored.sha256, size=stored.size)
                row.output_uri = stored.uri
            self.store.record_success(st.run_id, row, stored, payload)
            self._mark(st, sid, StepStatus.SUCCEEDED, None)
            self._release(st, sid)
            if self._crash is not None and self._crash == (crash.CrashPoint.BETWEEN_STEPS, sid):
                # The result alone, so that "between steps" exists to crash in.
                self._flush(st, within_turn=True)
                crash.crash_now()
            return
        await self._retry_or_fail(st, sid, outcome.error)

    async def _retry_or_fail(self, st: RunState, sid: str, error: BaseException) -> None:
        row = st.steps[sid]
        step = st.by_id[sid]
        spec = self.registry.get(step.tool)
        st.tries[sid] = st.tries.get(sid, 0) + 1
        policy = effective_policy(step.retry, spec.retry)
        decision = None if st.stopping else decide(
            error, st.tries[sid], policy, seed=f"{st.run_id}:{sid}:{row.attempts}")
        text = error_text(error, self._storable)  # masked before it is cut
        waits_too_long = None if st.stopping else retry_after_refusal(error, st.tries[sid], policy)
        if waits_too_long is not None:  # said whichever tool asked: not every message names it
            text = f"{text}; {waits_too_long}"
        if decision is not None:  # a call that may have had its effect is not repeated blindly
            refusal = unsafe_repeat(error, tool=spec.name, effect=st.effects[sid],
                                    idempotent=spec.idempotent,
                                    sends_key=spec.sends_idempotency_key)
            if refusal is not None:
                decision, text = None, f"{text}; {refusal}"
        text, retryable = self._storable(text), decision is not None
        if decision is None:
            self._fail_for_good(st, sid, text, error_code(error),
                                retryable=bool(getattr(error, "retryable", False)))
            return
        self.store.record_failure(st.run_id, row, error=text,
                                  retryable=retryable, final=False, payload={
                                      "step": sid, "attempt": row.attempts, "error": text,
                                      "code": error_code(error), "retryable": True,
                                      "retry_in_s": round(decision.delay_s, 6)})
        bind_log(run_id=st.run_id, step_id=sid, attempt=row.attempts).warning(
            "attempt failed; retrying", delay_s=decision.delay_s, error=text)
        if st.draining and decision.delay_s <= 0:  # not journalled: the next owner retries
            return  # (one with a backoff is, and left waiting: the next owner waits the rest)
        if decision.delay_s <= 0:  # called at the turn's commit, as a new step is: checked so
            allowed = await self._checks.check(st, sid, spec, st.args[sid], st.effects[sid],
                                               st.secret_names.get(sid, ()))
            # Its check cut short by a cancel (None): journalled all the same, and the turn's
            # commit, seeing the cancel, drops it uncalled (_commit), as any retry of that turn.
            # Cut short by a drain: not journalled, as above.
            if not (allowed or (allowed is None and st.cancelled)):
                return
            if st.draining and not st.cancelled:  # it came as the check was asked: neither
                self.store.leave_out((sid,))  # journalled nor called; the next owner checks
                return  # it again and records that once (a cancel's: dropped at the commit)
        self._start_attempt(st, sid, spec=spec, args=st.args[sid], delay_s=decision.delay_s)

    def _fail_for_good(self, st: RunState, sid: str, text: str, code: str, *,
                       retryable: bool) -> None:
        text = self._storable(text)
        row = st.steps[sid]
        self.store.record_failure(st.run_id, row, error=text,
                                  retryable=retryable, final=True, payload={
                                      "step": sid, "attempt": row.attempts, "error": text,
                                      "code": code, "retryable": retryable, "retry_in_s": None})
        self._mark(st, sid, StepStatus.FAILED, text)
        st.failure = st.failure or f"step {sid} failed: {text}"
        bind_log(run_id=st.run_id, step_id=sid, attempt=row.attempts).warning("step failed",
                                                                              error=text)

    def _release(self, st: RunState, sid: str) -> None:
        for child in st.dependents[sid]:
            st.waiting[child] -= 1
            if st.waiting[child] == 0 and st.states[child] is StepStatus.PENDING:
                bisect.insort(st.frontier, (st.rank[child], child))

    def _mark(self, st: RunState, sid: str, status: StepStatus, error: str | None) -> None:
        st.states[sid] = status
        st.steps[sid].status = status
        if self.observer is not None:
            self.observer(StepProgress(st.run_id, sid, status, st.steps[sid].attempts, error))

    @cached_property
    def _mask_values(self) -> tuple[str, ...]:
        """Every secret value to mask: the runner's and the ledger's (which adds the LLM API
        key)."""
        # (redact drops empty values and orders them longest first itself)
        return tuple({*self.secrets.values(), *self.store.ledger.secret_values})

    def _masked(self, value: Any) -> Any:
        """``value`` with every configured secret value replaced by the ledger's marker."""
        return redact(value, self._mask_values)

    def _storable(self, text: str) -> str:
        """An error text as every place records it: secrets masked, and a lone surrogate or a
        NUL written as its escape (``\\udce9``, ``\\x00``), which UTF-8, PostgreSQL's text
        and the ledger can hold; the step row, its attempt log and the ledger all agree.
        (Texts from a tool or a policy are cut first, by :func:`~executor.calls.cut_error_text`
        given this as its mask, to the one size every error is recorded at.)"""
        return storable(self._masked(text))

    def _secrets_of(self, spec: ToolSpec) -> frozenset[str]:
        names = self._secret_fields.get(spec.name)
        if names is None:
            names = self._secret_fields[spec.name] = secret_fields(spec)
        return names

    def _maybe_crash(self, point: crash.CrashPoint, sid: str) -> None:
        if self._crash is not None and self._crash == (point, sid):
            crash.crash_now()


def _effect_of(spec: ToolSpec, args: dict[str, Any]) -> Effect:
    """The call's effect; a tool's ``effect_from_args`` that raises is a ``ToolError`` naming it
    (the step fails before anything runs: its effect, so its check, is unknown)."""
    try:
        return spec.effect_of(args)
    except Exception as exc:  # noqa: BLE001 - the tool's own code, on arguments it did not expect
        raise ToolError(f"{spec.name}: its effect could not be decided from its arguments "
                        f"({type(exc).__name__}: {exc})") from exc

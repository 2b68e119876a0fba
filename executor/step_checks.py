"""The runtime check as the run loop makes it: asked without holding the run up, its verdict
recorded (the ``step_check`` ledger event) where it would have been at once.

:mod:`executor.runtime_gate` decides what is asked about a call and what its answer means;
this module asks and records for :class:`~executor.loop.StepLoop`, which holds one
:class:`StepChecks` and calls it before a step's start, a retry's without a delay, and a
delayed retry's call (:mod:`executor.delayed_retries`).

The runtime check's answer (a policy evaluation: seconds for a call sending megabytes) is
asked in a worker thread, the loop waiting for it: its lease is renewed meanwhile and, for a
check made within a turn, what the turn recorded before it is committed (a takeover would
otherwise run those steps again), up to the first start queued for the turn's commit: that
start's tool is not called yet (see :mod:`executor.loop`), and what was recorded after it
waits with it, so that the ledger's order does not depend on when the commit came. Its
verdict is recorded where it would have been at once, and calls that end meanwhile are
settled after it, in start order: the ledger does not depend on how long a check took.

A check that cannot judge now (``RunDeferredError``: the settings file naming the requester's
roles does not load, an editor's half-saved file) is asked again every ``poll_s`` until it
can, as a worker waits to claim runs while that file does not load: no call is made
unchecked, and the run neither stops nor fails over it. Meanwhile the lease is renewed and,
for a check made within a turn, what the turn recorded is committed as above (the step that
had just finished among it). A cancel seen meanwhile ends the wait: the step is not started (a
retry's attempt is journalled and dropped uncalled, as any retry of a cancelled turn is). So
does the process's drain (:mod:`executor.draining`): the step, or the retry, is left
unjournalled for the run's next owner.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from tools import Effect, ToolSpec
from tools.errors import RunDeferredError

from .checks import CheckOutcome
from .run_state import RunState
from .runtime_gate import GateQuestion, RuntimeDenial, RuntimeGate, answered
from .scheduling import StepStatus
from .store.runs import StepState
from .telemetry import bind_log

if TYPE_CHECKING:
    from .loop import StepLoop

log = bind_log()

# A retry's check, asked after its backoff and recorded when its call begins.
Asked = list[tuple[GateQuestion, CheckOutcome]]


class StepChecks:
    """Asks the runtime check about a loop's calls and records its verdicts.

    It reads the loop's settings when it uses them (a runner's ``runtime_check`` or
    ``poll_s`` may be set after it was made) and commits through the loop's own flush and
    poll, so that a cancel or a lost lease seen meanwhile is handled as at any commit.
    """

    def __init__(self, loop: StepLoop) -> None:
        self._loop = loop

    async def check(self, st: RunState, sid: str, spec: ToolSpec, args: dict[str, Any],
                    effect: Effect, secret_names: tuple[str, ...], *, starting: bool = False
                    ) -> bool | None:
        """Ask the runtime gate about the call (:mod:`executor.runtime_gate`); record its
        verdict, and fail the step on a denial. ``starting``: a new step's, whose allowed
        verdict is left out of the commit with its start (see :meth:`StepLoop._flush`).
        None, nothing recorded: the run was cancelled, or its process began to drain, while
        the check could not judge."""
        gate = self.gate(st)
        question = gate.question(sid, spec, args, effect, secret_names)
        if question is None:
            return True
        answer = await self._answered(question, st, within_turn=True)
        if answer is None:
            return None
        verdict = gate.verdict(question, answer)
        loop = self._loop
        loop.store.record_check(st.run_id, st.steps[sid], verdict.event,
                                denied_error=verdict.error,
                                cancellable=starting and verdict.allowed)
        if not verdict.allowed:
            loop._mark(st, sid, StepStatus.FAILED, verdict.error)
            st.failure = st.failure or f"step {sid} failed: {verdict.error}"
        return verdict.allowed

    async def ask_before_call(self, st: RunState, sid: str, spec: ToolSpec,
                              args: dict[str, Any], asked: Asked) -> None:
        """A delayed retry's check, its wait over: the answer, put in ``asked`` (nothing when
        its call is not one to ask about), is recorded when its call begins
        (:meth:`record_before_call`). No commit meanwhile: the loop waits for that retry
        (:meth:`StepLoop._wait_for_head`), which renews the lease."""
        question = self.gate(st).question(sid, spec, args, st.effects[sid],
                                          st.secret_names.get(sid, ()))
        if question is None:
            return
        answer = await self._answered(question, st, within_turn=False)
        if answer is not None:  # None: the run stops; the retry's call is not made
            asked.append((question, answer))

    def record_before_call(self, st: RunState, row: StepState, asked: Asked) -> None:
        """Record the verdicts ``asked`` for a delayed retry about to be called; a denial is
        raised (:class:`RuntimeDenial`), the call not made, and its verdict commits with the
        attempt's failure."""
        for question, answer in asked:
            verdict = self.gate(st).verdict(question, answer)
            self._loop.store.record_check(st.run_id, row, verdict.event, denied_error=None,
                                          cancellable=verdict.allowed)
            if not verdict.allowed:
                raise RuntimeDenial(verdict.error or "denied by runtime policy")

    def gate(self, st: RunState) -> RuntimeGate:
        """The run's gate, made at its first call asked about (it reads the whole plan)."""
        if st.gate is None:
            loop = self._loop
            st.gate = RuntimeGate(st, loop.registry, loop.runtime_check,
                                  storable=loop._storable, lookup=partial(loop._lookup, st))
        return st.gate

    async def _answered(self, question: GateQuestion, st: RunState, *, within_turn: bool
                        ) -> CheckOutcome | None:
        """The runtime check's answer, asked off the loop (:func:`~executor.runtime_gate.answered`);
        asked again every ``poll_s`` while it cannot judge now (see the module doc). None: the
        run stopped meanwhile (a cancel or a drain; for a retry waiting off the turn, a
        failure too).

        Within a turn, every ``poll_s`` meanwhile what the turn recorded so far is committed (a
        takeover would otherwise run the steps it settled again) and the lease renewed. The
        verdict is recorded after them, as it would be at once, and a call that ends meanwhile
        is settled after it, in start order: the ledger does not depend on how long the check
        took. Off the turn (a delayed retry's check), the loop renews the lease itself."""
        loop = self._loop
        meanwhile = partial(self._commit_and_renew, st) if within_turn else None
        waited: str | None = None
        while True:
            try:
                answer = await answered(question, every_s=loop.poll_s, meanwhile=meanwhile)
            except RunDeferredError as exc:
                waited = self._wait_logged(st, question, exc, waited)
            else:
                if waited is not None:
                    log.info("the runtime check judges again; the run goes on", run_id=st.run_id,
                             step_id=question.sid)
                return answer
            await asyncio.sleep(loop.poll_s)
            if meanwhile is not None:
                meanwhile()  # commits, renews, sees a cancel
                if st.cancelled or st.draining:
                    return None
            elif loop._retries.stop_reason(st) is not None:  # the loop polls for it
                return None  # (a drain leaves the retry itself: drain_turn cancels this wait)

    def _wait_logged(self, st: RunState, question: GateQuestion, problem: RunDeferredError,
                     logged: str | None) -> str:
        """Log that the run waits for its check, unless ``problem`` was logged last; its text."""
        text = self._loop._storable(problem.message)
        if text != logged:
            log.warning("run waits: its runtime check cannot judge a call now", run_id=st.run_id,
                        step_id=question.sid, error=text)
        return text

    def _commit_and_renew(self, st: RunState) -> None:
        self._loop._flush(st, within_turn=True, in_order=True)
        self._loop._poll(st)

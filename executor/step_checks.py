"""The runtime check as the run loop makes it: asked without holding the run up, its verdict
recorded (the ``step_check`` ledger event) where it would have been at once.

:mod:`executor.runtime_gate` decides what is asked about a call and what its answer means;
this module asks and records for :class:`~executor.loop.StepLoop`, which holds one
:class:`StepChecks` and calls it before a step's start, a retry's without a delay, and a
delayed retry's call (:mod:`executor.delayed_retries`).

The runtime check's answer (a policy evaluation: seconds for a call sending megabytes) is
asked in a worker thread, the loop waiting for it: its lease is renewed meanwhile and, for a
check made within a turn, what the turn recorded before it is committed (a takeover would
otherwise run those steps again). Its verdict is recorded where it would have been at once,
and calls that end meanwhile are settled after it, in start order: the ledger does not depend
on how long a check took.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from tools import Effect, ToolSpec

from .checks import CheckOutcome
from .run_state import RunState
from .runtime_gate import GateQuestion, RuntimeDenial, RuntimeGate, answered
from .scheduling import StepStatus
from .store.runs import StepState

if TYPE_CHECKING:
    from .loop import StepLoop

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
                    ) -> bool:
        """Ask the runtime gate about the call (:mod:`executor.runtime_gate`); record its
        verdict, and fail the step on a denial. ``starting``: a new step's, whose allowed
        verdict is left out of the commit with its start (see :meth:`StepLoop._flush`)."""
        gate = self.gate(st)
        question = gate.question(sid, spec, args, effect, secret_names)
        if question is None:
            return True
        verdict = gate.verdict(question, await self._answered(question, st))
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
        if question is not None:
            asked.append((question, await self._answered(question)))

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

    async def _answered(self, question: GateQuestion, st: RunState | None = None
                        ) -> CheckOutcome:
        """The runtime check's answer, asked off the loop (:func:`~executor.runtime_gate.answered`).

        With ``st`` (a check made within a turn), every ``poll_s`` meanwhile what the turn
        recorded so far is committed (a takeover would otherwise run the steps it settled
        again) and the lease renewed. The verdict is recorded after them, as it would be at
        once, and a call that ends meanwhile is settled after it, in start order: the ledger
        does not depend on how long the check took."""
        meanwhile = None if st is None else partial(self._commit_and_renew, st)
        return await answered(question, every_s=self._loop.poll_s, meanwhile=meanwhile)

    def _commit_and_renew(self, st: RunState) -> None:
        self._loop._flush(st)
        self._loop._poll(st)

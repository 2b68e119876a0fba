"""A retry with a delay (its backoff): its wait, its runtime check and its call.

A retry with a backoff calls its tool only once its backoff is over *and* every attempt
started before it has been settled (it is the head of the FIFO: the loop sets its turn,
:meth:`~executor.loop.StepLoop._wait_for_head`), the run still going: whether a step
failing for good drops it does not depend on which ended first, the backoff or that step.
Just before its call it is checked by the runtime policy (``step_check``) and marked
called, one commit between turns: nothing else is pending then, so that event's place in
the ledger does not depend on timing either. A takeover starts a retry whose dead owner was
waiting out its backoff as such a retry, waiting what is left of that backoff
(``attempt_log.wait_left``): a server's Retry-After holds across a crash too.

Once the run stops (a cancel, a step failed for good) every retry still waiting is dropped
(:meth:`DelayedRetries.drop_waiting`): it ends as a failed attempt without calling its tool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tools import ToolContext, ToolError, ToolSpec

from .calls import Call, Outcome, call_tool
from .run_state import RunState
from .runtime_gate import RuntimeDenial
from .step_checks import Asked
from .telemetry import run_in_span

if TYPE_CHECKING:
    from .loop import StepLoop


class DelayedRetries:
    """The retries with a delay of a loop's runs: started by :meth:`StepLoop._launch`, their
    check asked and recorded by the loop's :class:`~executor.step_checks.StepChecks`."""

    def __init__(self, loop: StepLoop) -> None:
        self._loop = loop

    def launch(self, st: RunState, spec: ToolSpec, args: dict[str, Any], context: ToolContext,
               timeout: float, delay_s: float, span: Any) -> Call:
        """The retry's call: its backoff, its turn, its check, then its tool, in ``span``."""
        sid = context.step_id
        turn = st.turns[sid] = asyncio.get_running_loop().create_future()
        asked: Asked = []
        # Its backoff, its turn, then its check: dropped, all of it, once the run stops.
        backoff = st.backoffs[sid] = asyncio.ensure_future(self._asked_after(
            st, spec, args, sid, delay_s, turn, asked))
        backoff.add_done_callback(partial(_forget_backoff, st.backoffs, sid))
        waiting = self._retried(st, spec, args, context, timeout, backoff, asked)
        return Call(None, run_in_span(span, asyncio.ensure_future, waiting), span=span)

    def dropped(self, st: RunState, span: Any) -> Call:
        """The call of a retry decided in the turn whose commit saw the cancel: not made, as
        if dropped in its backoff."""
        return Call.settled(_stopped(self.stop_reason(st)), span)

    def drop_waiting(self, st: RunState) -> None:
        """The run stops (a cancel, a step failed for good): retries still waiting out their
        backoff or their turn end now without calling their tool; each settles as a failed
        attempt."""
        for backoff in st.backoffs.values():
            backoff.cancel()
        st.backoffs.clear()
        st.turns.clear()

    def stop_reason(self, st: RunState) -> str | None:
        """Why a retry whose backoff ended must not call its tool now (None: it may)."""
        if st.cancelled:
            return "not tried again: the run was cancelled"
        if st.failure is not None:
            return f"not tried again: the run is stopping ({st.failure})"
        return None

    async def _asked_after(self, st: RunState, spec: ToolSpec, args: dict[str, Any], sid: str,
                           delay_s: float, turn: asyncio.Future[None], asked: Asked) -> None:
        """A retry's wait (its backoff, then its ``turn``), then, the run still going, its
        runtime check's answer, put in ``asked``: recorded when its call begins."""
        await _backoff_then_turn(self._loop.sleep, delay_s, turn)
        if self.stop_reason(st) is not None:
            return  # not called (call_tool asks the same): nothing to check
        await self._loop._checks.ask_before_call(st, sid, spec, args, asked)

    async def _retried(self, st: RunState, spec: ToolSpec, args: dict[str, Any],
                       context: ToolContext, timeout: float, backoff: asyncio.Future[Any],
                       asked: Asked) -> Outcome:
        """A retry's attempt once it was launched: its wait and check, its call."""
        try:
            return await call_tool(spec, args, context, timeout_s=timeout, backoff=backoff,
                                   stop_reason=partial(self.stop_reason, st),
                                   before_call=partial(self._call_begins, st, context, asked))
        except RuntimeDenial as denial:  # its call was not made
            return Outcome(error=denial)
        except _CallLeftOut:  # a cancel committed during its backoff: as if dropped in it
            return _stopped(self.stop_reason(st))
        except _LeftWaiting:  # never called here: waits until the loop leaves it
            return await asyncio.get_running_loop().create_future()

    def _call_begins(self, st: RunState, context: ToolContext, asked: Asked) -> None:
        """A retry's backoff and turn are over and its runtime check answered (``asked``, as
        every call is asked): commit its verdict and that the call begins before making it,
        so that a takeover can tell a call that may have had its effect from one never made.
        (Between the loop's turns nothing else is pending: this commit holds them alone.)
        A denial is raised (:class:`RuntimeDenial`), the call not made; its verdict commits
        with the attempt's failure."""
        if st.draining:  # the process shuts down: the run's next owner makes this call
            raise _LeftWaiting
        loop = self._loop
        row = st.steps[context.step_id]
        loop._checks.record_before_call(st, row, asked)
        loop.store.call_began(row)
        # Within a turn (another step's check was being asked), the starts that turn queued
        # wait for its commit: their tools are not called yet.
        if context.step_id in loop._flush(st, within_turn=True):  # left out: not begun
            row.attempt_log[-1].pop("called", None)
            raise _CallLeftOut


class _CallLeftOut(Exception):  # noqa: N818 - a signal inside the loop, never raised out of it
    """A retry's call was about to begin, but a cancel committed first (see
    :meth:`StepLoop._flush`)."""


class _LeftWaiting(Exception):  # noqa: N818 - a signal inside the loop, never raised out of it
    """A retry's call was about to begin as its process shuts down: it is left, not called,
    for the run's next owner (:mod:`executor.draining`)."""


def _stopped(reason: str | None) -> Outcome:
    """The outcome of a retry the stopping run does not call (as :func:`call_tool` makes it)."""
    return Outcome(error=ToolError(reason or "not tried again: the run stopped",
                                   code="run_stopping"))


async def _backoff_then_turn(sleep: Callable[[float], Awaitable[Any]], delay_s: float,
                             turn: asyncio.Future[None]) -> None:
    """A retry's wait: its backoff, then its turn (set by the loop; already set, no wait).
    (The sleep begins here: one dropped before it began is never made.)"""
    await sleep(delay_s)
    await turn


def _forget_backoff(backoffs: dict[str, asyncio.Future[Any]], sid: str,
                    backoff: asyncio.Future[Any]) -> None:
    if backoffs.get(sid) is backoff:  # not a later retry's of the same step
        del backoffs[sid]

"""The embedded engine judging in evaluator processes that are replaced before they grow.

rego-cpp (regopy 1.5.2, the latest) keeps native memory it never frees after each
evaluation whose rules iterate over the input: about 0.5 MB for a 3-step plan, 7.5 MB for
50 steps, 55 KB for each run-time check of a call, and none of it comes back (not with
``malloc_trim``, not by deleting the interpreter: the memory is the library's, process-wide).
A server, a worker or a long run judging in-process grows without limit.

So the processes that live long judge here: each query goes to an evaluator process
(``policies.rego_child``) that compiled the same bundle and runs the same code as the
in-process engine (``CompiledPolicies``), and a process is replaced once its resident
memory passes ``max_rss_mb`` or it has answered ``max_evaluations`` queries; its
replacement is started at once, in the background. Up to ``max_processes`` judge at the same
time (the API and the runner ask from several threads). A process that ended, or gave no
answer within ``timeout_s`` (it is then killed), makes that evaluation an engine failure, a
deny; the next evaluation gets a new process. One that ends while it waits for a query
(killed, say) is reaped and dropped at once, not left a zombie, and the next evaluation
gets a new process without a deny. The inputs are made and the results read here, as
in-process (``policy_input_json``, ``first_expression``), so both judge alike.

Pools are kept per bundle for the whole process (a few at most, the least recently used
stopped first) and stopped at exit; a forked child forgets its parent's.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import structlog

from .bundle import PolicyBundle
from .embedded import (
    EmbeddedEngine,
    first_expression,
    input_pattern_pieces,
    policy_input_json,
)
from .engine import EngineFailure
from .rego_process import BundleRefused, EvaluatorProcess, NotDelivered

log = structlog.get_logger(__name__)

MAX_RSS_MB = 512
MAX_EVALUATIONS = 5_000
# No evaluation of a valid plan comes near it (a 2,000-step chain takes under a minute):
# it only keeps a process that hangs from holding its place for good.
TIMEOUT_S = 300.0
START_TIMEOUT_S = 120.0  # a start compiles the bundle, in about a second
MAX_PROCESSES = min(4, max(2, os.cpu_count() or 2))
MAX_POOLS = 2


class EvaluatorPool:
    """Evaluator processes for one bundle, started when needed and replaced when grown."""

    def __init__(self, modules: tuple[tuple[str, str], ...], data: Mapping[str, Any], *,
                 max_processes: int = MAX_PROCESSES, max_rss_mb: float = MAX_RSS_MB,
                 max_evaluations: int = MAX_EVALUATIONS, timeout_s: float = TIMEOUT_S,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.max_processes = max_processes
        self.max_rss_kb = max_rss_mb * 1024
        self.max_evaluations = max_evaluations
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._pattern_pieces = input_pattern_pieces(data)
        self._failure: str | None = None  # why the bundle does not compile, once known
        self._hello = b""
        try:
            self._hello = json.dumps({"modules": modules, "data": data}).encode("utf-8")
        except (TypeError, ValueError) as exc:  # not JSON data: as CompiledPolicies says it
            self._failure = f"the policies do not compile: {exc}"
        self._ready: list[EvaluatorProcess] = []
        self._count = 0  # processes started or starting, ready or judging
        self._replacing = 0  # of which started in the background, not ready yet
        self._closed = False
        self._changed = threading.Condition()
        _LIVE.add(self)

    def evaluate(self, entrypoint: str, policy_input: Mapping[str, Any]) -> Any:
        """The value of ``entrypoint`` over ``policy_input``, as ``CompiledPolicies`` gives
        it; ``EngineFailure`` when there is none."""
        input_json = policy_input_json(policy_input, self._pattern_pieces)
        try:
            reply = self._ask(self._check_out(), entrypoint, input_json)
        except NotDelivered:  # it ended while it waited: another one takes the query
            reply = self._ask(self._check_out(), entrypoint, input_json)
        return first_expression(_result_text(reply))

    def _ask(self, process: EvaluatorProcess, entrypoint: str, input_json: str
             ) -> dict[str, Any]:
        try:
            reply = process.ask(entrypoint, input_json, self.timeout_s)
        except BaseException:
            process.stop()  # it may be half way through a frame: never reused
            self._lost()
            raise
        self._check_in(process)
        return reply

    def pids(self) -> list[int]:
        """The ids of the processes ready to judge (tests look at them)."""
        with self._changed:
            return [process.pid for process in self._ready]

    def close(self) -> None:
        """Stop the processes ready to judge; those judging stop when they are done."""
        with self._changed:
            self._closed = True
            stopping, self._ready = self._ready, []
            self._count -= len(stopping)
            self._changed.notify_all()
        for process in stopping:
            process.stop()

    def _check_out(self) -> EvaluatorProcess:
        deadline = time.monotonic() + self.timeout_s
        with self._changed:
            while True:
                if self._failure is not None:
                    raise EngineFailure(self._failure)
                while self._ready:
                    process = self._ready.pop()  # the most recently used: the others idle
                    if process.alive():
                        return process
                    process.stop()  # killed while it waited: reaped, replaced below
                    self._count -= 1
                # A replacement on its way is waited for, not started twice.
                if self._count < self.max_processes and not self._replacing:
                    self._count += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise EngineFailure("evaluation failed: no policy evaluator process was free "
                                        f"within {self.timeout_s:g} s")
                self._changed.wait(left)
        return self._start()

    def _start(self) -> EvaluatorProcess:
        """A new process, counted already; the count is given back if it does not start."""
        try:
            return EvaluatorProcess.start(self._hello, self.start_timeout_s, self._ended)
        except BundleRefused as exc:
            with self._changed:
                self._failure = str(exc)  # the bundle will not compile next time either
            self._lost()
            raise EngineFailure(str(exc)) from None
        except BaseException:
            self._lost()
            raise

    def _ended(self, process: EvaluatorProcess) -> None:
        """Drop ``process`` (reaped already) if it ended while it waited for a query; one
        that was judging is dropped by its query, one stopped here by whoever stopped it."""
        with self._changed:
            if process not in self._ready:
                return
            self._ready.remove(process)
            self._count -= 1
            self._changed.notify_all()
        code = process.stop()  # closes its pipes
        log.warning("policy.evaluator_ended", pid=process.pid, exit_status=code)

    def _lost(self) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def _check_in(self, process: EvaluatorProcess) -> None:
        grown = (process.rss_kb > self.max_rss_kb
                 or process.evaluations >= self.max_evaluations)
        with self._changed:
            if not (grown or self._closed):
                self._ready.append(process)
                self._changed.notify()
                return
        process.stop()
        if grown:
            log.info("policy.evaluator_replaced", pid=process.pid,
                     evaluations=process.evaluations, rss_mb=process.rss_kb // 1024)
            threading.Thread(target=self._replace, daemon=True,
                             name="policy-evaluator-start").start()
        else:
            self._lost()

    def _replace(self) -> None:
        """Start the replacement of a process stopped for growing (its place is still
        counted), so that the next query need not wait for a whole start."""
        with self._changed:
            if self._closed:
                self._count -= 1
                self._changed.notify_all()
                return
            self._replacing += 1
        try:
            process = self._start()
        except Exception as exc:  # noqa: BLE001 - the next query starts one, or says why not
            log.warning("policy.evaluator_not_replaced", error=type(exc).__name__)
            process = None
        with self._changed:
            self._replacing -= 1
            self._changed.notify_all()
            if process is not None and not self._closed:
                self._ready.append(process)
                return
        if process is not None:
            process.stop()
            self._lost()


def _result_text(reply: Mapping[str, Any]) -> str:
    """The result text of an evaluator's answer; ``EngineFailure`` for a failure."""
    if isinstance(reply.get("text"), str):
        return reply["text"]
    if isinstance(reply.get("failure"), str):
        raise EngineFailure(reply["failure"])
    if isinstance(reply.get("unexpected"), str):
        raise EngineFailure(
            f"evaluation failed: unexpected {reply['unexpected']} in the policy evaluator")
    raise EngineFailure("evaluation failed: the policy evaluator's answer held no result")


_LIVE: weakref.WeakSet[EvaluatorPool] = weakref.WeakSet()
_POOLS: OrderedDict[str, EvaluatorPool] = OrderedDict()
_POOLS_LOCK = threading.Lock()


def evaluator_pool(bundle: PolicyBundle, bundle_hash: str) -> EvaluatorPool:
    """This process's pool for ``bundle`` (whose hash is ``bundle_hash``), made on first use."""
    with _POOLS_LOCK:
        pool = _POOLS.get(bundle_hash)
        if pool is not None:
            _POOLS.move_to_end(bundle_hash)
            return pool
        pool = _POOLS[bundle_hash] = EvaluatorPool(bundle.modules, bundle.data_document())
        unused = [_POOLS.popitem(last=False)[1] for _ in range(len(_POOLS) - MAX_POOLS)]
    for old in unused:
        old.close()
    return pool


@atexit.register
def stop_all() -> None:
    """Stop every pool's processes (at exit: no process outlives this one)."""
    for pool in list(_LIVE):
        pool.close()


def _forget_after_fork() -> None:
    # A forked child shares its parent's pipes: it must start its own processes, and must not
    # stop the parent's at its exit.
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()
    _LIVE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


class IsolatedEmbeddedEngine(EmbeddedEngine):
    """The embedded engine (same bundle, same code, same results) judging in evaluator
    processes, for processes that live long: the server, workers, runs."""

    def __init__(self, bundle: PolicyBundle, *, pool: EvaluatorPool | None = None) -> None:
        super().__init__(bundle)
        self._pool = pool  # None: this process's pool for the bundle

    def _evaluate(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        pool = self._pool or evaluator_pool(self.bundle, self.bundle_hash)
        return pool.evaluate(f"baton/{rule}", policy_input)

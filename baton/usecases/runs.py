"""Run use cases: start an approved plan, resume, cancel, inspect runs, and the worker loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from executor.checks import StepCall
from executor.records import RunRecord, RunStatus
from executor.runner import RunError, RunNotFoundError, StepProgress
from tools import BatonError

from .errors import RunInternalError

if TYPE_CHECKING:
    from executor.draining import Drain
    from executor.runner import Runner

    from ..services import Services
    from ..settings import User


class PolicyRuntimeCheck:
    """Adapts the policy engine to the runner's runtime check (fails closed on any error)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def check_step(self, call: StepCall) -> Any:
        """Ask ``data.baton.step_decision`` about one call."""
        from policies.contracts import StepCall as PolicyStepCall

        from .policy_input import requester_of

        fields = asdict(call)
        fields["requester"] = requester_of(self._services, call.requester)
        # The runner's call does not carry a configured endpoint's fixed URL (nor the secrets
        # its headers send there); the registry does.
        registry = self._services.registry
        if call.tool in registry:
            spec = registry.get(call.tool)
            fields["endpoint_url"] = spec.endpoint_url
            fields["endpoint_secrets"] = spec.secrets if spec.endpoint_url else ()
        return self._services.policy_engine.check_step(PolicyStepCall(**fields))

    def step_region(self, tool: str, host: str | None, declared: str | None) -> Any:
        """Where the policy places a call of ``tool`` to ``host`` (None: no region).

        The runner judges a read at run time only when residency places it in a region
        (``executor.runtime_gate``); without this answer it cannot tell, so it judges every
        read that data fetched from a URL known only at run time may reach. The engine reads
        the policy data it judges with (``policies.residency``); an error is raised to the
        runner, which then judges the call.
        """
        return self._services.policy_engine.step_region(tool, host, declared)

    def regions_hosts_may_have(self) -> frozenset[Any]:
        """The regions the policy data may give a host: the runner denies a call for a source
        whose host is not known yet only when there are some (``executor.runtime_gate``)."""
        return self._services.policy_engine.regions_hosts_may_have()


def make_runner(services: Services, *, concurrency: int | None = None,
                observer: Callable[[StepProgress], None] | None = None) -> Runner:
    """A runner wired from settings (one owner id per runner)."""
    return services.runner_factory(concurrency=concurrency, observer=observer)


def start_run(services: Services, plan_id: str, actor: User, *, version: int | None = None,
              concurrency: int | None = None, detach: bool = False,
              observer: Callable[[StepProgress], None] | None = None,
              created: Callable[[str], None] | None = None,
              detail: bool = True, drain: Drain | None = None) -> RunRecord:
    """Run an approved plan version (RUN_START recorded); detached, queue it for a worker.

    ``created`` is told the run's id once the run is recorded, before its first step starts
    (so a Ctrl-C before any step event can still name the run it leaves). Without ``detail``
    the record comes back without its steps (a summary). Once ``drain`` is requested (the
    process stops on a signal) the run starts nothing more and is ended or left, its lease
    given back, with ``RunLeftError`` (``executor.draining``).
    """
    from .gates import require_approved

    stored = require_approved(services, plan_id, version)
    runner = make_runner(services, concurrency=concurrency, observer=observer)
    # Recorded in the run: whoever resumes it or picks it up runs it at the same concurrency.
    run_id = runner.create_run(stored.plan_id, stored.version, stored.plan,
                               requested_by=actor.id, detach=detach,
                               concurrency=concurrency or services.settings.executor.concurrency)
    if created is not None:
        created(run_id)
    if detach:
        return show_run(services, run_id)
    return _in_foreground(services, run_id, None,
                          lambda: runner.run_sync(run_id, detail=detail, drain=drain))


def resume_run(services: Services, run_id: str, actor: User, *,
               observer: Callable[[StepProgress], None] | None = None,
               detail: bool = True, drain: Drain | None = None) -> RunRecord:
    """Take over a run whose owner is gone and run it to its end (refused while the owner lives).

    Refused, leaving the run as it is, when its plan version no longer passes the approval
    gate (an approval expired, an approver lost the role): approve it again, then resume.
    ``drain`` as for :func:`start_run`.
    """
    from .gates import require_approved

    record = show_run(services, run_id, detail=False)
    if record.status not in (RunStatus.SUCCEEDED, RunStatus.CANCELLED):  # those: the runner says why
        require_approved(services, record.plan_id, record.version)
    runner = make_runner(services, observer=observer)
    return _in_foreground(services, run_id, record.ended_at,
                          lambda: runner.resume_sync(run_id, actor=actor.id, detail=detail,
                                                     drain=drain))


def _in_foreground(services: Services, run_id: str, ended_before: datetime | None,
                   go: Callable[[], RunRecord]) -> RunRecord:
    """``go()``, running ``run_id`` here; an internal error (a bug, no ``BatonError``) is
    logged with its traceback and raised again as a ``RunInternalError`` saying how the run
    was left, for the caller to show in one line (the runner has ended it failed already)."""
    from executor.store.db import is_database_error
    from executor.telemetry import bind_log

    try:
        return go()
    except Exception as exc:
        if isinstance(exc, BatonError) or is_database_error(exc):
            raise  # no bug: the caller reports these as it reports any other
        # Logged, never lost: the caller shows one line instead of this traceback.
        bind_log(run_id=run_id).exception("run stopped on an internal error")
        raise _stopped(services, run_id, ended_before) from exc


def _stopped(services: Services, run_id: str, ended_before: datetime | None) -> RunInternalError:
    """How the run stopped by an internal error was left (ended only if it has a new end)."""
    try:
        record = show_run(services, run_id, detail=False)
    except Exception:  # noqa: BLE001 - its database gone too: the runner logged why
        return RunInternalError(run_id, None, ended=False)
    ended = record.status is RunStatus.FAILED and record.ended_at not in (None, ended_before)
    return RunInternalError(run_id, record.status.value, ended=ended)


def cancel_run(services: Services, run_id: str, actor: User) -> RunRecord:
    """Ask a run to stop: no new steps start, running ones finish, it ends cancelled.

    The request is recorded in the ledger (CANCEL_REQUEST, by ``actor``). A run nobody
    holds (queued and unclaimed, or its owner crashed or let its lease expire) is taken
    over and ended cancelled here, since no owner would ever see the flag. The record
    returned is the run as the store has it afterwards.
    """
    from executor.ownership import owner_gone
    from executor.store.runs import RunStore

    store = RunStore(services.engine, services.ledger)
    flagged = store.request_cancel(run_id, actor=actor.id)
    if flagged is None:
        record = store.get(run_id, detail=False)  # read now: it may have ended a moment ago
        if record is None:
            raise RunNotFoundError(f"no run {run_id!r}")
        raise RunError(f"run {run_id} has already {record.status.value}; nothing to cancel")
    # By the clock the lease was set with (the database's, on PostgreSQL), not this machine's.
    if owner_gone(flagged.owner, flagged.lease_expires_at, store.database_now()):
        # Ended here, starting nothing: only while it is still as seen (unfinished, and
        # nobody renewed or claimed it); otherwise whoever holds it now sees the flag.
        if not store.end_abandoned(run_id, expected_owner=flagged.owner,
                                   expected_lease=flagged.lease_expires_at, actor=actor.id):
            from executor.telemetry import bind_log

            bind_log(run_id=run_id).info("cancelled run moved on before it could be ended here")
    return show_run(services, run_id)


def show_run(services: Services, run_id: str, *, detail: bool = True) -> RunRecord:
    """One run with its steps and attempts (without them when not ``detail``).

    Configured secret values are masked in it: the store masks outputs and errors; a step id
    that is one (the plan was written before the value became a secret) is masked here, as
    the plan's view masks it.
    """
    from executor.store.runs import RunStore
    from tools.redaction import redact

    record = RunStore(services.engine, services.ledger).get(run_id, detail=detail)
    if record is None:
        raise RunNotFoundError(f"no run {run_id!r}")
    ids = [redact(step.step_id, services.secret_values) for step in record.steps]
    if all(shown == step.step_id for shown, step in zip(ids, record.steps, strict=True)):
        return record
    return record.model_copy(update={"steps": tuple(
        step.model_copy(update={"step_id": shown}) for shown, step in zip(ids, record.steps,
                                                                           strict=True))})


def list_runs(services: Services, *, limit: int = 50,
              plan_id: str | None = None) -> list[RunRecord]:
    """Most recent runs first (without step detail); only plan ``plan_id``'s when given."""
    from executor.store.runs import RunStore

    return RunStore(services.engine, services.ledger).list(limit=limit, plan_id=plan_id)


def run_worker(services: Services, *, once: bool = False,
               should_stop: Callable[[], bool] = lambda: False,
               wait_for_database_s: float | None = None, drain: Drain | None = None) -> int:
    """Pick up queued runs and runs whose owner's lease expired; returns how many it ran.

    An unreachable database is waited for ``wait_for_database_s`` (see ``Runner.worker``),
    when the worker starts too: a worker that exited at once would be restarted in a loop
    by its service manager, which soon gives up. Once ``drain`` is requested (the process
    shuts down) it claims nothing and its run starts nothing more (``executor.draining``).
    """
    if drain is not None:
        should_stop = drain.or_requested(should_stop)
    runner = _runner_when_reachable(services, once, should_stop, wait_for_database_s)
    if runner is None:  # asked to stop while it waited
        return 0
    return runner.worker(once=once, should_stop=should_stop,
                         wait_for_database_s=wait_for_database_s, drain=drain)


def _runner_when_reachable(services: Services, once: bool, should_stop: Callable[[], bool],
                           wait_for_database_s: float | None) -> Runner | None:
    """A runner, once its database answers (opening it checks its schema): a lost or refused
    connection is waited out as a running worker waits one out; any other failure is raised."""
    import time

    from executor import outage
    from executor.store.db import StoreError, is_connection_loss

    unavailable = outage.DatabaseOutage("baton worker (starting)",
                                        outage.wait_limit_s(once, wait_for_database_s),
                                        monotonic=time.monotonic, sleep=time.sleep)
    while not should_stop():
        try:
            runner = make_runner(services)
        except StoreError as exc:
            if not is_connection_loss(exc):
                raise
            unavailable.failed(exc, should_stop)
            continue
        unavailable.answered()
        return runner
    return None

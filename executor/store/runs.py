"""The run store: runs, steps and attempts, one commit per transition, each with its ledger event.

Every method that changes state opens one transaction, updates rows by
primary key, appends the ledger event recording the change *in the same
transaction*, and commits: the journal and the ledger never disagree, and a
process killed between two transitions loses nothing that was reported done.
The per-step transitions (attempt start, success, failure, runtime check) go
through :class:`~executor.store.hot.HotWriter`: raw statements on primary
keys, one commit per loop turn; nothing here scans all the steps of a run
per step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tools.redaction import redact

from ..artifacts import StoredOutput
from ..errors import LeaseLostError
from ..ledger import EventKind, Ledger
from ..records import AttemptStatus, RunRecord, RunStatus, StepRecord
from ..scheduling import StepStatus
from . import attempt_log
from .claims import ACTOR, RUNS, STEPS, STOPPED_IN_FLIGHT, RunClaims
from .db import database_errors, read_session, sqlite_file
from .hot import HotWriter
from .schema import PlanVersionRow

def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def idempotency_key(run_id: str, step_id: str) -> str:
    """The key every attempt of ``step_id`` in ``run_id`` sends: sha256 of 'run_id:step_id'."""
    return hashlib.sha256(f"{run_id}:{step_id}".encode()).hexdigest()


def aware(value: datetime | None) -> datetime | None:
    """``value`` as timezone-aware UTC (SQLite hands back naive datetimes)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass
class StepState:
    """The runner's working copy of one step row (mutable on purpose: it is the loop's state)."""

    pk: int
    step_id: str
    tool: str
    position: int
    status: StepStatus
    attempts: int
    key: str
    output_json: str | None
    output_uri: str | None
    attempt_log: list[attempt_log.Entry]
    error: str | None = None


@dataclass(frozen=True)
class RunSnapshot:
    """A run as its runner loads it (see :meth:`RunStore.snapshot`)."""

    row: dict[str, Any]
    plan_json: str | None  # None: the plan version is gone
    plan_hash: str | None
    steps: list[StepState]


class RunStore(RunClaims):
    """Reads and writes runs; every transition commits with its ledger event."""

    def __init__(self, engine: Engine, ledger: Ledger, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self._pinned: Session | None = None
        self._writer_pinned: HotWriter | None = None

    @contextmanager
    def pinned(self, run_id: str, owner: str) -> Iterator[None]:
        """Keep one connection and session for the hot-path transitions of ``owner``'s run.

        Checking a connection out of the pool and building a session per
        transition costs more than the transition itself. Only the thread that
        runs the loop may use the pinned session; other methods open their own.
        Each commit of the pinned writer first checks that ``owner`` still owns
        the run (``LeaseLostError`` otherwise, nothing written).
        """
        with database_errors(f"connecting to run {run_id}"):
            connection = self.engine.connect()
        self._pinned = Session(bind=connection, expire_on_commit=False)
        self._writer_pinned = HotWriter(connection.connection.dbapi_connection,
                                        self.engine.dialect.name, self.ledger,
                                        fence=(run_id, owner), file=sqlite_file(self.engine))
        try:
            yield
        finally:
            self._writer_pinned = None
            self._pinned.close()
            self._pinned = None
            connection.close()

    def _writer(self) -> AbstractContextManager[HotWriter]:
        """The pinned writer (flushed by the loop), or a private one flushed on exit."""
        # A plain object, not a @contextmanager generator: this runs twice per step.
        if self._writer_pinned is not None:
            return self._writer_pinned
        return _PrivateWriter(self.engine, self.ledger)

    @contextmanager
    def _hot(self) -> Iterator[Session]:
        if self._pinned is None:
            with Session(self.engine) as own:
                yield own
            return
        try:
            yield self._pinned
        except BaseException:
            self._pinned.rollback()
            raise

    # -- creation and plan source -------------------------------------------------

    def create(self, *, run_id: str, plan_id: str, version: int, plan_hash: str,
               steps: Sequence[tuple[str, str]], requested_by: str, concurrency: int,
               owner: str | None = None, lease_s: float = 30.0) -> None:
        """Insert a queued run, its pending steps and the RUN_START event, in one commit."""
        with Session(self.engine) as s:
            s.execute(insert(RUNS).values(
                id=run_id, plan_id=plan_id, version=version, plan_hash=plan_hash,
                status=RunStatus.QUEUED.value, requested_by=requested_by, owner=owner,
                lease_expires_at=self.lease_until(lease_s) if owner else None,
                concurrency=concurrency, cancel_requested=False,
                created_at=self.queued_at()))
            if steps:
                s.execute(insert(STEPS), [
                    {"run_id": run_id, "step_id": sid, "tool": tool, "position": i,
                     "status": StepStatus.PENDING.value, "attempts": 0,
                     "idempotency_key": idempotency_key(run_id, sid)}
                    for i, (sid, tool) in enumerate(steps)])
            self.ledger.append(EventKind.RUN_START, run_id, requested_by, {
                "plan_id": plan_id, "version": version, "plan_hash": plan_hash,
                "concurrency": concurrency, "steps": len(steps)}, session=s)
            s.commit()

    def snapshot(self, run_id: str) -> RunSnapshot | None:
        """What a runner starts from, read in one transaction: the run's row, its plan
        version's stored text and hash, and every step in plan order (None: no such run)."""
        with database_errors(f"loading run {run_id}"), read_session(self.engine) as s:
            row = s.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
            if row is None:
                return None
            plan = s.execute(select(PlanVersionRow.plan_json, PlanVersionRow.plan_hash).where(
                PlanVersionRow.plan_id == row["plan_id"],
                PlanVersionRow.version == row["version"])).first()
            steps = s.execute(select(
                STEPS.c.id, STEPS.c.step_id, STEPS.c.tool, STEPS.c.position, STEPS.c.status,
                STEPS.c.attempts, STEPS.c.idempotency_key, STEPS.c.output_json, STEPS.c.output_uri,
                STEPS.c.attempt_log, STEPS.c.error,
            ).where(STEPS.c.run_id == run_id).order_by(STEPS.c.position)).all()
        return RunSnapshot(
            row=dict(row), plan_json=plan[0] if plan else None, plan_hash=plan[1] if plan else None,
            steps=[StepState(pk=r[0], step_id=r[1], tool=r[2], position=r[3],
                             status=StepStatus(r[4]), attempts=r[5], key=r[6], output_json=r[7],
                             output_uri=r[8], attempt_log=attempt_log.parse(r[9]), error=r[10])
                   for r in steps])

    # -- reads ----------------------------------------------------------------------

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        """The run's row as a mapping, or None."""
        with read_session(self.engine) as s:
            row = s.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
        return dict(row) if row else None

    def get(self, run_id: str, *, detail: bool = True) -> RunRecord | None:
        """The run with (``detail``) its steps and attempts, or None: the row and the steps
        read in one transaction, so they show one moment of a run another process writes."""
        with read_session(self.engine) as s:
            row = s.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
            if row is None:
                return None
            steps = s.execute(select(STEPS).where(STEPS.c.run_id == run_id)
                              .order_by(STEPS.c.position)).mappings().all() if detail else ()
        return self._run_record(dict(row), self._step_records(steps))

    def list(self, *, limit: int = 50, status: RunStatus | None = None,
             plan_id: str | None = None) -> list[RunRecord]:
        """Most recent runs first; optionally only those in ``status`` or of plan ``plan_id``."""
        query = select(RUNS).order_by(RUNS.c.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(RUNS.c.status == status.value)
        if plan_id is not None:  # filtered in the query: a plan's runs never drop off behind others
            query = query.where(RUNS.c.plan_id == plan_id)
        with read_session(self.engine) as s:
            rows = s.execute(query).mappings().all()
        return [self._run_record(dict(r), ()) for r in rows]

    def _step_records(self, steps: Sequence[Any]) -> tuple[StepRecord, ...]:
        mask = self._mask
        return tuple(StepRecord(
            step_id=r["step_id"], tool=r["tool"], position=r["position"],
            status=StepStatus(r["status"]), attempts=r["attempts"],
            idempotency_key=r["idempotency_key"],
            output=mask(json.loads(r["output_json"])) if r["output_json"] is not None else None,
            output_uri=r["output_uri"], output_sha256=r["output_sha256"], error=mask(r["error"]),
            started_at=aware(r["started_at"]), ended_at=aware(r["ended_at"]),
            attempt_log=attempt_log.records(mask(attempt_log.parse(r["attempt_log"]))),
        ) for r in steps)

    def _mask(self, value: Any) -> Any:
        # What a run stored before a secret was configured (the run loop masks everything
        # it stores since) is masked on the way out as well: no reader ever sees a secret.
        return redact(value, self.ledger.secret_values)

    def _run_record(self, row: dict[str, Any], steps: tuple[StepRecord, ...]) -> RunRecord:
        return _run_record({**row, "error": self._mask(row["error"])}, steps)

    def renew(self, run_id: str, owner: str, lease_s: float) -> bool | None:
        """Extend the lease; the cancel flag, or None when ``owner`` no longer owns the run."""
        with database_errors(f"renewing the lease of run {run_id}"), self._hot() as s:
            done = s.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.owner == owner)
                             .values(lease_expires_at=self.lease_until(lease_s)))
            flag = s.execute(select(RUNS.c.cancel_requested).where(RUNS.c.id == run_id)).scalar()
            s.commit()
        return bool(flag) if done.rowcount == 1 else None

    def give_up(self, run_id: str, owner: str) -> None:
        """End ``owner``'s lease on the run now, changing nothing else: the next claim takes it
        (a queued run as it was, a taken-over one resumed). Nothing when it is no longer
        ``owner``'s, or has ended."""
        with database_errors(f"giving up the lease of run {run_id}"), self._hot() as s:
            s.execute(update(RUNS).where(
                RUNS.c.id == run_id, RUNS.c.owner == owner,
                RUNS.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
            ).values(lease_expires_at=self.lease_now()))
            s.commit()

    # -- transitions ----------------------------------------------------------------

    def mark_running(self, run_id: str, owner: str) -> None:
        """``owner`` starts executing: status running, started_at set once.

        Only while ``owner`` still owns the unfinished run: an owner that stalled
        after claiming it may have lost it to another, which may have ended it
        since; then ``LeaseLostError``, nothing written.
        """
        now = self.clock()
        with database_errors(f"starting run {run_id}"), Session(self.engine) as s:
            started = s.execute(update(RUNS).where(
                RUNS.c.id == run_id, RUNS.c.owner == owner,
                RUNS.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
            ).values(status=RunStatus.RUNNING.value,
                     started_at=func.coalesce(RUNS.c.started_at, now)))
            if started.rowcount != 1:
                s.rollback()
                raise LeaseLostError(f"run {run_id} was taken over before {owner} could start it")
            s.commit()

    def start_attempt(self, run_id: str, step: StepState, attempt: int, payload: dict[str, Any],
                      *, backoff_s: float = 0.0, cancellable: bool = False) -> None:
        """Journal an attempt in its step's row (committed by the next :meth:`flush`); a retry
        that waits ``backoff_s`` before its call says so (see :meth:`call_began`).

        ``cancellable``: the step starts now, and a cancel committed before that flush leaves
        it out (the flush names the step; :class:`~executor.store.hot.HotWriter`)."""
        with self._writer() as w:
            at = self.clock()
            attempt_log.start(step.attempt_log, attempt, at, backoff_s=backoff_s)
            log, now = attempt_log.dumps(step.attempt_log), w.when(at)
            start_of = step.step_id if cancellable else None
            # What a stopped turn may leave out (``leave_out``), and a commit within the turn
            # holds back (``hold``): a start whose call comes at the turn's commit. A retry
            # that waits its backoff first is journalled as not called yet, and kept: the next
            # owner waits what is left of it (Retry-After included).
            sid = step.step_id if backoff_s <= 0 else None
            if attempt == 1:
                w.execute("step_first_started", (attempt, log, now, step.pk), start_of=start_of,
                          starts=sid)
            else:
                w.execute("step_started", (attempt, log, step.pk), start_of=start_of, starts=sid)
            w.event(EventKind.ATTEMPT_START.value, run_id, ACTOR, payload, start_of=start_of,
                    starts=sid)

    def call_began(self, step: StepState) -> None:
        """A retry's backoff is over and its tool is about to be called: journal that (the
        caller flushes it first), so a takeover knows the call may have been made. A cancel
        committed before that flush leaves it out, as it leaves out a start."""
        with self._writer() as w:
            attempt_log.call_began(step.attempt_log)
            w.execute("step_log", (attempt_log.dumps(step.attempt_log), step.pk),
                      start_of=step.step_id)

    def record_success(self, run_id: str, step: StepState, stored: StoredOutput,
                       payload: dict[str, Any]) -> None:
        """The attempt succeeded: its output (inline or artifact URI) and ATTEMPT_SUCCESS."""
        with self._writer() as w:
            at = self.clock()
            attempt_log.finish(step.attempt_log, AttemptStatus.SUCCEEDED, at)
            w.execute("step_succeeded", (stored.inline_json, stored.uri, stored.sha256,
                                         attempt_log.dumps(step.attempt_log), w.when(at), step.pk))
            w.event(EventKind.ATTEMPT_SUCCESS.value, run_id, ACTOR, payload)

    def record_failure(self, run_id: str, step: StepState, *, error: str, retryable: bool,
                       final: bool, payload: dict[str, Any]) -> None:
        """The attempt failed; with ``final`` the step failed for good."""
        with self._writer() as w:
            at = self.clock()
            attempt_log.finish(step.attempt_log, AttemptStatus.FAILED, at, error=error,
                               retryable=retryable)
            log = attempt_log.dumps(step.attempt_log)
            if final:
                w.execute("step_failed", (error, log, w.when(at), step.pk))
            else:
                w.execute("step_log", (log, step.pk))
            w.event(EventKind.ATTEMPT_FAILURE.value, run_id, ACTOR, payload)

    def record_check(self, run_id: str, step: StepState, payload: dict[str, Any], *,
                     denied_error: str | None, cancellable: bool = False) -> None:
        """A runtime policy check; a denial fails the step for good in the same commit.
        ``cancellable``: the check of a call about to start, left out with its start. One that
        does not deny is part of starting the call (left out or held back with it, :meth:`flush`)."""
        with self._writer() as w:
            if denied_error is not None:
                w.execute("step_denied", (denied_error, w.when(self.clock()), step.pk))
            w.event(EventKind.STEP_CHECK.value, run_id, ACTOR, payload,
                    start_of=step.step_id if cancellable else None,
                    starts=step.step_id if denied_error is None else None)

    def flush(self, *, leave_out: Collection[str] = (), hold: Collection[str] = (),
              in_order: bool = False) -> tuple[str, ...]:
        """Commit the transitions recorded since the last flush (one transaction); the steps
        whose start it left out, a cancel having committed first (usually none).

        ``leave_out``: steps whose calls (a start or a retry's) will not be made, the run
        stopping first: what was queued to start them is dropped, the rest committed.
        ``hold``: steps whose calls are not made yet, the loop's turn going on: what was
        queued to start them stays queued for a later flush (with ``in_order``, with all
        recorded after it: :meth:`~executor.store.hot.HotWriter.flush`)."""
        writer = self._writer_pinned
        if writer is None:
            return ()
        writer.leave_out(leave_out)
        return writer.flush(hold=hold, in_order=in_order) if hold else writer.flush()

    def leave_out(self, steps: Collection[str]) -> None:
        """Drop what was recorded since the last flush to start the calls of ``steps`` (their
        allowed checks among it): the loop does not start them after all (a drain came)."""
        if self._writer_pinned is not None:
            self._writer_pinned.leave_out(steps)

    @property
    def cancel_seen(self) -> bool:
        """Whether a flush of the pinned run saw its cancel flag raised."""
        return self._writer_pinned is not None and self._writer_pinned.cancel_seen

    def finish(self, run_id: str, owner: str, status: RunStatus, error: str | None, *,
               in_flight: str | None = None) -> RunRecord:
        """End the run (RUN_CANCEL first when cancelled, then RUN_END) and release it; its summary.

        Cancelled, the steps a takeover sent back to pending and nothing ran again end failed
        (RUN_CANCEL names them), as when a cancel ends a dead owner's run. With ``in_flight``
        (an owner that stops on an internal error leaves steps running), the steps still
        running end failed with that error, their attempt interrupted, as a cancel ends a dead
        owner's (RUN_END names them): a resume of the failed run sends them back to pending.
        Failed, so do the steps a takeover sent back to pending that were not run again (the
        run was stopping on a step that had failed for good): RUN_END names them too.

        A run about to end succeeded whose cancel request committed first (its owner may
        not have looked since) ends cancelled: the flag is read and the end written in one
        statement, so a request either commits first and is honoured or finds the run ended.
        A failed end stays failed, naming its cause (a person may resume it once fixed).

        Only while ``owner`` still owns it: otherwise ``LeaseLostError``, nothing written.
        """
        now = self.clock()
        end_as: Any = status.value
        if status is RunStatus.SUCCEEDED:
            end_as = case((RUNS.c.cancel_requested.is_(True), RunStatus.CANCELLED.value),
                          else_=status.value)
        with database_errors(f"ending run {run_id}"), Session(self.engine) as s:
            ended = s.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.owner == owner).values(
                status=end_as, error=error, ended_at=now, owner=None, lease_expires_at=None))
            if ended.rowcount != 1:
                s.rollback()
                raise LeaseLostError(f"run {run_id} was taken over before {owner} could end it")
            if (file := sqlite_file(self.engine)) is not None:
                file.ensure(f"ending run {run_id}")  # an end written into a deleted file is lost
            row = s.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().one()
            status, error = RunStatus(row["status"]), row["error"]
            if status is RunStatus.CANCELLED:
                interrupted = self._end_interrupted(s, run_id, now)
                self.ledger.append(EventKind.RUN_CANCEL, run_id, ACTOR,
                                   {"interrupted": list(interrupted)} if interrupted else {},
                                   session=s)
            end: dict[str, Any] = {"status": status.value, "error": error}
            stopped: list[str] = []
            if in_flight is not None:
                stopped += self._send_back(s, run_id, StepStatus.RUNNING, now, ending=in_flight)
            if status is RunStatus.FAILED:
                stopped += self._end_interrupted(s, run_id, now,
                                                 ending=in_flight or STOPPED_IN_FLIGHT)
            if in_flight is not None or stopped:
                end["interrupted"] = stopped
            self.ledger.append(EventKind.RUN_END, run_id, ACTOR, end, session=s)
            s.commit()
        return self._run_record(dict(row), ())

    def request_cancel(self, run_id: str, *, actor: str) -> RunRecord | None:
        """Raise the cancel flag on an unfinished run, recording CANCEL_REQUEST by ``actor``.

        Returns the run as it stood once flagged (its owner and lease say who will see
        the flag), or None when there is no such run or it has already ended.
        """
        with database_errors(f"cancelling run {run_id}"), Session(self.engine) as s:
            done = s.execute(update(RUNS).where(
                RUNS.c.id == run_id,
                RUNS.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
            ).values(cancel_requested=True))
            if done.rowcount != 1:
                s.rollback()
                return None
            row = s.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().one()
            self.ledger.append(EventKind.CANCEL_REQUEST, run_id, actor, {"status": row["status"]},
                               session=s)
            s.commit()
        return self._run_record(dict(row), ())


class _PrivateWriter:
    """A writer on a connection of its own, flushed and closed when the block ends without error."""

    def __init__(self, engine: Engine, ledger: Ledger) -> None:
        self._engine = engine
        self._ledger = ledger
        self._connection: Any = None

    def __enter__(self) -> HotWriter:
        self._connection = self._engine.connect()
        self._writer = HotWriter(self._connection.connection.dbapi_connection,
                                 self._engine.dialect.name, self._ledger,
                                 file=sqlite_file(self._engine))
        return self._writer

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if kind is None:
                self._writer.flush()
        finally:
            self._connection.close()


def _run_record(row: dict[str, Any], steps: tuple[StepRecord, ...]) -> RunRecord:
    return RunRecord(
        id=row["id"], plan_id=row["plan_id"], version=row["version"], plan_hash=row["plan_hash"],
        status=RunStatus(row["status"]), requested_by=row["requested_by"], owner=row["owner"],
        lease_expires_at=aware(row["lease_expires_at"]), concurrency=row["concurrency"],
        cancel_requested=bool(row["cancel_requested"]), error=row["error"],
        created_at=aware(row["created_at"]), started_at=aware(row["started_at"]),
        ended_at=aware(row["ended_at"]), steps=steps)

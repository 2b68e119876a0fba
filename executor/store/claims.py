"""Claiming a run: taking it over from a dead owner, or picking up a queued or abandoned one.

A claim is one conditional UPDATE of the run's owner: it wins only while the
owner and its lease are still the ones the claimer saw gone (an owner that
renewed its lease in the meantime is alive after all). The steps the old owner
left running go back to pending, their last attempt marked interrupted, and
RUN_RESUME records it. A cancelled run nobody holds is ended without being
claimed (:meth:`RunClaims.end_abandoned`): its steps left running end failed. So do
those of a run its owner ends on an internal error (``RunStore.finish`` with
``in_flight``), and those a takeover sent back that were not run again before the
run ended failed (a step had failed for good first), to be sent back to pending
when a person resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Interval, and_, cast, func, literal, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..ledger import EventKind, Ledger, SystemActor
from ..records import AttemptStatus, RunStatus
from ..scheduling import StepStatus
from . import attempt_log
from .db import database_errors
from .schema import RunRow, StepRunRow

RUNS = RunRow.__table__  # type: ignore[attr-defined]
# PostgreSQL's clock: the transaction's start (for comparing a lease), and the moment
# itself (for a lease that starts now); the lease column holds a time with its zone.
_DB_NOW = func.now()
_DB_NOW_EXACT = func.clock_timestamp()
_ONE_SECOND = cast(literal("1 second"), Interval)
STEPS = StepRunRow.__table__  # type: ignore[attr-defined]
ACTOR = SystemActor.EXECUTOR.value
# A step left running by a dead owner when its run is cancelled: it ends failed, as a retry a
# live owner drops on a cancel does ("not tried again: the run was cancelled").
CANCELLED_IN_FLIGHT = f"{attempt_log.INTERRUPTED_ERROR}; not tried again: the run was cancelled"
# A step left running when its owner stops the run on an internal error (a bug): it ends failed,
# and a resume of the failed run sends it back to pending, to be called with the same key.
INTERNAL_ERROR_IN_FLIGHT = (f"{attempt_log.INTERRUPTED_ERROR}; not tried again: the run failed on "
                            "an internal error in the executor (a resume calls it again, with the "
                            "same idempotency key)")
# A step a takeover sent back to pending that was not run again because the run was stopping (a
# step had failed for good before the crash): the run ends failed, and so does that step, named
# in RUN_END, so that a person's resume of the failed run sends it back with the failed one. Its
# call may have had its effect: that resume is the person's decision to make it again.
STOPPED_IN_FLIGHT = (f"{attempt_log.INTERRUPTED_ERROR}; not tried again: the run was ending failed "
                     "(a resume of the failed run calls it again, with the same idempotency key)")


@dataclass(frozen=True)
class TakeOver:
    """What a claim of a run changed: whose it was, and which steps it sent back to pending."""

    previous_owner: str | None
    previous_status: RunStatus
    interrupted: tuple[str, ...]
    reset: tuple[str, ...]


class RunClaims:
    """The claiming half of the run store (:class:`~executor.store.runs.RunStore` is one)."""

    engine: Engine
    ledger: Ledger
    clock: Callable[[], datetime]

    # Leases are set and compared with one clock, and the queue is ordered by one. On
    # PostgreSQL several workers on several machines share a run: their clocks may disagree
    # by more than a lease, so the database's clock sets and judges every lease and stamps
    # every run queued (a machine ten minutes ahead would otherwise put its run behind all
    # those queued in the next ten minutes). SQLite is one machine's file: its processes
    # share that machine's clock (``clock``).

    def lease_until(self, lease_s: float) -> Any:
        """The value of a lease that ends ``lease_s`` from now (an SQL expression on PostgreSQL)."""
        if self.engine.dialect.name == "postgresql":
            # A number of seconds times one second: text such as f"{lease_s} seconds" wrote
            # 0.00005 as "5e-05 seconds", which PostgreSQL refuses (every claim failed).
            return _DB_NOW_EXACT + cast(literal(float(lease_s)), Float) * _ONE_SECOND
        return self.clock() + timedelta(seconds=lease_s)

    def lease_now(self) -> Any:
        """What a lease is compared with: now (an SQL expression on PostgreSQL)."""
        return _DB_NOW if self.engine.dialect.name == "postgresql" else self.clock()

    def queued_at(self) -> Any:
        """When a run is queued now (an SQL expression on PostgreSQL): the queue is claimed in
        this order, so on PostgreSQL it is the database's clock, whichever machine queues."""
        return _DB_NOW_EXACT if self.engine.dialect.name == "postgresql" else self.clock()

    def database_now(self) -> datetime:
        """Now by the clock the leases go by (timezone-aware UTC): ask before judging one."""
        if self.engine.dialect.name != "postgresql":
            return self.clock()
        with database_errors("reading the database's clock"), self.engine.connect() as c:
            value = c.execute(select(_DB_NOW_EXACT)).scalar_one()
        return value.astimezone(UTC)

    def take_over(self, run_id: str, owner: str, *, expected_owner: str | None,
                  expected_lease: datetime | None, lease_s: float, actor: str = ACTOR,
                  resume_failed: bool = False) -> TakeOver | None:
        """Claim the run if its owner is still ``expected_owner`` and has not renewed its lease
        past ``expected_lease`` (both as read when judging it gone); None when it has, or
        someone else won.

        Attempts left ``started`` become ``interrupted`` and their steps go back to
        pending (re-attempted with the same key); with ``resume_failed`` the
        failed steps do too. Records RUN_RESUME when the run had started before.
        """
        with database_errors(f"taking over run {run_id}"), Session(self.engine) as s:
            row = s.execute(select(RUNS.c.id, RUNS.c.status, RUNS.c.owner, RUNS.c.started_at)
                            .where(RUNS.c.id == run_id).with_for_update()).first()
            if row is None or row[2] != expected_owner:
                return None
            took = self._claim(s, (*row, expected_lease), owner, lease_s, actor, resume_failed)
            s.commit()
        return took

    def claim_next(self, owner: str, lease_s: float) -> tuple[str, TakeOver] | None:
        """Claim the oldest queued run, or running run whose lease expired, for ``owner``."""
        now = self.lease_now()
        query = select(RUNS.c.id, RUNS.c.status, RUNS.c.owner, RUNS.c.started_at,
                       RUNS.c.lease_expires_at).where(or_(
            and_(RUNS.c.status == RunStatus.QUEUED.value, RUNS.c.owner.is_(None)),
            and_(RUNS.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
                 RUNS.c.lease_expires_at < now),
        )).order_by(RUNS.c.created_at).limit(1)
        if self.engine.dialect.name == "postgresql":
            # Workers skip a row another worker is claiming instead of queueing behind it.
            query = query.with_for_update(skip_locked=True)
        with database_errors("looking for a run to claim"), Session(self.engine) as s:
            row = s.execute(query).first()
            if row is None:
                return None
            took = self._claim(s, row, owner, lease_s, ACTOR, False)
            s.commit()
        return (row[0], took) if took is not None else None

    def _claim(self, s: Session, row: Any, owner: str, lease_s: float, actor: str,
               resume_failed: bool) -> TakeOver | None:
        run_id, status, expected_owner, started_at, expected_lease = row
        now = self.clock()
        # Never an ended run (a cancel or an end may have come after the row was read and
        # left it ownerless too); a failed one only when a person resumes it.
        claimable = [RunStatus.QUEUED.value, RunStatus.RUNNING.value]
        if resume_failed:
            claimable.append(RunStatus.FAILED.value)
        claimed = s.execute(update(RUNS).where(
            RUNS.c.id == run_id, RUNS.c.status.in_(claimable),
            *_still_held_as_seen(expected_owner, expected_lease),
        ).values(owner=owner, lease_expires_at=self.lease_until(lease_s)))
        if claimed.rowcount != 1:
            return None
        previous = RunStatus(status)
        interrupted = self._send_back(s, run_id, StepStatus.RUNNING, now)
        reset = self._send_back(s, run_id, StepStatus.FAILED, now) if resume_failed else ()
        if previous is not RunStatus.QUEUED or started_at is not None:
            values: dict[str, Any] = {"status": RunStatus.RUNNING.value, "error": None,
                                      "ended_at": None}
            if resume_failed:
                # A cancel asked for as the run was failing ended with it; resuming the
                # failed run is a new decision (a crash takeover keeps a pending cancel).
                values["cancel_requested"] = False
            s.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))
            self.ledger.append(EventKind.RUN_RESUME, run_id, actor, {
                "owner": owner, "previous_owner": expected_owner,
                "previous_status": previous.value, "interrupted": list(interrupted),
                "reset": list(reset)}, session=s)
        return TakeOver(expected_owner, previous, interrupted, reset)

    def end_abandoned(self, run_id: str, *, expected_owner: str | None,
                      expected_lease: datetime | None, actor: str) -> bool:
        """End a cancel-flagged run nobody holds as cancelled, starting nothing; False if it moved.

        One conditional UPDATE: the run must still be unfinished, flagged, and held (or not)
        as the caller saw it gone. An owner that renewed its lease, ended the run or handed
        it on in the meantime keeps it: it sees the flag, or the run has its own end. Steps
        the dead owner left running end failed (the run is final: nothing will run them),
        their attempt interrupted.
        """
        now = self.clock()
        with database_errors(f"cancelling run {run_id}"), Session(self.engine) as s:
            ended = s.execute(update(RUNS).where(
                RUNS.c.id == run_id,
                RUNS.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
                RUNS.c.cancel_requested.is_(True),
                *_still_held_as_seen(expected_owner, expected_lease),
            ).values(status=RunStatus.CANCELLED.value, error=None, ended_at=now, owner=None,
                     lease_expires_at=None))
            if ended.rowcount != 1:
                s.rollback()
                return False
            interrupted = self._send_back(s, run_id, StepStatus.RUNNING, now,
                                          ending=CANCELLED_IN_FLIGHT)
            self.ledger.append(EventKind.RUN_CANCEL, run_id, actor, {
                "previous_owner": expected_owner, "interrupted": list(interrupted)}, session=s)
            self.ledger.append(EventKind.RUN_END, run_id, actor,
                               {"status": RunStatus.CANCELLED.value, "error": None}, session=s)
            s.commit()
        return True

    def _send_back(self, s: Session, run_id: str, status: StepStatus, now: datetime, *,
                   ending: str | None = None) -> tuple[str, ...]:
        """Put the run's steps in ``status`` back to pending (a resume or takeover runs them
        again), or, ``ending`` the run, end them failed now with that error: pending would say
        "not started" of a step whose attempt started, in a run that is over."""
        rows = s.execute(select(STEPS.c.id, STEPS.c.step_id, STEPS.c.attempt_log).where(
            STEPS.c.run_id == run_id, STEPS.c.status == status.value)
            .order_by(STEPS.c.position)).all()
        sent: list[str] = []
        for pk, step_id, text in rows:
            log = attempt_log.parse(text)
            if status is StepStatus.RUNNING:
                # Its last attempt never got a result: its owner died mid-call.
                changed = attempt_log.interrupt(log, now)
            else:  # a failed step a person sends back after fixing the cause
                attempt_log.reset_budget(log)
                changed = bool(log)
            values: dict[str, Any] = (
                {"status": StepStatus.FAILED.value, "error": ending, "ended_at": now}
                if ending is not None
                else {"status": StepStatus.PENDING.value, "error": None, "ended_at": None})
            if changed:
                values["attempt_log"] = attempt_log.dumps(log)
            # Only while it still has the status read above: a result committed since
            # (the row lock makes PostgreSQL re-check this) is never sent back.
            done = s.execute(update(STEPS).where(STEPS.c.id == pk, STEPS.c.status == status.value)
                             .values(**values))
            if done.rowcount == 1:
                sent.append(step_id)
        return tuple(sent)

    def _end_interrupted(self, s: Session, run_id: str, now: datetime, *,
                         ending: str = CANCELLED_IN_FLIGHT) -> tuple[str, ...]:
        """The run ends (cancelled, or failed): steps a takeover sent back to pending, their
        attempt interrupted, that were not run again end failed with ``ending``, as
        :meth:`end_abandoned` ends them.

        A cancel asked before the takeover (its owner killed before it saw the flag), or a
        step that failed for good before it, stops the new owner before it starts anything:
        pending would say "not started" of a step whose attempt started, in a run that is
        over; and a person resuming the failed run would not send it back with the others.
        """
        rows = s.execute(select(STEPS.c.id, STEPS.c.step_id, STEPS.c.attempt_log).where(
            STEPS.c.run_id == run_id, STEPS.c.status == StepStatus.PENDING.value,
            STEPS.c.attempts > 0).order_by(STEPS.c.position)).all()
        ended: list[str] = []
        for pk, step_id, text in rows:
            log = attempt_log.parse(text)
            if log and log[-1]["status"] == AttemptStatus.INTERRUPTED.value:
                s.execute(update(STEPS).where(
                    STEPS.c.id == pk, STEPS.c.status == StepStatus.PENDING.value,
                ).values(status=StepStatus.FAILED.value, error=ending, ended_at=now))
                ended.append(step_id)
        return tuple(ended)


def _still_held_as_seen(owner: str | None, lease: datetime | None) -> tuple[Any, ...]:
    """WHERE terms: the run is held by ``owner`` with a lease no later than ``lease``.

    A live owner renews its lease forward, so a later lease means it was not gone after all.
    """
    if owner is None:
        return (RUNS.c.owner.is_(None),)
    lease_term = RUNS.c.lease_expires_at.is_(None)
    if lease is not None:
        lease_term = or_(lease_term, RUNS.c.lease_expires_at <= lease)
    return (RUNS.c.owner == owner, lease_term)

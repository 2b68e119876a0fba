"""The plan repository: plans and their numbered versions over ``plans`` / ``plan_versions``.

Every version is kept, invalid ones included (with their problems), so that
nothing recorded is lost. ``problems_json`` holds a list of problems, or an
object ``{"problems": [...], "error": "..."}`` when planning itself failed.

The approval gate reads and writes through :meth:`PlanStore.locked`: one
transaction holding the plan's lock (``SELECT … FOR UPDATE`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite), the lock a revision takes too, so a
check ("v1 is the latest", "one approval of two") and the write it allows see
the same state. Status changes there are conditional (:meth:`PlanGate.move_status`).

What is recorded of a version (its ledger events) is written by the ``record`` callback that
:meth:`PlanStore.create_plan` and :meth:`PlanStore.add_version` take, in the transaction that
stores the version: both are stored, or neither.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import and_, exists, literal, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from planner.base import PlannerKind
from planner.plan import Plan, TemplateOrigin, canonical_json
from planner.problems import Problem
from planner.versions import StoredVersion, VersionStatus
from policies.approval import ApprovalRecord
from policies.contracts import Decision
from tools import BatonError

from ..records import RunStatus
from . import approvals
from .approvals import StoredDecision
from .clock import database_now
from .db import read_session
from .schema import PlanRow, PlanVersionRow, RunRow

FINAL_STATUSES = frozenset({VersionStatus.REJECTED, VersionStatus.DENIED, VersionStatus.INVALID,
                            VersionStatus.SUPERSEDED})


class PlanNotFoundError(BatonError):
    """No plan (or no such version of a plan) is stored."""

    code = "not_found"


class PlanChangedError(BatonError):
    """A revision was to be stored on a version that is no longer the latest: another version
    was added while the planner worked, and storing this one would drop that one's change."""

    code = "plan_changed"

    def __init__(self, plan_id: str, base: int, latest: int) -> None:
        self.plan_id, self.base, self.latest = plan_id, base, latest
        if latest <= base:  # not from a revision of a version read from the store
            added = f"its latest version is v{latest}, not v{base}"
        elif latest == base + 1:
            added = f"v{latest} was added"
        else:
            added = f"v{base + 1} {'and' if latest == base + 2 else 'to'} v{latest} were added"
        super().__init__(f"plan {plan_id} changed while revising: {added}; revise again")


class NewVersion(BaseModel):
    """What a caller supplies to store one version; the store adds id, number, hash and time."""

    model_config = ConfigDict(frozen=True)

    plan: Plan | None = Field(default=None, description="The plan, when it is a well-formed one.")
    document: Any = Field(default=None, description="The raw document when it is not a Plan.")
    status: VersionStatus = Field(description="Initial status (VALIDATED or INVALID).")
    planner: PlannerKind = Field(description="Which planner produced it.")
    origin: TemplateOrigin | None = Field(default=None, description="Template it instantiates.")
    problems: tuple[Problem, ...] = Field(default=(), description="Validation problems.")
    feedback: str | None = Field(default=None, description="Feedback this version answers.")
    created_by: str = Field(description="Who created it.")
    error: str | None = Field(default=None, description="Why planning failed, if it did.")
    revises: int | None = Field(default=None, description=(
        "The version this one revises: it is stored only while that is still the latest "
        "(PlanChangedError otherwise). None: stored whatever the latest is."))


# Writes, in the session's transaction, what is committed with a version just stored.
VersionRecorder = Callable[[Session, StoredVersion], None]


def new_plan_id() -> str:
    """A fresh plan id: ``p-`` and 8 hex characters."""
    return "p-" + secrets.token_hex(4)


class PlanStore:
    """Creates, versions, reads and lists stored plans."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_plan(self, goal: str, requester: str, first: NewVersion, *,
                    record: VersionRecorder | None = None) -> StoredVersion:
        """Store a new plan with ``first`` as version 1.

        ``record(session, stored)`` writes what is stored with the version (its ledger events)
        in the same transaction: when it raises, neither the plan nor the version is stored.
        """
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            plan_id = self._free_id(session)
            session.add(PlanRow(id=plan_id, goal=goal, requester=requester, created_at=now,
                                latest_version=1))
            session.flush()
            row = _version_row(plan_id, 1, goal, first, now)
            session.add(row)
            _record(session, row, record, goal=goal, requester=requester)
            session.commit()
            return _to_stored(row, goal=goal, requester=requester)

    def add_version(self, plan_id: str, new: NewVersion, *,
                    record: VersionRecorder | None = None) -> StoredVersion:
        """Store the next version; the previous one becomes SUPERSEDED unless already final.

        When ``new.revises`` names a version that is no longer the latest, nothing is stored
        (``PlanChangedError``): checked under the plan's lock, in the insert's transaction, so
        of two revisions of one version at once, the later one is refused. ``record`` is as
        for :meth:`create_plan`: when it raises, nothing is stored nor superseded.
        """
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            plan = _locked_plan(session, plan_id)
            if new.revises is not None and new.revises != plan.latest_version:
                raise PlanChangedError(plan_id, new.revises, plan.latest_version)
            previous = self._row(session, plan_id, plan.latest_version)
            if previous is not None and VersionStatus(previous.status) not in FINAL_STATUSES:
                previous.status = VersionStatus.SUPERSEDED.value
                session.add(previous)
            plan.latest_version += 1
            session.add(plan)
            row = _version_row(plan_id, plan.latest_version, plan.goal, new, now)
            session.add(row)
            _record(session, row, record, goal=plan.goal, requester=plan.requester)
            session.commit()
            return _to_stored(row, goal=plan.goal, requester=plan.requester)

    def get(self, plan_id: str, version: int | None = None) -> StoredVersion:
        """Version ``version`` of the plan (latest when None); PlanNotFoundError names what exists."""
        with read_session(self._engine) as session:
            plan = session.get(PlanRow, plan_id)
            if plan is None:
                raise PlanNotFoundError(f"no plan {plan_id!r}; `baton plans list` shows the plans")
            number = plan.latest_version if version is None else version
            # Versions run 1..latest: 0 is not "the latest", and a number past the latest is
            # refused before it could overflow the database's integer.
            in_range = 1 <= number <= plan.latest_version
            row = self._row(session, plan_id, number) if in_range else None
            if row is None:
                have = ", ".join(str(v) for v in self._numbers(session, plan_id)) or "none"
                raise PlanNotFoundError(f"plan {plan_id} has no version {version} (versions: {have})")
            return _to_stored(row, goal=plan.goal, requester=plan.requester)

    def versions(self, plan_id: str) -> list[StoredVersion]:
        """Every version of the plan, oldest first."""
        with read_session(self._engine) as session:
            plan = session.get(PlanRow, plan_id)
            if plan is None:
                raise PlanNotFoundError(f"no plan {plan_id!r}; `baton plans list` shows the plans")
            rows = session.exec(select(PlanVersionRow).where(PlanVersionRow.plan_id == plan_id)
                                .order_by(col(PlanVersionRow.version))).all()
            return [_to_stored(r, goal=plan.goal, requester=plan.requester) for r in rows]

    def latest_valid_by(self, plan_id: str, author: str, before: int) -> StoredVersion | None:
        """The newest version numbered below ``before`` that ``author`` wrote and that is not
        INVALID; None when there is none (or no such plan).

        One query, however many versions lie between: the role rule's baseline for a reviser
        (``baton.usecases.policy_input.added_tools``) is read at every decision and check.
        """
        with read_session(self._engine) as session:
            plan = session.get(PlanRow, plan_id)
            if plan is None:
                return None
            row = session.exec(
                select(PlanVersionRow).where(
                    PlanVersionRow.plan_id == plan_id, PlanVersionRow.created_by == author,
                    col(PlanVersionRow.version) < before,
                    PlanVersionRow.status != VersionStatus.INVALID.value)
                .order_by(col(PlanVersionRow.version).desc()).limit(1)).first()
            return None if row is None else _to_stored(row, goal=plan.goal,
                                                       requester=plan.requester)

    def authors(self, plan_id: str) -> frozenset[str]:
        """Everyone who wrote a version of the plan (the approval gate excludes them)."""
        with read_session(self._engine) as session:
            return frozenset(session.exec(select(PlanVersionRow.created_by).distinct()
                                          .where(PlanVersionRow.plan_id == plan_id)).all())

    def authors_of(self, plan_ids: list[str]) -> dict[str, frozenset[str]]:
        """:meth:`authors` of several plans in one query; an unknown plan has none.

        For a page listing plans (the web queue): one query, not one per plan.
        """
        found: dict[str, set[str]] = {plan_id: set() for plan_id in plan_ids}
        if found:
            query = (select(PlanVersionRow.plan_id, PlanVersionRow.created_by).distinct()
                     .where(col(PlanVersionRow.plan_id).in_(list(found))))
            with read_session(self._engine) as session:
                for plan_id, author in session.exec(query).all():
                    found[plan_id].add(author)
        return {plan_id: frozenset(authors) for plan_id, authors in found.items()}

    def list_plans(self, status: VersionStatus | None = None, limit: int = 50) -> list[StoredVersion]:
        """The latest version of each plan, newest plan first; optionally only those in ``status``."""
        if status is None:
            return self._latest_versions(None, limit)
        return self._latest_versions(PlanVersionRow.status == VersionStatus(status).value, limit)

    def list_waiting(self, *, now: datetime, ttl: timedelta,
                     role_holders: Mapping[str, Collection[str]],
                     limit: int, after: str | None = None) -> list[StoredVersion]:
        """The latest versions that wait for approval, newest plan first: those pending
        approval, and approved ones with an approval that no longer counts at ``now``
        (``approvals.lapsed_approval``: expired under ``ttl``, or its approver holds none of
        the roles asked for, ``role_holders`` giving each role's holders now) and no run
        that succeeded. ``now`` is the database's time (``clock.database_now``), which
        approvals are stamped with, not the clock of the machine listing.

        Those approved ones may still have enough approvals besides: the gate decides, so a
        caller filling a page reads on in batches, each ``after`` the plan id the previous one
        ended with: only plans listed after it (older, or as old with a greater id) are read.
        A cursor rather than an offset: a plan created or revised between two batches moves
        none past it. A superseded version is never one: only each plan's latest version is.
        """
        lapsed = approvals.lapsed_approval(
            PlanVersionRow.plan_id, PlanVersionRow.version, PlanVersionRow.plan_hash,
            dialect=self._engine.dialect.name, now=now, ttl=ttl, role_holders=role_holders)
        where = or_(
            PlanVersionRow.status == VersionStatus.PENDING_APPROVAL.value,
            and_(PlanVersionRow.status == VersionStatus.APPROVED.value, lapsed,
                 ~_ran_to_success(PlanVersionRow.plan_id, PlanVersionRow.version)))
        if after is not None:  # the order of _latest_versions: created_at descending, then id
            created = select(PlanRow.created_at).where(PlanRow.id == after).scalar_subquery()
            where = and_(where, or_(col(PlanRow.created_at) < created,
                                    and_(col(PlanRow.created_at) == created,
                                         col(PlanRow.id) > after)))
        return self._latest_versions(where, limit)

    def _latest_versions(self, where: Any, limit: int) -> list[StoredVersion]:
        """The latest version of each plan matching ``where`` (None: all), newest plan first."""
        query = (select(PlanRow, PlanVersionRow)
                 .join(PlanVersionRow, (PlanVersionRow.plan_id == PlanRow.id)
                       & (PlanVersionRow.version == PlanRow.latest_version))
                 .order_by(col(PlanRow.created_at).desc(), col(PlanRow.id)))
        if where is not None:
            query = query.where(where)
        with read_session(self._engine) as session:
            rows = session.exec(query.limit(limit)).all()
            return [_to_stored(v, goal=p.goal, requester=p.requester) for p, v in rows]

    @contextmanager
    def locked(self, plan_id: str) -> Iterator[PlanGate]:
        """The plan, locked against revisions and other gate changes until the block ends;
        what the block wrote commits together at its end (nothing of it when it raises)."""
        with Session(self._engine) as session:
            plan = _locked_plan(session, plan_id)
            yield PlanGate(session, plan)
            session.commit()

    def set_status(self, plan_id: str, version: int, status: VersionStatus) -> StoredVersion:
        """Change one version's status whatever it was (for repairs and tests: the gate
        moves statuses only from the ones it expects, with :meth:`PlanGate.move_status`)."""
        with Session(self._engine) as session:
            plan = session.get(PlanRow, plan_id)
            row = self._row(session, plan_id, version) if plan is not None else None
            if plan is None or row is None:
                raise PlanNotFoundError(f"no version {version} of plan {plan_id!r}")
            row.status = VersionStatus(status).value
            session.add(row)
            session.commit()
            session.refresh(row)
            return _to_stored(row, goal=plan.goal, requester=plan.requester)

    @staticmethod
    def _row(session: Session, plan_id: str, version: int) -> PlanVersionRow | None:
        return session.exec(select(PlanVersionRow).where(
            PlanVersionRow.plan_id == plan_id, PlanVersionRow.version == version)).first()

    @staticmethod
    def _numbers(session: Session, plan_id: str) -> list[int]:
        rows = session.exec(select(PlanVersionRow.version).where(PlanVersionRow.plan_id == plan_id)
                            .order_by(col(PlanVersionRow.version))).all()
        return list(rows)

    @staticmethod
    def _free_id(session: Session) -> str:
        while True:  # 32 random bits: a clash is rare, but never overwrite a plan
            plan_id = new_plan_id()
            if session.get(PlanRow, plan_id) is None:
                return plan_id


class PlanGate:
    """One plan inside a :meth:`PlanStore.locked` transaction: its versions, decisions and
    approvals read fresh under the lock, and the writes the gate makes."""

    def __init__(self, session: Session, plan: PlanRow) -> None:
        self.session = session  # for a ledger event written in the same transaction
        self._plan = plan

    @property
    def latest_version(self) -> int:
        """The newest version's number."""
        return self._plan.latest_version

    def version(self, number: int | None = None) -> StoredVersion:
        """Version ``number`` (latest when None); PlanNotFoundError when there is none."""
        number = self._plan.latest_version if number is None else number
        row = (PlanStore._row(self.session, self._plan.id, number)
               if 1 <= number <= self._plan.latest_version else None)
        if row is None:
            have = ", ".join(str(v) for v in PlanStore._numbers(self.session, self._plan.id))
            raise PlanNotFoundError(f"plan {self._plan.id} has no version {number} "
                                    f"(versions: {have or 'none'})")
        return _to_stored(row, goal=self._plan.goal, requester=self._plan.requester)

    def authors(self) -> frozenset[str]:
        """Everyone who wrote a version of the plan."""
        return frozenset(self.session.exec(select(PlanVersionRow.created_by).distinct()
                                           .where(PlanVersionRow.plan_id == self._plan.id)).all())

    def latest_decision(self, version: int) -> StoredDecision | None:
        """The newest decision on that version, if any."""
        return approvals.latest_decision(self.session, self._plan.id, version)

    def database_now(self) -> datetime:
        """Now by the database's clock, read under the lock: what an approval or rejection
        recorded here is stamped with, and the gate judges the approvals by (``clock``)."""
        return database_now(self.session)

    def records(self, version: int) -> list[ApprovalRecord]:
        """Every approval and rejection of that version, oldest first."""
        return approvals.records(self.session, self._plan.id, version)

    def add_record(self, record: ApprovalRecord) -> None:
        """Store one approval or rejection of this plan."""
        approvals.add_record(self.session, record.model_copy(update={"plan_id": self._plan.id}))

    def record_decision(self, version: int, plan_hash: str, decision: Decision,
                        now: datetime, input_hash: str | None = None) -> StoredDecision:
        """Store a decision on one version of this plan (with the hash of the policy input
        it rests on, built as of ``now``)."""
        return approvals.add_decision(self.session, self._plan.id, version, plan_hash, decision,
                                      now, input_hash)

    def move_status(self, version: int, to: VersionStatus,
                    *, only_from: Collection[VersionStatus]) -> bool:
        """Set the version's status to ``to`` if it is one of ``only_from`` now; whether it did.

        One ``UPDATE … WHERE status IN (…)``: a status someone else set meanwhile (a revision
        superseding the version, a rejection) is never overwritten.
        """
        result = self.session.execute(
            update(PlanVersionRow)
            .where(col(PlanVersionRow.plan_id) == self._plan.id,
                   col(PlanVersionRow.version) == version,
                   col(PlanVersionRow.status).in_([VersionStatus(s).value for s in only_from]))
            .values(status=VersionStatus(to).value))
        return bool(result.rowcount)


def _record(session: Session, row: PlanVersionRow, record: VersionRecorder | None, *,
            goal: str, requester: str) -> None:
    """Have ``record`` write, in ``session``'s transaction, what is stored with ``row``."""
    if record is not None:
        session.flush()  # the version's row first: a failure to store it is its own
        record(session, _to_stored(row, goal=goal, requester=requester))


def _version_row(plan_id: str, number: int, goal: str, new: NewVersion,
                 now: datetime) -> PlanVersionRow:
    if new.plan is not None:
        plan_json, plan_hash = new.plan.canonical_json(), new.plan.plan_hash()
    else:
        raw = new.document if new.document is not None else {"goal": goal, "steps": []}
        plan_json = canonical_json(raw)
        plan_hash = hashlib.sha256(plan_json.encode("utf-8")).hexdigest()
    problems = [p.model_dump(mode="json") for p in new.problems]
    stored_problems: Any = {"problems": problems, "error": new.error} if new.error else problems
    return PlanVersionRow(
        plan_id=plan_id, version=number, plan_json=plan_json, plan_hash=plan_hash,
        status=new.status.value, planner=new.planner.value,
        origin_json=new.origin.model_dump_json() if new.origin else None,
        problems_json=json.dumps(stored_problems) if (problems or new.error) else None,
        feedback=new.feedback, created_by=new.created_by, created_at=now,
    )


def _ran_to_success(plan_id: Any, version: Any) -> Any:
    """SQL: the version (columns of the enclosing query) has a run that succeeded.

    Approvals always expire (``approval_ttl_s``), so a lapse alone would bring back every
    version ever approved: one that ran to success did its job and waits for nobody. One
    whose runs failed, were cancelled or have not ended may need a resume or a new run,
    which the gate guards. One probe of ``ix_runs_plan_id_version_status`` per version
    (revision 0009; without it SQLite read every succeeded run each time); PostgreSQL may
    instead read the succeeded runs once per query into a hash.
    """
    return exists(select(literal(1)).select_from(RunRow).where(
        RunRow.plan_id == plan_id, RunRow.version == version,
        RunRow.status == RunStatus.SUCCEEDED.value))


def _to_stored(row: PlanVersionRow, *, goal: str, requester: str) -> StoredVersion:
    raw = json.loads(row.plan_json)
    document = None
    try:
        plan = Plan.model_validate(raw)
    except ValidationError:
        plan, document = Plan(goal=goal or "(no goal)", steps=()), raw
    stored_problems = json.loads(row.problems_json) if row.problems_json else []
    error = None
    if isinstance(stored_problems, dict):
        error = stored_problems.get("error")
        stored_problems = stored_problems.get("problems", [])
    created_at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return StoredVersion(
        plan_id=row.plan_id, version=row.version, goal=goal, requester=requester, plan=plan,
        plan_hash=row.plan_hash, status=VersionStatus(row.status), planner=PlannerKind(row.planner),
        origin=TemplateOrigin.model_validate_json(row.origin_json) if row.origin_json else None,
        problems=tuple(Problem.model_validate(p) for p in stored_problems),
        feedback=row.feedback, created_by=row.created_by, created_at=created_at,
        document=document, error=error,
    )


def _locked_plan(session: Session, plan_id: str) -> PlanRow:
    """The plan's row, locked until ``session`` ends (``FOR UPDATE``; SQLite's writers are
    serialised by ``BEGIN IMMEDIATE``); ``PlanNotFoundError`` when there is none."""
    plan = session.exec(select(PlanRow).where(PlanRow.id == plan_id).with_for_update()).first()
    if plan is None:
        raise PlanNotFoundError(f"no plan {plan_id!r}; `baton plans list` shows the plans")
    return plan

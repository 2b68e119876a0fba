"""Storing policy decisions and approvals/rejections, bound to (plan id, version, plan hash)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, and_, cast, exists, false, func, literal, or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from planner.plan import canonical_json
from policies.approval import ApprovalKind, ApprovalRecord
from policies.contracts import Decision

from .db import read_session
from .schema import ApprovalRow, DecisionRow


class StoredDecision(BaseModel):
    """A decision as stored: the plan hash it judged and when."""

    model_config = ConfigDict(frozen=True)

    plan_id: str = Field(description="Plan id.")
    version: int = Field(description="Version judged.")
    plan_hash: str = Field(description="Plan hash judged.")
    decision: Decision = Field(description="The decision.")
    decided_at: datetime = Field(description="When (UTC).")
    input_hash: str | None = Field(
        default=None, description="SHA-256 of the canonical JSON of the policy input the "
        "decision rests on, built as of ``decided_at``; None on decisions stored before it "
        "was kept (taken again before their next use).")


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def latest_decision(session: Session, plan_id: str, version: int) -> StoredDecision | None:
    """The newest decision on that version, if any (read in ``session``).

    Newest is the last one stored, not the latest ``decided_at``: decisions are written under
    the plan's lock, so their ids are in the order they were taken, while a decision taken
    again on a machine whose clock runs behind is stamped before the one it replaces."""
    row = session.exec(
        select(DecisionRow).where(DecisionRow.plan_id == plan_id, DecisionRow.version == version)
        .order_by(col(DecisionRow.id).desc())).first()
    return None if row is None else _stored_decision(row)


def add_decision(session: Session, plan_id: str, version: int, plan_hash: str,
                 decision: Decision, now: datetime, input_hash: str | None = None
                 ) -> StoredDecision:
    """Store a decision on one version in ``session`` (committed with it)."""
    session.add(DecisionRow(plan_id=plan_id, version=version, plan_hash=plan_hash,
                            decision_json=canonical_json(decision.model_dump(mode="json")),
                            engine=decision.engine, bundle_hash=decision.bundle_hash,
                            input_hash=input_hash, decided_at=now))
    return StoredDecision(plan_id=plan_id, version=version, plan_hash=plan_hash,
                          decision=decision, decided_at=now,
                          input_hash=input_hash)


def records(session: Session, plan_id: str, version: int) -> list[ApprovalRecord]:
    """Every approval and rejection of that version, oldest first (read in ``session``)."""
    rows = session.exec(
        select(ApprovalRow).where(ApprovalRow.plan_id == plan_id, ApprovalRow.version == version)
        .order_by(col(ApprovalRow.decided_at), col(ApprovalRow.id))).all()
    return [_approval_record(r) for r in rows]


def add_record(session: Session, record: ApprovalRecord) -> None:
    """Store one approval or rejection in ``session`` (committed with it)."""
    session.add(ApprovalRow(plan_id=record.plan_id, version=record.version,
                            plan_hash=record.plan_hash, actor=record.actor,
                            kind=record.kind.value, comment=record.comment,
                            decided_at=record.decided_at, expires_at=record.expires_at))


def lapsed_approval(plan_id: Any, version: Any, plan_hash: Any, *, dialect: str,
                    now: datetime, ttl: timedelta,
                    role_holders: Mapping[str, Collection[str]]) -> ColumnElement[bool]:
    """SQL: the version (columns of the enclosing query) has an approval of ``plan_hash``
    that no longer counts at ``now`` (the database's time, ``clock.database_now``, as its
    approvals are stamped with): it expired (its stored expiry, or ``ttl`` after it was
    given, passed), or whoever gave it holds none of the roles the version's latest decision
    asks for (``role_holders``: each role and the users holding it now).

    What the approval gate (``policies.approval.evaluate_gate``) judges one version at a
    time, asked of every version in one query: a version it names may still have enough
    approvals besides (the gate decides), and one it does not name has lost none.
    """
    newest = aliased(DecisionRow)
    latest_decision_id = (
        select(newest.id).where(newest.plan_id == ApprovalRow.plan_id,
                                newest.version == ApprovalRow.version)
        .order_by(col(newest.id).desc()).limit(1)
        .scalar_subquery())
    asked = _asked_roles(dialect)
    holds_one = exists(select(literal(1)).select_from(asked).where(or_(false(), *(
        and_(asked.c.value == role, col(ApprovalRow.actor).in_(sorted(users)))
        for role, users in sorted(role_holders.items()) if users))))
    expired = or_(col(ApprovalRow.expires_at) <= now, col(ApprovalRow.decided_at) <= now - ttl)
    return exists(
        select(literal(1)).select_from(ApprovalRow)
        .join(DecisionRow, col(DecisionRow.id) == latest_decision_id)
        .where(ApprovalRow.plan_id == plan_id, ApprovalRow.version == version,
               ApprovalRow.plan_hash == plan_hash,
               ApprovalRow.kind == ApprovalKind.APPROVE.value, or_(expired, ~holds_one)))


def _asked_roles(dialect: str) -> Any:
    """The roles the decision row asks approvers for, one row each (column ``value``): a
    table-valued function over ``decisions.decision_json``, as each database spells it."""
    if dialect == "postgresql":
        roles = func.json_extract_path(cast(DecisionRow.decision_json, JSON), "approvals", "roles")
        return func.json_array_elements_text(roles).table_valued("value").render_derived()
    return func.json_each(DecisionRow.decision_json, "$.approvals.roles").table_valued("value")


class ApprovalStore:
    """Decisions and approvals in the SQL store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def latest_decision(self, plan_id: str, version: int) -> StoredDecision | None:
        """The newest decision on that version, if any."""
        with read_session(self._engine) as session:
            return latest_decision(session, plan_id, version)

    def latest_decisions(self, versions: Collection[tuple[str, int]]
                         ) -> dict[tuple[str, int], StoredDecision]:
        """:meth:`latest_decision` of several (plan id, version) pairs in one query; a version
        without a decision is left out. For pages that list plans."""
        wanted = set(versions)
        found: dict[tuple[str, int], StoredDecision] = {}
        if not wanted:
            return found
        query = (select(DecisionRow).where(col(DecisionRow.plan_id).in_({p for p, _ in wanted}))
                 .order_by(col(DecisionRow.id).desc()))
        with read_session(self._engine) as session:
            for row in session.exec(query).all():
                key = (row.plan_id, row.version)
                if key in wanted and key not in found:
                    found[key] = _stored_decision(row)
        return found

    def add(self, record: ApprovalRecord) -> ApprovalRecord:
        """Store one approval or rejection."""
        with Session(self._engine) as session:
            add_record(session, record)
            session.commit()
        return record

    def records(self, plan_id: str, version: int) -> list[ApprovalRecord]:
        """Every approval and rejection of that version, oldest first."""
        with read_session(self._engine) as session:
            return records(session, plan_id, version)

    def records_of(self, versions: Collection[tuple[str, int]]
                   ) -> dict[tuple[str, int], list[ApprovalRecord]]:
        """:meth:`records` of several (plan id, version) pairs in one query (each may be empty)."""
        found: dict[tuple[str, int], list[ApprovalRecord]] = {key: [] for key in versions}
        if not found:
            return found
        query = (select(ApprovalRow).where(col(ApprovalRow.plan_id).in_({p for p, _ in found}))
                 .order_by(col(ApprovalRow.decided_at), col(ApprovalRow.id)))
        with read_session(self._engine) as session:
            for row in session.exec(query).all():
                records = found.get((row.plan_id, row.version))
                if records is not None:
                    records.append(_approval_record(row))
        return found


def _stored_decision(row: DecisionRow) -> StoredDecision:
    return StoredDecision(plan_id=row.plan_id, version=row.version, plan_hash=row.plan_hash,
                          decision=Decision.model_validate(json.loads(row.decision_json)),
                          decided_at=_aware(row.decided_at),
                          input_hash=row.input_hash)


def _approval_record(row: ApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(plan_id=row.plan_id, version=row.version, plan_hash=row.plan_hash,
                          actor=row.actor, kind=ApprovalKind(row.kind), comment=row.comment,
                          decided_at=_aware(row.decided_at), expires_at=_aware(row.expires_at))

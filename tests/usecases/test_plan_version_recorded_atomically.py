"""A plan version and its ledger events (GOAL for a new plan, the model's exchanges,
PLAN_VERSION, VALIDATION) are committed in one transaction: when the database refuses any of
them, neither the plan, nor the version, nor any event is stored, and a revision leaves the
version it revises as it was. So "nothing recorded before this was lost; retry" stays true.

The failure is the database's own (a trigger on the ledger), over SQLite, then PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document, plan_goal, revise_plan
from executor.ledger import EventKind
from executor.store.db import is_database_error, make_engine
from executor.store.migrate import upgrade
from executor.store.schema import LedgerRow, PlanRow, PlanVersionRow
from planner.base import ModelExchange, PlannerKind, PlanningError, PlanningTrace, PlanResult
from planner.plan import Plan
from planner.versions import VersionStatus
from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import ALICE, BACKENDS, BOB, gate_services
from tools.redaction import REDACTED

FIRST = {"goal": "write a greeting", "steps": [
    {"id": "save", "tool": "files.write", "args": {"path": "out.txt", "text": "hello"}}]}
SECOND = {**FIRST, "steps": [{**FIRST["steps"][0], "args": {"path": "out.txt", "text": "hi"}}]}


def _exchange(reply: str) -> ModelExchange:
    return ModelExchange(model="scripted", endpoint="http://127.0.0.1:1/v1",
                         prompt_sha256="0" * 64, response_format="json_schema", reply=reply,
                         latency_ms=1.0)


class ScriptedPlanner:
    """An LLM planner that answers ``document`` after one exchange, or fails after one."""

    def __init__(self, document: dict | None) -> None:
        self.document = document

    def _answer(self) -> PlanResult:
        if self.document is None:
            trace = PlanningTrace(planner=PlannerKind.LLM, exchanges=(_exchange("no plan"),))
            raise PlanningError("the model gave no plan", code="no_plan", trace=trace)
        plan = Plan.model_validate(self.document)
        return PlanResult(plan=plan, planner=PlannerKind.LLM, trace=PlanningTrace(
            planner=PlannerKind.LLM, exchanges=(_exchange(plan.canonical_json()),)))

    def plan(self, goal, registry):  # noqa: ANN001, ANN201
        return self._answer()

    def revise(self, previous, feedback, registry, *, rejection=None):  # noqa: ANN001, ANN201
        return self._answer()


def refuse_ledger_kind(engine, kind: EventKind) -> None:  # noqa: ANN001
    """Make the database refuse every ledger row of ``kind`` from now on, as a failing disk."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER fail_{kind.value} BEFORE INSERT ON ledger "
                f"WHEN NEW.kind = '{kind.value}' "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END")
            return
        conn.exec_driver_sql(
            "CREATE FUNCTION fail_ledger() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'disk I/O error (simulated)'; END $$ LANGUAGE plpgsql")
        conn.exec_driver_sql(
            f"CREATE TRIGGER fail_{kind.value} BEFORE INSERT ON ledger FOR EACH ROW "
            f"WHEN (NEW.kind = '{kind.value}') EXECUTE FUNCTION fail_ledger()")


def _counts(services) -> tuple[int, int, int]:  # noqa: ANN001
    """How many plans, versions and ledger events are stored."""
    with Session(services.engine) as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one()
                     for table in (PlanRow, PlanVersionRow, LedgerRow))


@pytest.fixture(params=BACKENDS)
def services(request, tmp_path):
    with gate_services(request.param, tmp_path) as built:
        yield built


def _use_planner(services, document: dict | None) -> None:  # noqa: ANN001
    services.__dict__["llm_planner"] = ScriptedPlanner(document)


NEW_PLAN_KINDS = [EventKind.GOAL, EventKind.LLM_EXCHANGE, EventKind.PLAN_VERSION,
                  EventKind.VALIDATION]


@pytest.mark.parametrize("kind", NEW_PLAN_KINDS, ids=lambda k: k.value)
@pytest.mark.parametrize("how", ["goal", "failed_goal", "document"])
def test_a_new_plan_whose_events_fail_is_not_stored_at_all(services, kind, how):
    _use_planner(services, None if how == "failed_goal" else FIRST)
    if how == "document" and kind is EventKind.LLM_EXCHANGE:
        pytest.skip("a plan document asks no model")
    before = _counts(services)
    refuse_ledger_kind(services.engine, kind)
    with pytest.raises(Exception) as failed:
        if how == "document":
            plan_from_document(services, FIRST, ALICE)
        else:
            plan_goal(services, "write a greeting", ALICE, planner=PlannerKind.LLM)
    assert is_database_error(failed.value), failed.value  # "the database failed …; retry"
    assert _counts(services) == before == (0, 0, 0)
    assert services.plan_store.list_plans() == []


@pytest.mark.parametrize("kind", [EventKind.LLM_EXCHANGE, EventKind.PLAN_VERSION,
                                  EventKind.VALIDATION], ids=lambda k: k.value)
def test_a_revision_whose_events_fail_leaves_the_version_it_revises_as_it_was(services, kind):
    stored = plan_from_document(services, FIRST, ALICE)
    approve(services, stored.plan_id, BOB, version=1)
    before = _counts(services)
    _use_planner(services, SECOND)
    refuse_ledger_kind(services.engine, kind)
    with pytest.raises(Exception) as failed:
        revise_plan(services, stored.plan_id, "say hi", ALICE, planner=PlannerKind.LLM)
    assert is_database_error(failed.value), failed.value
    assert _counts(services) == before
    assert [(v.version, v.status) for v in services.plan_store.versions(stored.plan_id)] == [
        (1, VersionStatus.APPROVED)]  # not superseded by a version that was never stored


def test_a_refused_revision_whose_validation_fails_records_no_exchange_alone(services):
    stored = plan_from_document(services, FIRST, ALICE)
    before = _counts(services)
    _use_planner(services, {**FIRST, "steps": [{**FIRST["steps"][0], "args": {
        "path": "out.txt", "text": REDACTED}}]})  # the mask mark: refused, no version stored
    refuse_ledger_kind(services.engine, EventKind.VALIDATION)
    with pytest.raises(Exception) as failed:
        revise_plan(services, stored.plan_id, "say it", ALICE, planner=PlannerKind.LLM)
    assert is_database_error(failed.value), failed.value
    assert _counts(services) == before


def test_a_stored_version_has_its_events_in_chain_order(services):
    _use_planner(services, FIRST)
    stored = plan_goal(services, "write a greeting", ALICE, planner=PlannerKind.LLM)
    kinds = [e.kind for e in services.ledger.events(subject=stored.plan_id)]
    assert kinds[:4] == [EventKind.GOAL.value, EventKind.LLM_EXCHANGE.value,
                         EventKind.PLAN_VERSION.value, EventKind.VALIDATION.value]
    assert services.ledger.verify().ok


def test_the_cli_says_the_database_failed_and_no_plan_is_left_behind(data_dir, capsys):
    (data_dir / "baton.toml").write_text('workspace = "ws"\n[users.alice]\nroles = ["analyst"]\n')
    (data_dir / "ws").mkdir()
    (data_dir / "plan.json").write_text(json.dumps(FIRST))
    engine = make_engine(f"sqlite:///{data_dir / '.baton' / 'baton.db'}")
    upgrade(engine)
    refuse_ledger_kind(engine, EventKind.GOAL)
    with in_process_baton(capsys) as cli:
        planned = cli("--as", "alice", "plan", "--file", "plan.json")
        assert planned.returncode == 1
        assert "the database failed" in planned.stderr
        assert "nothing recorded before this was lost; retry" in " ".join(planned.stderr.split())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM plans")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM ledger")).scalar() == 0
        engine.dispose()
        listed = cli("--as", "alice", "plans", "list", "--json")
        assert json.loads(listed.stdout) == []

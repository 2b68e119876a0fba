"""A tool's ``effect_from_args`` may answer ``"write"`` as well as ``Effect.WRITE``.

Both mean the same call, so both must get the same treatment: the runtime policy check of a
write, no repeat of a non-idempotent write that timed out, and a plan document that says
``write``. An answer that is neither effect is refused where the effect is needed (the step
fails before anything runs; a plan treats the call as a write), never taken as a read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from executor.records import RunStatus
from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tests.executor.runsupport import HostCheck, Sleeps, make_runner, run_plan
from tools import Effect, ToolRegistry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:  # noqa: F811 - the fixture imported above
    """A database at the head revision: SQLite, then PostgreSQL."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def str_effect(args: Any) -> str:
    """The effect as a plain string, as a tool author may well write it."""
    return "read" if args.get("mode") == "peek" else "write"


class Records:
    """``crm.act`` (its effect decided by ``decide``), counted, and ``crm.mode`` giving a mode.

    ``crm.act`` blocks until released (or 10 s), so a short ``timeout_s`` times it out.
    """

    def __init__(self, decide: Any, *, timeout_s: float = 5.0) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.registry = ToolRegistry()

        @self.registry.tool("crm.act", effect=Effect.WRITE, effect_from_args=decide,
                            timeout_s=timeout_s)
        def act(mode: str) -> bool:
            """Peek at a record ('peek') or change it (any other mode)."""
            self.calls.append(mode)
            self.release.wait(10)
            return True

        @self.registry.tool("crm.mode")
        def mode() -> str:
            """The mode to act in."""
            return "delete"


# The mode is a reference: only the resolved call tells the effect.
REFERENCED = {"goal": "g", "steps": [
    {"id": "m", "tool": "crm.mode", "args": {}},
    {"id": "a", "tool": "crm.act", "args": {"mode": {"ref": "m.value"}}},
]}


def run_records(engine, tmp_path, records: Records, check: HostCheck):
    runner = make_runner(engine, records.registry, tmp_path, runtime_check=check, sleep=Sleeps())
    try:
        return run_plan(runner, engine, REFERENCED)
    finally:
        records.release.set()


@pytest.mark.parametrize("answer", ["write", Effect.WRITE])
def test_the_effect_of_a_call_is_an_effect_whether_answered_as_a_string_or_not(answer):
    records = Records(lambda args: answer)
    assert records.registry.get("crm.act").effect_of({"mode": "x"}) is Effect.WRITE


def test_an_answer_that_is_no_effect_is_refused_not_taken_as_a_read():
    records = Records(lambda args: "delete")
    with pytest.raises(ValueError, match="effect_from_args answered a str that is not"):
        records.registry.get("crm.act").effect_of({"mode": "x"})


def test_a_write_answered_as_a_string_gets_the_runtime_check(engine, tmp_path):
    records = Records(str_effect)
    check = HostCheck("https://nowhere.example/")  # denies every call it is asked about
    record = run_records(engine, tmp_path, records, check)
    assert record.status is RunStatus.FAILED
    assert [call.tool for call in check.calls] == ["crm.act"]
    assert records.calls == []
    (_, act) = record.steps
    assert act.error.startswith("denied by runtime policy")


def test_a_write_answered_as_a_string_is_not_repeated_after_a_timeout(engine, tmp_path):
    records = Records(str_effect, timeout_s=0.2)
    record = run_records(engine, tmp_path, records, HostCheck(""))
    assert record.status is RunStatus.FAILED
    assert records.calls == ["delete"]
    (_, act) = record.steps
    assert act.attempts == 1 and "not retried: crm.act is not idempotent" in act.error


def test_an_answer_that_is_no_effect_fails_the_step_before_the_tool_runs(engine, tmp_path):
    records = Records(lambda args: "delete")
    record = run_records(engine, tmp_path, records, HostCheck(""))
    assert record.status is RunStatus.FAILED
    assert records.calls == []
    (_, act) = record.steps
    assert "crm.act: its effect could not be decided from its arguments" in act.error


@pytest.mark.parametrize(("decide", "effect"), [(str_effect, "write"),
                                                (lambda args: "read", "read"),
                                                (lambda args: "delete", "write")])
def test_the_plan_document_holds_the_effect_a_string_answer_names(decide, effect):
    # With literal arguments the effect is decided at plan time: a str answer crashed it.
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "crm.act", "args": {"mode": "delete"}}]})
    document = build_policy_input(plan, Records(decide).registry, requester=ALICE, context=NOON)
    assert document["steps"][0]["effect"] == effect

"""A tool the step rules judge by the time of the call (tagged ``batch``) is checked when it
runs, even when it only reads: a plan approved off-peak must not run it at peak."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from executor.checks import StepCall, StepDecision
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester
from policies.contracts import StepCall as PolicyStepCall
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input, build_step_input
from policies.opa import OpaEngine
from tests.executor.runsupport import make_runner, run_plan
from tests.support.fake_opa import FakeOpa
from tools import Effect, ToolRegistry

TUESDAY_NOON = datetime(2024, 6, 4, 12, tzinfo=UTC)
TUESDAY_22 = datetime(2024, 6, 4, 22, tzinfo=UTC)
ALICE = Requester(id="alice", roles=("analyst",))
SCAN = {"goal": "scan the sales table", "steps": [
    {"id": "scan", "tool": "warehouse.scan", "args": {"table": "sales"}}]}


class Spy:
    """Records the calls it is asked about and answers ``allow``."""

    def __init__(self, *, allow: bool) -> None:
        self.allow = allow
        self.asked: list[str] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Answer as told."""
        self.asked.append(call.step_id)
        return StepDecision(allow=self.allow, deny=() if self.allow else ("not now",))


class PolicyAt:
    """The shipped policies' runtime check with the clock at ``now``."""

    def __init__(self, engine, now: datetime) -> None:
        self.engine, self.now = engine, now

    def check_step(self, call: StepCall) -> StepDecision:
        """Judge ``call`` with ``data.baton.step_decision`` at ``now``."""
        fields = {**asdict(call), "requester": ALICE}
        return self.engine.evaluate_step(build_step_input(PolicyStepCall(**fields), now=self.now))


def _registry(ran: list[str], *tags: str) -> ToolRegistry:
    def scan(table: str) -> dict:
        """Scan a whole warehouse table.

        Args:
            table: Table name.
        """
        ran.append(table)
        return {"rows": 1}

    registry = ToolRegistry()
    registry.register_function(scan, name="warehouse.scan", effect=Effect.READ, tags=tags)
    return registry


@pytest.fixture(scope="module", params=["embedded", "opa"])
def policy(request):
    """Each policy engine over the shipped bundle (everyone may use every tool)."""
    bundle = PolicyBundle.load(overrides={"role_tools": {"analyst": ["*"]}})
    if request.param == "embedded":
        yield EmbeddedEngine(bundle)
        return
    with FakeOpa() as server:
        yield OpaEngine(bundle, server.url, timeout_s=10.0)


def test_a_batch_read_is_put_to_the_runtime_check_and_a_denial_stops_it(engine, tmp_path):
    ran: list[str] = []
    spy = Spy(allow=False)
    record = run_plan(make_runner(engine, _registry(ran, "batch"), tmp_path, runtime_check=spy),
                      engine, SCAN)
    assert spy.asked == ["scan"]
    assert ran == []
    assert record.status == "failed"


def test_a_read_without_time_bound_tags_gets_no_runtime_check(engine, tmp_path):
    ran: list[str] = []
    spy = Spy(allow=False)
    record = run_plan(make_runner(engine, _registry(ran, "data"), tmp_path, runtime_check=spy),
                      engine, SCAN)
    assert spy.asked == []
    assert ran == ["sales"]
    assert record.status == "succeeded"


@pytest.mark.parametrize(("now", "runs"), [(TUESDAY_NOON, False), (TUESDAY_22, True)])
def test_the_batch_window_is_judged_when_a_batch_read_runs(engine, tmp_path, policy, now, runs):
    ran: list[str] = []
    runner = make_runner(engine, _registry(ran, "batch"), tmp_path,
                         runtime_check=PolicyAt(policy, now))
    record = run_plan(runner, engine, SCAN)
    assert (ran == ["sales"]) is runs
    assert (record.status == "succeeded") is runs


def test_the_plan_decision_lists_batch_steps_among_its_runtime_checks(policy):
    plan = Plan.model_validate(SCAN)
    decision = policy.decide(build_policy_input(plan, _registry([], "batch"), requester=ALICE,
                                                context=PolicyContext(now=TUESDAY_22)))
    assert decision.allow
    assert list(decision.runtime_checks) == ["scan"]

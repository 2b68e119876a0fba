"""Every attempt has a deadline: a tool's ``timeout_s`` must be finite, above 0 and at most 24 h.

``register_function(timeout_s=nan)`` (or ``inf``) used to be accepted, and no
deadline was armed: a hung tool held its step for ever.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tools import ToolDefinitionError, ToolRegistry
from tools.registry import MAX_TIMEOUT_S


def one() -> int:
    """One."""
    return 1


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, -1, 86_401, 1e308, "30",
                                   True, None])
def test_a_tool_timeout_that_is_not_a_finite_positive_number_up_to_a_day_is_refused(value):
    registry = ToolRegistry()
    with pytest.raises(ToolDefinitionError) as refused:
        registry.register_function(one, name="x.one", timeout_s=value)
    assert refused.value.problems == [
        f"timeout_s must be positive, finite and at most 86400 seconds (24 h), got {value!r}"]
    assert "x.one" not in registry


@pytest.mark.parametrize("value", [0.001, 30, MAX_TIMEOUT_S])
def test_a_tool_timeout_up_to_a_day_is_accepted(value):
    registry = ToolRegistry()
    assert registry.register_function(one, name="x.one", timeout_s=value).timeout_s == value


def test_a_spec_added_as_built_is_checked_too():
    source = ToolRegistry()
    spec = source.register_function(one, name="x.one")
    with pytest.raises(ToolDefinitionError, match="timeout_s must be positive, finite"):
        ToolRegistry().add(replace(spec, timeout_s=math.nan))


def test_a_stored_plan_that_no_longer_validates_fails_its_run_naming_why(engine, tmp_path):
    """A plan approved before the bound (timeout_s 1e308) is refused, not a crash of the runner."""
    import hashlib
    import json
    import uuid
    from datetime import UTC, datetime

    from sqlmodel import Session

    from executor.records import RunStatus
    from executor.store.schema import PlanRow, PlanVersionRow
    from planner.plan import Plan
    from tests.executor.runsupport import make_runner

    document = {"goal": "g", "steps": [{"id": "a", "tool": "x.one", "timeout_s": 1e308}]}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    plan_id, now = f"p-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    with Session(engine) as s:
        s.add(PlanRow(id=plan_id, goal="g", requester="alice", created_at=now))
        s.flush()
        s.add(PlanVersionRow(plan_id=plan_id, version=1, plan_json=text,
                             plan_hash=hashlib.sha256(text.encode()).hexdigest(),
                             status="approved", planner="template", created_by="alice",
                             created_at=now))
        s.commit()
    registry = ToolRegistry()
    registry.register_function(one, name="x.one")
    runner = make_runner(engine, registry, tmp_path)
    valid_today = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "x.one"}]})
    run_id = runner.create_run(plan_id, 1, valid_today, requested_by="alice")
    record = runner.run_sync(run_id)
    assert record.status is RunStatus.FAILED
    assert record.error == (f"plan {plan_id} v1 no longer passes validation (steps.0.timeout_s: "
                            "Input should be less than or equal to 86400); refusing to run it")

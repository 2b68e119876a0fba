"""The pure scheduling function: readiness, order, concurrency limits; any DAG, any completion order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from executor.scheduling import StepStatus, ready_steps
from planner.plan import Step, topological_order

P, R, S, F = StepStatus.PENDING, StepStatus.RUNNING, StepStatus.SUCCEEDED, StepStatus.FAILED


def test_a_step_waits_for_every_dependency_to_succeed():
    deps = {"a": (), "b": (), "c": ("a", "b")}
    assert ready_steps(["a", "b", "c"], deps, {"a": S, "b": R, "c": P}, concurrency=4) == []
    assert ready_steps(["a", "b", "c"], deps, {"a": S, "b": S, "c": P}, concurrency=4) == ["c"]


def test_a_failed_dependency_never_releases_its_dependents():
    assert ready_steps(["a", "b"], {"b": ("a",)}, {"a": F, "b": P}, concurrency=4) == []


def test_ready_steps_come_in_the_given_order_up_to_the_free_slots():
    states = {"a": R, "b": P, "c": P, "d": P}
    assert ready_steps(["a", "b", "c", "d"], {}, states, concurrency=3) == ["b", "c"]


def test_per_tool_limits_count_running_steps_of_that_tool():
    states = {"a": R, "b": P, "c": P}
    tools = {"a": "http", "b": "http", "c": "files"}
    chosen = ready_steps(["a", "b", "c"], {}, states, tool_of=tools, concurrency=4,
                         per_tool={"http": 1})
    assert chosen == ["c"]


@st.composite
def dags(draw):
    """Random plans: each step may depend on any earlier step."""
    n = draw(st.integers(1, 12))
    steps = []
    for i in range(n):
        deps = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        steps.append(Step(id=f"s{i}", tool=draw(st.sampled_from(["x", "y"])),
                          depends_on=tuple(f"s{d}" for d in sorted(deps))))
    order = list(range(n))
    draw(st.randoms()).shuffle(order)  # plan order is not creation order
    return [steps[i] for i in order]


@settings(max_examples=150, deadline=None)
@given(dags(), st.integers(1, 4), st.randoms(use_true_random=False))
def test_any_completion_order_respects_dependencies_and_limits(steps, limit, rnd):
    order = topological_order(steps)
    deps = {s.id: s.depends_on for s in steps}
    tools = {s.id: s.tool for s in steps}
    states = {s.id: P for s in steps}
    running: list[str] = []
    finished: list[str] = []
    while len(finished) < len(steps):
        for sid in ready_steps(order, deps, states, running=running, tool_of=tools,
                               concurrency=limit, per_tool={"x": 1}):
            assert all(states[d] is S for d in deps[sid])
            states[sid] = R
            running.append(sid)
        assert 0 < len(running) <= limit
        assert sum(tools[s] == "x" for s in running) <= 1
        done = running.pop(rnd.randrange(len(running)))
        states[done] = S
        finished.append(done)
    assert sorted(finished) == sorted(s.id for s in steps)


@settings(max_examples=100, deadline=None)
@given(dags())
def test_with_one_slot_steps_start_in_topological_order(steps):
    order = topological_order(steps)
    deps = {s.id: s.depends_on for s in steps}
    states = {s.id: P for s in steps}
    started = []
    while len(started) < len(steps):
        (sid,) = ready_steps(order, deps, states, concurrency=1)
        started.append(sid)
        states[sid] = S
    assert started == order

"""Property tests: random DAGs validate, any inserted cycle is caught and named, order respects edges."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner import ProblemCode, validate_plan
from tests.support.plan_tools import make_registry

REGISTRY = make_registry()


@st.composite
def dags(draw: Any) -> tuple[list[str], list[set[int]]]:
    """Step ids in a shuffled plan order and, per position, the positions it waits for (acyclic)."""
    size = draw(st.integers(min_value=1, max_value=25))
    # Edges only go from a lower to a higher rank: acyclic by construction.
    waits: list[set[int]] = []
    for rank in range(size):
        waits.append(set(draw(st.lists(st.integers(0, rank - 1), max_size=3))) if rank else set())
    order = draw(st.permutations(range(size)))  # plan order need not be a topological order
    ids = [f"s{rank}" for rank in range(size)]
    return [ids[r] for r in order], [{order.index(d) for d in waits[r]} for r in order]


def build(ids: list[str], waits: list[set[int]], via_refs: list[bool]) -> dict[str, Any]:
    """A plan where each dependency is a reference (a data edge) or a depends_on entry."""
    steps = []
    for pos, sid in enumerate(ids):
        deps = [ids[d] for d in sorted(waits[pos])]
        refs = [d for i, d in enumerate(deps) if via_refs[(pos + i) % len(via_refs)]]
        steps.append({
            "id": sid, "tool": "http.post",
            "args": {"url": "https://h", "json": {"seen": [{"ref": f"{r}.status"} for r in refs]}},
            "depends_on": [d for d in deps if d not in refs],
        })
    return {"goal": "random dag", "steps": steps}


@settings(max_examples=60, deadline=None)
@given(dags(), st.lists(st.booleans(), min_size=1, max_size=5))
def test_random_dags_validate_and_order_respects_every_edge(dag, via_refs):
    ids, waits = dag
    doc = build(ids, waits, via_refs)
    report = validate_plan(doc, REGISTRY, max_steps=1000)
    assert report.ok, report.problems
    order = report.plan.topological_order()
    assert sorted(order) == sorted(ids)
    rank = {sid: i for i, sid in enumerate(order)}
    for step in report.plan.steps:
        for dep in step.dependencies():
            assert rank[dep] < rank[step.id]


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_any_inserted_back_edge_is_caught_and_the_named_cycle_is_real(dag, data):
    ids, waits = dag
    doc = build(ids, waits, [False])
    report = validate_plan(doc, REGISTRY, max_steps=1000)
    assert report.ok
    edges = {s["id"]: set(s["depends_on"]) | {r["ref"].split(".")[0] for r in s["args"]["json"]["seen"]}
             for s in doc["steps"]}
    ancestors: dict[str, set[str]] = {}
    for sid in report.plan.topological_order():
        ancestors[sid] = set().union(*({d, *ancestors[d]} for d in edges[sid])) if edges[sid] else set()
    candidates = sorted(sid for sid in ids if ancestors[sid])
    assume(candidates)
    late = data.draw(st.sampled_from(candidates))
    early = data.draw(st.sampled_from(sorted(ancestors[late])))
    # early already runs before late; making early wait for late closes a cycle.
    victim = next(s for s in doc["steps"] if s["id"] == early)
    if data.draw(st.booleans()):
        victim["args"]["json"]["seen"].append({"ref": f"{late}.status"})
    else:
        victim["depends_on"] = sorted({*victim["depends_on"], late})
    edges[early].add(late)

    cycles = list(validate_plan(doc, REGISTRY, max_steps=1000).problems)
    # Every new cycle runs through the inserted edge, so they form one knot: one problem.
    assert len(cycles) == 1 and cycles[0].code is ProblemCode.CYCLE
    named = cycles[0].message.split("cycle: ")[1].split(" (")[0].split(" → ")
    assert named[0] == named[-1] and len(named) >= 3
    for before, after in zip(named, named[1:]):
        assert before in edges[after], f"{after} does not wait for {before}"
    assert (late, early) in set(zip(named, named[1:]))

"""A step's references: found by one walk of its arguments, shared by every later use.

The policy input asks each step for its dependencies, its references and (through
``data_sources``) its references again; the runner and the web graph ask for dependencies.
A step holding millions of values must not be walked for each.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given, settings
from pydantic import ValidationError
from hypothesis import strategies as st

import planner.plan as plan_module
from planner.plan import REF, Plan, Reference, Step

KEYS = st.sampled_from(["a", "b", "ref", "json", "x-y", "1", "with space"])
TARGETS = st.sampled_from(["load.text", "load", "Bad.x", "load.rows.0", "pick.value"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=5))
VALUES = st.recursive(
    SCALARS | st.builds(lambda t: {"ref": t}, TARGETS | st.integers()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=30,
)


def walked_as_before(value: Any, path: str) -> Iterator[tuple[str, Reference]]:
    """The walk of ``iter_references`` before it was shared: the behaviour to keep."""
    if isinstance(value, Mapping) and len(value) == 1 and "ref" in value:
        if isinstance(value["ref"], str) and REF.match(value["ref"]):
            yield path, Reference(ref=value["ref"])
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walked_as_before(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walked_as_before(item, f"{path}[{index}]")


def _step(args: dict[str, Any], **fields: Any) -> Step:
    return Step.model_validate({"id": "use", "tool": "json.query", "args": args, **fields})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_references_are_the_same_paths_and_targets_in_the_same_order_as_before(args):
    step = _step(args)
    assert step.references() == list(walked_as_before(args, "$.args"))
    assert step.references() == list(walked_as_before(args, "$.args"))  # asked again: the same


def test_a_step_walks_its_arguments_once_for_references_dependencies_and_data_sources(monkeypatch):
    from policies.inputs import data_sources
    from tests.support.policy_tools import policy_registry

    walks = []
    real = plan_module.iter_references

    def counted(value: Any, path: str = "$") -> Iterator[tuple[str, Reference]]:
        walks.append(path)
        return real(value, path)

    monkeypatch.setattr(plan_module, "iter_references", counted)
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
        {"id": "use", "tool": "json.query",
         "args": {"expression": "a", "data": {"rows": list(range(50)), "t": {"ref": "load.text"}}},
         "depends_on": ["load"]}]})
    for step in plan.steps:
        step.dependencies()
        step.references()
    assert data_sources(plan, policy_registry()) == {"load": [], "use": ["load"]}
    assert plan.topological_order() == ["load", "use"]
    assert walks == ["$.args", "$.args"]  # one walk per step, however often asked


def test_the_shared_walk_leaves_dumps_hash_and_equality_as_they_were():
    args = {"data": [{"ref": "load.text"}, 1], "expression": "a"}
    asked, fresh = _step(args), _step(args)
    asked.dependencies()
    assert asked == fresh
    assert asked.model_dump() == fresh.model_dump()
    assert asked.model_dump_json() == fresh.model_dump_json()
    plan_asked, plan_fresh = Plan(goal="g", steps=(asked,)), Plan(goal="g", steps=(fresh,))
    assert plan_asked.canonical_json() == plan_fresh.canonical_json()
    assert plan_asked.plan_hash() == plan_fresh.plan_hash()
    assert "_references_memo" not in Step.model_json_schema()["properties"]


def test_a_copy_with_new_arguments_finds_the_new_references():
    step = _step({"data": {"ref": "load.text"}, "expression": "a"}, depends_on=["first"])
    assert step.dependencies() == ("load", "first")
    moved = step.model_copy(update={"args": {"data": {"ref": "pick.value"}, "expression": "a"}})
    assert moved.references() == [("$.args.data", Reference(ref="pick.value"))]
    assert moved.dependencies() == ("pick", "first")
    renamed = step.model_copy(update={"id": "other"})  # same arguments: the same references
    assert renamed.dependencies() == ("load", "first")
    assert step.dependencies() == ("load", "first")


ID_LIKE = st.text(alphabet="ab_1Z.-\n\r ", max_size=8) | st.from_regex(r"[a-z][a-z0-9_]{0,3}(\.[a-z0-9]{1,3}){0,2}\n?", fullmatch=True)


@given(ID_LIKE)
def test_the_python_forms_refuse_what_the_models_refuse(text):
    """Validation reads ids and references with STEP_ID and REF; the models hold them to their patterns.

    Were they to disagree ('$' in Python matches before a final newline), a step could pass the
    checks and be dropped from the plan, or a reference pass them and crash its first use.
    """
    step_ok, ref_ok = _model_accepts(Step, id=text, tool="t"), _model_accepts(Reference, ref=text)
    for method in ("match", "fullmatch"):  # either way of asking gives the models' answer
        assert (getattr(plan_module.STEP_ID, method)(text) is not None) == step_ok
        assert (getattr(REF, method)(text) is not None) == ref_ok


def _model_accepts(model: type, **fields: Any) -> bool:
    try:
        model(**fields)
    except ValidationError:
        return False
    return True


def test_a_reference_ending_in_a_newline_is_data_to_every_walk_not_a_crash():
    step = Step(id="save", tool="t", args={"text": {"ref": "load.text\n"}})
    assert step.references() == [] and step.dependencies() == ()
    assert plan_module.resolve_references(step.args, lambda ref: 1 / 0) == step.args

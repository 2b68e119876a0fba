"""Every static validation rule, with a valid and an invalid case, messages checked."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from planner import (
    InvalidPlanError,
    Plan,
    ProblemCode,
    ValidationReport,
    load_plan_document,
    read_plan_file,
    validate_plan,
)
from planner import validation
from planner.json_values import MAX_ARG_DEPTH
from planner.loading import PlanFileError
from tests.support.plan_tools import make_registry

C = ProblemCode
REGISTRY = make_registry()


def plan(*steps: dict[str, Any], goal: str = "do it") -> dict[str, Any]:
    return {"goal": goal, "steps": list(steps)}


def step(sid: str, tool: str = "files.read", **fields: Any) -> dict[str, Any]:
    fields.setdefault("args", {"path": "a.csv"} if tool == "files.read" else {})
    return {"id": sid, "tool": tool, **fields}


def check(document: Any, **kwargs: Any) -> ValidationReport:
    return validate_plan(document, REGISTRY, **kwargs)


def only(report: ValidationReport, code: ProblemCode):
    found = [p for p in report.problems if p.code is code]
    assert len(found) == 1, report.problems
    return found[0]


def codes(report: ValidationReport) -> list[ProblemCode]:
    return [p.code for p in report.problems]


# -- valid plans ---------------------------------------------------------------


def test_valid_chain_returns_the_plan_and_no_problems():
    report = check(plan(
        step("load"),
        step("total", "table.aggregate", args={"csv": {"ref": "load.text"}, "column": "x", "op": "sum"}),
        step("post", "http.post", args={"url": "https://h", "json": {"t": {"ref": "total.value"}}},
             depends_on=["total"]),
    ))
    assert report.ok and report.problems == ()
    assert isinstance(report.plan, Plan)
    assert report.plan.topological_order() == ["load", "total", "post"]
    assert report.raise_if_invalid() is report.plan


def test_a_plan_object_validates_and_is_returned_unchanged():
    parsed = Plan.model_validate(plan(step("load")))
    report = check(parsed)
    assert report.ok and report.plan is parsed


def test_json_and_yaml_text_validate():
    assert check(json.dumps(plan(step("load")))).ok
    assert check("goal: g\nsteps:\n  - id: load\n    tool: files.read\n    args: {path: a}\n").ok


def test_reference_to_a_later_step_is_fine_when_there_is_no_cycle():
    report = check(plan(
        step("show", "text.upper", args={"text": {"ref": "load.text"}}),
        step("load"),
    ))
    assert report.ok, report.problems
    assert report.plan.topological_order() == ["load", "show"]


# -- document shape -----------------------------------------------------------


def test_malformed_json_reports_line_and_column():
    report = check('{"goal": "g",\n  "steps": [,]}')
    problem = only(report, C.MALFORMED_DOCUMENT)
    assert "line 2, column" in problem.message and report.plan is None


@pytest.mark.parametrize("document, fragment", [
    ([1, 2], "not a list"),
    ("just words", "not a string"),
    ({"steps": []}, "missing 'goal'"),
    ({"goal": "g"}, "missing 'steps'"),
    ({"goal": "g", "steps": {"a": 1}}, "'steps' must be a list"),
    ({"goal": "", "steps": [step("a")]}, "'goal' is empty"),
])
def test_wrong_top_level_shape_is_named(document, fragment):
    report = check(document)
    assert C.WRONG_SHAPE in codes(report)
    assert any(fragment in p.message for p in report.problems), report.problems


def test_unknown_top_level_key_suggests_the_right_one():
    report = check({"goal": "g", "steps": [step("a")], "stepz": []})
    problem = only(report, C.WRONG_SHAPE)
    assert problem.path == "$.stepz" and "did you mean 'steps'" in problem.message


def test_step_shape_problems_are_all_reported_not_just_the_first():
    report = check(plan(
        7,
        {"id": "b", "tool": "files.read", "args": {"path": "x"}, "dependson": ["a"], "timeout_s": -1},
        {"tool": "files.read", "args": []},
    ))
    by_path = {p.path: p for p in report.problems}
    assert "not a number" in by_path["$.steps[0]"].message
    assert "did you mean 'depends_on'" in by_path["$.steps[1].dependson"].message
    assert "greater than 0" in by_path["$.steps[1].timeout_s"].message
    assert "missing required key 'id'" in by_path["$.steps[2].id"].message
    assert "$.steps[2].args" in by_path
    assert set(codes(report)) == {C.WRONG_SHAPE}


def test_a_plan_without_steps_is_refused():
    problem = only(check(plan()), C.NO_STEPS)
    assert problem.path == "$.steps" and "at least one" in problem.message


def test_step_limit_is_configurable():
    doc = plan(*(step(f"s{i}") for i in range(5)))
    assert check(doc, max_steps=5).ok
    problem = only(check(doc, max_steps=4), C.TOO_MANY_STEPS)
    assert "5 steps" in problem.message and "limit of 4" in problem.message


# -- ids -----------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "fixes"), [
    ("Load", ["lower-case it"]),
    ("1load", ["start it with a letter"]),
    ("load-it", ["write '_' for each character other than a-z, 0-9 and '_'"]),
    ("a" * 41, ["cut it to 40 characters (it has 41)"]),
    ("_x", ["start it with a letter"]),
    ("load\n", ["write '_' for each character other than a-z, 0-9 and '_'"]),
    ("Load Data", ["lower-case it", "write '_' for each character other than a-z, 0-9 and '_'"]),
    ("", ["start it with a letter"]),
])
def test_malformed_ids_are_refused_naming_what_to_change(bad, fixes):
    problem = only(check(plan(step(bad))), C.MALFORMED_ID)
    assert problem.path == "$.steps[0].id" and problem.step == bad
    assert "lower-case" in problem.message
    assert problem.message.endswith(f"; to fix it: {', '.join(fixes)}")


def test_what_to_change_in_an_id_never_spells_the_id_anew():
    # The id is quoted as written, where a configured secret's value is masked as written; a
    # fix spelled out from it ('s3cr3t_crm_value') would carry the value past that masking.
    problem = only(check(plan(step("S3cr3t-Crm-Value"))), C.MALFORMED_ID)
    assert problem.message.count("S3cr3t-Crm-Value") == 1
    assert "s3cr3t" not in problem.message.lower().replace("s3cr3t-crm-value", "")


def test_a_step_whose_id_ends_in_a_newline_is_refused_not_dropped():
    # Python's '$' matches before a final newline; the Step model's pattern does not. The step
    # used to pass check_ids, fail the model, and vanish from a plan reported valid.
    report = check(plan(step("load"), step("save\n", "http.post", args={"url": "u"})))
    assert report.plan is None and only(report, C.MALFORMED_ID).path == "$.steps[1].id"
    assert check(plan(step("x\n"))).plan is None


def test_a_step_the_checks_miss_makes_the_plan_invalid_never_shorter(monkeypatch):
    # Fail closed: should a rule of the Step model ever go unreported, the plan is refused.
    monkeypatch.setattr(validation, "STEP_ID", re.compile(".*", re.DOTALL))
    report = check(plan(step("load"), step("Save", "http.post", args={"url": "u"})))
    assert report.plan is None
    problem = only(report, C.WRONG_SHAPE)
    assert problem.path == "$.steps[1]" and "'id'" in problem.message


def test_duplicate_id_points_at_the_first_use():
    problem = only(check(plan(step("a"), step("b"), step("a"))), C.DUPLICATE_ID)
    assert problem.path == "$.steps[2].id" and "$.steps[0]" in problem.message


# -- tools and arguments -------------------------------------------------------


def test_unknown_tool_suggests_the_closest_names():
    problem = only(check(plan(step("a", "file.read", args={"path": "x"}))), C.UNKNOWN_TOOL)
    assert problem.path == "$.steps[0].tool" and "'files.read'" in problem.message


def test_unknown_tool_without_a_close_name_lists_the_tools():
    problem = only(check(plan(step("a", "zzz.qqq"))), C.UNKNOWN_TOOL)
    assert "registered tools:" in problem.message and "files.read" in problem.message


def test_every_args_schema_error_is_reported_with_its_path():
    report = check(plan(step("t", "table.aggregate", args={"op": "summ", "csv": 5})))
    messages = {p.path: p.message for p in report.problems if p.code is C.INVALID_ARGS}
    assert "missing required argument 'column'" in messages["$.steps[0].args"]
    assert "'summ' is not one of" in messages["$.steps[0].args.op"]
    assert "$.steps[0].args.csv" in messages


def test_nested_args_errors_carry_the_nested_path():
    report = check(plan(step("f", "flag.set", args={"on": True, "person": {
        "name": "n", "age": "old", "tags": [], "address": None}})))
    problem = only(report, C.INVALID_ARGS)
    assert problem.path == "$.steps[0].args.person"
    # person is optional (Person | None): the object's own refusal, not "not of type 'null'"
    assert problem.message == "argument 'person.age': 'old' is not of type 'integer'"


def test_typo_in_an_argument_name_is_an_error_with_the_intended_name():
    report = check(plan(step("t", "table.aggregate", args={"column": "x", "op": "sum", "groupby": "r"})))
    problem = only(report, C.UNKNOWN_ARG)
    assert problem.path == "$.steps[0].args.groupby"
    assert "did you mean 'group_by'" in problem.message and "it takes: column, op" in problem.message


def test_unknown_argument_is_caught_even_when_the_schema_allows_extras():
    report = check(plan(step("l", "loose.call", args={"a": 1, "b": 2})))
    problem = only(report, C.UNKNOWN_ARG)
    assert problem.path == "$.steps[0].args.b" and "takes no argument 'b'" in problem.message


def test_a_tool_without_arguments_says_so():
    problem = only(check(plan(step("p", "people.list", args={"x": 1}))), C.UNKNOWN_ARG)
    assert "it takes: no arguments" in problem.message


# -- references ----------------------------------------------------------------


@pytest.mark.parametrize("value, fragment", [
    ({"ref": 5}, "must be a string"),
    ({"ref": "load"}, "write 'load.<field>'"),
    ({"ref": "Load.text"}, "is malformed"),
    ({"ref": "load.text\n"}, "is malformed"),
    ({"ref": "load\n"}, "is malformed"),
])
def test_malformed_references_are_explained(value, fragment):
    report = check(plan(step("load"), step("up", "text.upper", args={"text": value})))
    problem = only(report, C.MALFORMED_REF)
    assert problem.path == "$.steps[1].args.text" and fragment in problem.message
    assert C.INVALID_ARGS not in codes(report)


def test_a_reference_ending_in_a_newline_into_an_open_output_is_refused():
    # An open (Any) output accepts any field path, so only the reference's form can refuse it;
    # it used to pass here and crash every later use of the plan.
    report = check(plan(step("h", "http.post", args={"url": "u"}),
                        step("post", "http.post", args={"url": "u", "json": {"ref": "h.body.x\n"}})))
    assert report.plan is None and only(report, C.MALFORMED_REF).path == "$.steps[1].args.json"


def test_args_that_are_a_whole_reference_are_a_wrong_shape_not_a_crash():
    report = check(plan(step("load"), step("up", "text.upper", args={"ref": "load.text"})))
    problem = only(report, C.WRONG_SHAPE)
    assert problem.step == "up" and problem.path == "$.steps[1].args"
    assert "object of named arguments" in problem.message and "{'text': {'ref': 'load.text'}}" in problem.message
    assert report.plan is None


def test_an_object_with_ref_and_other_keys_is_data_not_a_reference():
    # DESIGN.md: a reference is an object whose single key is 'ref'; the executor passes anything
    # else through as data, so the validator checks it as data against the argument's schema.
    doc = plan(step("load"), step("post", "http.post",
                                  args={"url": "u", "json": {"ref": "load.text", "note": "x"}}))
    report = check(doc)
    assert report.ok and report.plan.step("post").references() == []


def test_an_object_with_ref_and_other_keys_where_a_string_is_expected_names_the_argument():
    report = check(plan(step("load"), step("up", "text.upper", args={"text": {"ref": "load.text", "x": 1}})))
    problem = only(report, C.INVALID_ARGS)
    assert problem.step == "up" and problem.path == "$.steps[1].args.text"
    assert "single key 'ref'" in problem.message and "'x'" in problem.message
    assert C.MALFORMED_REF not in codes(report)


def test_reference_to_an_unknown_step_suggests_a_close_id():
    report = check(plan(step("load"), step("up", "text.upper", args={"text": {"ref": "laod.text"}})))
    problem = only(report, C.REF_UNKNOWN_STEP)
    assert "'laod'" in problem.message and "did you mean 'load'" in problem.message


def test_reference_to_an_unknown_field_lists_the_fields():
    report = check(plan(step("load"), step("up", "text.upper", args={"text": {"ref": "load.txt"}})))
    problem = only(report, C.REF_UNKNOWN_FIELD)
    assert problem.path == "$.steps[1].args.text"
    assert "no field 'txt'" in problem.message and "did you mean 'load.text'" in problem.message
    assert "fields there: path, text, bytes" in problem.message


def test_reference_walks_nested_models_lists_and_nullable_fields():
    report = check(plan(
        step("people", "people.list"),
        step("a", "text.upper", args={"text": {"ref": "people.people.0.address.city"}}),
        step("b", "text.upper", args={"text": {"ref": "people.people.3.tags.1"}}),
    ))
    assert report.ok, report.problems


def test_reference_into_a_nested_model_names_the_missing_field():
    report = check(plan(
        step("people", "people.list"),
        step("a", "text.upper", args={"text": {"ref": "people.people.0.address.town"}}),
    ))
    problem = only(report, C.REF_UNKNOWN_FIELD)
    assert "'people.people.0.address'" in problem.message and "city, zip" in problem.message


def test_reference_past_a_scalar_is_refused():
    report = check(plan(step("load"), step("up", "text.upper", args={"text": {"ref": "load.text.first"}})))
    assert "which has no fields" in only(report, C.REF_UNKNOWN_FIELD).message


def test_open_outputs_accept_any_path():
    report = check(plan(
        step("d", "free.dict"),
        step("p", "http.post", args={"url": "u"}),
        step("a", "text.upper", args={"text": {"ref": "d.value.any.deep.path"}}),
        step("b", "text.upper", args={"text": {"ref": "p.body.items.0.name"}}),
        step("c", "text.upper", args={"text": {"ref": "p.headers.content-type"}}),
    ))
    assert report.ok, report.problems


@pytest.mark.parametrize("target, args, expected", [
    ("load.bytes", {"text": None}, "gives integer"),
    ("people.people", {"text": None}, "gives array of"),
])
def test_reference_type_mismatch_names_both_types(target, args, expected):
    report = check(plan(step("load"), step("people", "people.list"),
                        step("up", "text.upper", args={"text": {"ref": target}})))
    problem = only(report, C.REF_TYPE_MISMATCH)
    assert expected in problem.message and "takes string" in problem.message
    assert C.INVALID_ARGS not in codes(report)


@pytest.mark.parametrize("tool, args", [
    ("stats.mean", {"values": {"ref": "ints.value"}}),  # list[int] into list[float]
    ("http.post", {"url": "u", "count": {"ref": "load.bytes"}}),  # integer into integer
    ("http.post", {"url": "u", "timeout_s": {"ref": "load.bytes"}}),  # integer into number|null
    ("http.post", {"url": "u", "timeout_s": {"ref": "agg.value"}}),  # number|null into number|null
    ("http.post", {"url": "u", "json": {"ref": "people.people"}}),  # anything into Any
    ("stats.mean", {"values": [{"ref": "agg.value"}, 2.5]}),  # a reference as a list item
    ("flag.set", {"on": True, "person": {"ref": "people.people.0"}}),  # model into same model
    ("text.upper", {"text": {"ref": "d.value.x"}}),  # unknown type fits
])
def test_fitting_reference_types_are_accepted(tool, args):
    report = check(plan(step("load"), step("ints", "emit.ints", args={"n": 3}),
                        step("agg", "table.aggregate", args={"column": "c", "op": "sum"}),
                        step("people", "people.list"), step("d", "free.dict"),
                        step("use", tool, args=args)))
    assert report.ok, report.problems


@pytest.mark.parametrize("tool, args", [
    ("http.post", {"url": "u", "count": {"ref": "agg.value"}}),  # number into integer
    ("stats.mean", {"values": {"ref": "load.text"}}),  # string into array
    ("stats.mean", {"values": [{"ref": "load.text"}]}),  # string as a number item
    ("flag.set", {"on": {"ref": "load.text"}}),  # string into boolean
    ("flag.set", {"on": True, "names": {"ref": "ints.value"}}),  # array of int into array of str
    ("flag.set", {"on": True, "person": {"ref": "load"}}),  # malformed, not a mismatch
])
def test_non_fitting_reference_types_are_refused(tool, args):
    report = check(plan(step("load"), step("ints", "emit.ints", args={"n": 3}),
                        step("agg", "table.aggregate", args={"column": "c", "op": "sum"}),
                        step("use", tool, args=args)))
    assert set(codes(report)) <= {C.REF_TYPE_MISMATCH, C.MALFORMED_REF} and len(report.problems) == 1


def test_a_reference_does_not_hide_other_argument_errors():
    report = check(plan(step("load"), step("t", "table.aggregate",
                                           args={"csv": {"ref": "load.text"}, "op": "sum"})))
    assert "missing required argument 'column'" in only(report, C.INVALID_ARGS).message


# -- dependencies and cycles ----------------------------------------------------


def test_unknown_dependency_suggests_a_close_id():
    problem = only(check(plan(step("load"), step("b", depends_on=["lod"]))), C.UNKNOWN_DEPENDENCY)
    assert problem.path == "$.steps[1].depends_on[0]" and "did you mean 'load'" in problem.message


def test_self_dependency_through_depends_on_and_through_a_reference():
    report = check(plan(
        step("a", depends_on=["a"]),
        step("b", "text.upper", args={"text": {"ref": "b.value"}}),
    ))
    paths = {p.path for p in report.problems if p.code is C.SELF_DEPENDENCY}
    assert paths == {"$.steps[0].depends_on[0]", "$.steps[1].args.text"}
    assert C.CYCLE not in codes(report)


def test_cycle_is_named_in_order_and_reported_once():
    report = check(plan(
        step("a", "text.upper", args={"text": {"ref": "c.value"}}),
        step("b", "text.upper", args={"text": {"ref": "a.value"}}),
        step("c", depends_on=["b"]),
        step("free"),
    ))
    problem = only(report, C.CYCLE)
    assert "a → b → c → a" in problem.message and problem.step == "a"


def test_two_separate_cycles_are_each_reported():
    report = check(plan(
        step("a", depends_on=["b"]), step("b", depends_on=["a"]),
        step("c", depends_on=["d"]), step("d", depends_on=["c"]),
    ))
    messages = [p.message for p in report.problems if p.code is C.CYCLE]
    assert len(messages) == 2
    assert "a → b → a" in messages[0] and "c → d → c" in messages[1]


def test_every_problem_is_reported_in_one_pass():
    report = check(plan(
        step("Bad"), step("x", "nope.tool"), step("y", "text.upper", args={"txt": "a"}),
        step("z", depends_on=["ghost"]),
    ))
    assert {C.MALFORMED_ID, C.UNKNOWN_TOOL, C.UNKNOWN_ARG, C.INVALID_ARGS,
            C.UNKNOWN_DEPENDENCY} <= set(codes(report))
    with pytest.raises(InvalidPlanError) as caught:
        report.raise_if_invalid()
    assert len(caught.value.problems) == len(report.problems)


# -- loading --------------------------------------------------------------------


def test_yaml_errors_report_line_and_column():
    _, problems = load_plan_document("goal: g\nsteps: [\n", filename="p.yaml")
    assert problems[0].code is C.MALFORMED_DOCUMENT and "line 3, column 1" in problems[0].message


@pytest.mark.parametrize("text, filename, fragment", [
    ('{"a": 1, "a": 2}', "p.json", "appears twice"),
    ("a: 1\na: 2\n", "p.yaml", "appears twice"),
    ('{"a": NaN}', "p.json", "NaN is not valid JSON"),
    ("   ", None, "empty"),
    (b"\xff\xfe", None, "not UTF-8"),
])
def test_documents_that_would_lose_or_garble_data_are_refused(text, filename, fragment):
    value, problems = load_plan_document(text, filename=filename)
    assert value is None and fragment in problems[0].message


def test_yaml_dates_stay_text():
    value, problems = load_plan_document("goal: 2024-01-01\n", filename="p.yml")
    assert problems == [] and value == {"goal": "2024-01-01"}


def test_read_plan_file_reads_and_refuses_missing_files(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("goal: g\nsteps: []\n")
    assert read_plan_file(path) == ({"goal": "g", "steps": []}, [])
    with pytest.raises(PlanFileError, match="does not exist"):
        read_plan_file(tmp_path / "missing.json")
    with pytest.raises(PlanFileError, match="directory"):
        read_plan_file(tmp_path)


def test_deeply_nested_documents_are_refused_not_crashed():
    text = '{"goal": "g", "steps": [{"id": "a", "tool": "files.read", "args": {"path": ' + "[" * 50_000
    assert "nested too deeply" in only(check(text + "]" * 50_000 + "}}]}"), C.MALFORMED_DOCUMENT).message
    nested: Any = "x"
    for _ in range(5_000):
        nested = {"k": nested}
    report = check(plan(step("a", "http.post", args={"url": "u", "json": nested})))
    assert "nested more than 64 levels" in only(report, C.INVALID_ARGS).message and report.plan is None


def nested_args(levels: int) -> dict[str, Any]:
    """http.post arguments whose 'json' holds ``levels`` objects and lists, alternating."""
    value: Any = "x"
    for level in range(levels - 1, -1, -1):
        value = {"k": value} if level % 2 == 0 else [value]
    return {"url": "u", "json": value}


def test_arguments_nested_up_to_the_cap_validate_and_hash():
    report = check(plan(step("a", "http.post", args=nested_args(MAX_ARG_DEPTH))))
    assert report.ok and len(report.plan.plan_hash()) == 64


@pytest.mark.parametrize("levels", [MAX_ARG_DEPTH + 1, 255, 500])
def test_arguments_nested_past_the_cap_are_a_problem_naming_step_and_argument(levels):
    report = check(plan(step("a", "http.post", args=nested_args(levels))))
    problem = only(report, C.INVALID_ARGS)
    assert problem.step == "a" and problem.path.startswith("$.steps[0].args.json.k[0].k[0]")
    assert problem.message.startswith("argument 'json': nested more than 64 levels deep")
    assert report.plan is None


@pytest.mark.parametrize("args, path", [
    ({"url": "u", "json": {"t": "a\ud800b"}}, "$.steps[0].args.json.t"),
    ({"url": "\udfff"}, "$.steps[0].args.url"),
    ({"url": "u", "json": {"bad\ud800key": 1}}, "$.steps[0].args.json['bad\\ud800key']"),
    ({"url": "u", "json": [1, ["\ud800"]]}, "$.steps[0].args.json[1][0]"),
])
def test_text_that_is_not_utf8_encodable_is_a_problem_naming_step_and_argument(args, path):
    report = check(plan(step("a", "http.post", args=args)))
    problem = next(p for p in report.problems if "lone surrogate" in p.message)
    assert problem.code is C.INVALID_ARGS and problem.step == "a" and problem.path == path
    assert report.plan is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_in_arguments_are_a_problem(value):
    report = check(plan(step("a", "http.post", args={"url": "u", "json": {"v": value}})))
    problem = only(report, C.INVALID_ARGS)
    assert problem.path == "$.steps[0].args.json.v" and "not a JSON number" in problem.message


def test_non_string_keys_in_arguments_are_a_problem():
    report = check(plan(step("a", "http.post", args={"url": "u", "json": {1: "a", "b": 2}})))
    problem = only(report, C.INVALID_ARGS)
    assert problem.path == "$.steps[0].args.json['1']" and "keys must be strings, not int" in problem.message


@pytest.mark.parametrize("field, value, path", [
    ("goal", "sum \ud800", "$.goal"),
    ("why", "because \ud800", "$.steps[0].why"),
    ("timeout_s", math.inf, "$.steps[0].timeout_s"),
])
def test_unencodable_text_or_numbers_outside_the_arguments_are_a_problem(field, value, path):
    doc = plan(step("a"))
    if field == "goal":
        doc["goal"] = value
    else:
        doc["steps"][0][field] = value
    report = check(doc)
    assert report.plan is None
    assert any(p.path == path and p.code is C.WRONG_SHAPE for p in report.problems), report.problems


def test_a_plan_full_of_mistakes_lists_the_first_ones_even_after_hints_run_out():
    doc = plan(*(step(f"step_{i}", depends_on=[f"stpe_{i}"]) for i in range(300)))
    report = check(doc, max_steps=300)
    *problems, more = report.problems
    assert len(problems) == 200 and {p.code for p in problems} == {C.UNKNOWN_DEPENDENCY}
    assert "did you mean 'step_0'" in problems[0].message
    assert all("stpe_" in p.message for p in problems)
    assert more.message.startswith("... and 100 more problem(s), not listed")


@pytest.mark.parametrize("value, fragment", [
    (math.nan, "not a JSON number"), ({1: "a"}, "keys must be strings"), ("\ud800", "lone surrogate"),
])
def test_a_plan_object_is_checked_for_values_no_plan_can_hold_too(value, fragment):
    parsed = Plan.model_validate(plan(step("a", "http.post", args={"url": "u", "json": {"v": value}})))
    report = check(parsed)
    assert report.plan is None and fragment in only(report, C.INVALID_ARGS).message

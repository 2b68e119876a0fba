"""The template planner: matching, parameter extraction, instantiation, save-as-template."""

from __future__ import annotations

import pytest

from planner.base import PlannerKind, PlanningError
from planner.plan import Plan
from planner.templates import (
    SHIPPED_DIR,
    Template,
    TemplateError,
    TemplateLibrary,
    TemplateMatcher,
    TemplatePlanner,
    bounds_check,
    instantiate,
    load_template_file,
    template_from_plan,
)
from planner.validation import validate_plan
from tools import ToolRegistry
from tools.builtin import register_builtin_tools


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = ToolRegistry()
    register_builtin_tools(reg, workspace=tmp_path_factory.mktemp("ws"))
    return reg


@pytest.fixture(scope="module")
def shipped():
    return TemplateLibrary.load([SHIPPED_DIR])


@pytest.fixture(scope="module")
def planner(shipped):
    return TemplatePlanner(shipped)


def _template(**overrides):
    data = {
        "name": "limit-demo", "example_goals": ["Fetch 5 rows of data.csv"],
        "patterns": ["fetch {count} rows of {source} [verbose {verbose}]"],
        "params": [
            {"name": "count", "type": "int", "min": 1, "max": 100},
            {"name": "source", "pattern": r"^[a-z]+\.csv$"},
            {"name": "verbose", "type": "bool", "default": False},
        ],
        "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{source}}"},
                            "why": "read {{count}} rows"}]},
    }
    data.update(overrides)
    return Template.model_validate(data)


def test_demo_goal_becomes_a_plan_from_its_template_without_a_model(planner, registry):
    result = planner.plan("Total the amount column of sales.csv and write it to total.json", registry)
    assert result.planner is PlannerKind.TEMPLATE
    assert result.trace.exchanges == ()
    assert result.origin.name == "csv-total-to-file"
    assert result.origin.params == {"column": "amount", "source": "sales.csv", "target": "total.json"}
    assert [s.tool for s in result.plan.steps] == [
        "files.read", "table.aggregate", "json.query", "files.write"]
    assert result.plan.step("save").args["path"] == "total.json"


def test_post_goal_extracts_the_url_and_uses_the_column_default(planner, registry):
    result = planner.plan("Post the total of sales.csv to https://webhook.example.net/finance.", registry)
    assert result.origin.name == "csv-total-post"
    assert result.origin.params["url"] == "https://webhook.example.net/finance"
    assert result.origin.params["column"] == "amount"
    post = result.plan.step("post")
    assert post.args["method"] == "POST" and post.args["json"] == {"total": {"ref": "total.value"}}


def test_matching_is_case_insensitive_but_keeps_the_case_of_values(planner, registry):
    result = planner.plan("SHOW THE Mean OF THE Price COLUMN IN Data/Q1.csv", registry)
    assert result.origin.name == "csv-aggregate"
    assert result.origin.params == {"op": "mean", "column": "Price", "source": "Data/Q1.csv"}


@pytest.mark.parametrize("goal", [
    "Total the amount column of sales.csv and email it to bob",
    "Total the amount column of sales.csv and write it to total.json then delete sales.csv",
    "Please total the amount column of sales.csv and write it to total.json",
    "Show the median of the amount column of sales.csv",
    "Post the total of sales.csv to http://webhook.example.net/finance",
    "Copy sales.csv",
    "Total everything",
])
def test_goals_that_only_resemble_a_template_do_not_match(planner, registry, goal):
    with pytest.raises(PlanningError) as caught:
        planner.plan(goal, registry)
    assert caught.value.code == "no_template_matches"
    assert "no template matches; configure an LLM endpoint or add a template" in caught.value.message


def test_no_match_lists_the_nearest_templates_by_their_example_goals(planner, registry):
    with pytest.raises(PlanningError) as caught:
        planner.plan("Total the price column of orders.csv and email it to finance", registry)
    message = caught.value.message
    assert "nearest templates:" in message
    nearest = [line.split()[0] for line in message.split("nearest templates:")[1].strip().splitlines()]
    assert nearest[0] == "csv-total-to-file"


def test_a_goal_sharing_no_word_with_any_template_still_names_the_library(planner, registry):
    with pytest.raises(PlanningError) as caught:
        planner.plan("make me a sandwich", registry)
    message = caught.value.message
    assert "nearest templates:" not in message
    assert "no template shares a word with the goal" in message and "copy-file" in message


def test_a_value_outside_the_parameter_pattern_is_named_in_the_refusal(planner, registry):
    with pytest.raises(PlanningError) as caught:
        planner.plan("Total the amount column of sales.txt and write it to total.json", registry)
    assert "csv-total-to-file fits the wording" in caught.value.message
    assert "sales.txt" in caught.value.message


def test_typed_parameters_are_converted_and_bounded():
    matcher = TemplateMatcher(TemplateLibrary([_template()]))
    found, _ = matcher.match("Fetch 5 rows of data.csv verbose yes")
    assert found.params == {"count": 5, "source": "data.csv", "verbose": True}
    found, _ = matcher.match("fetch 7 rows of data.csv")
    assert found.params == {"count": 7, "source": "data.csv", "verbose": False}
    found, misses = matcher.match("fetch 500 rows of data.csv")
    assert found is None and "above the maximum 100" in misses[0].problems[0]
    found, misses = matcher.match("fetch five rows of data.csv")
    assert found is None and misses == []


def test_matching_picks_the_most_specific_template_deterministically(registry):
    general = _template(name="general", patterns=["fetch {count} rows of {source}"])
    specific = _template(name="specific", patterns=["fetch {count} rows of {source} now"])
    for order in ([general, specific], [specific, general]):
        matcher = TemplateMatcher(TemplateLibrary(order))
        assert matcher.match("fetch 3 rows of a.csv now")[0].template.name == "specific"
        assert matcher.match("fetch 3 rows of a.csv")[0].template.name == "general"


def test_bounds_check_reports_every_way_params_leave_the_template():
    template = _template()
    assert bounds_check(template, {"count": 10, "source": "a.csv"}) == []
    problems = bounds_check(template, {"count": 0, "source": "A.CSV", "extra": 1, "verbose": "yes"})
    text = " | ".join(problems)
    assert "extra: not a parameter" in text
    assert "count: 0 is below the minimum 1" in text
    assert "does not match" in text
    assert "verbose: 'yes' is not a bool" in text
    assert bounds_check(template, {"source": "a.csv"}) == ["count: missing (required)"]


def test_enum_parameters_refuse_other_values(shipped):
    template = shipped.get("csv-aggregate")
    assert bounds_check(template, {"op": "sum", "column": "a", "source": "a.csv"}) == []
    assert "not one of" in bounds_check(template, {"op": "median", "column": "a", "source": "a.csv"})[0]


def test_every_shipped_template_instantiates_to_a_valid_plan(shipped, registry):
    names = {t.name for t in shipped}
    assert {"csv-total-to-file", "csv-total-post", "csv-aggregate"} <= names
    for template in shipped:
        for goal in template.example_goals:
            result = TemplatePlanner(shipped).plan(goal, registry)
            assert result.origin.name == template.name, goal
            report = validate_plan(result.plan.to_wire(), registry)
            assert report.ok, (template.name, report.problems)


def test_only_the_read_only_template_is_pre_approved(shipped, registry):
    pre_approved = [t.name for t in shipped if t.pre_approved]
    assert pre_approved == ["csv-aggregate"]
    plan = instantiate(shipped.get("csv-aggregate"), {"op": "sum", "column": "x", "source": "a.csv"})
    assert all(registry.get(s.tool).effect_of(s.args).value == "read" for s in plan.steps)


def test_instantiate_keeps_types_for_whole_placeholders_and_text_inside_strings():
    plan = instantiate(_template(), {"count": 3, "source": "a.csv"}, goal="g")
    assert plan.step("load").args == {"path": "a.csv"}
    assert plan.step("load").why == "read 3 rows"
    with pytest.raises(TemplateError, match="count"):
        instantiate(_template(), {"count": 1000, "source": "a.csv"})


def test_a_template_that_uses_an_undeclared_parameter_is_refused():
    with pytest.raises(ValueError, match="undeclared parameter"):
        _template(plan={"steps": [{"id": "a", "tool": "files.read", "args": {"path": "{{nope}}"}}]})


def test_a_pattern_that_misses_a_required_parameter_is_refused():
    with pytest.raises(TemplateError, match="does not capture required"):
        TemplateMatcher(TemplateLibrary([_template(patterns=["fetch rows of {source}"])]))


def test_revision_without_a_model_only_accepts_feedback_that_is_itself_a_goal(planner, registry):
    previous = planner.plan("Copy sales.csv to backup.csv", registry).plan
    with pytest.raises(PlanningError) as caught:
        planner.revise(previous, "use a different folder please", registry)
    assert caught.value.code == "revision_needs_llm"
    assert "baton plan --file" in caught.value.message
    revised = planner.revise(previous, "Copy sales.csv to archive/sales.csv", registry)
    assert revised.plan.step("save").args["path"] == "archive/sales.csv"
    assert "feedback re-matched as a goal" in revised.trace.notes[0]


def test_revision_without_a_model_matches_the_feedback_not_the_rejection_reason(
        planner, registry):
    previous = planner.plan("Copy sales.csv to backup.csv", registry).plan
    revised = planner.revise(previous, "Copy sales.csv to archive/sales.csv", registry,
                             rejection="write it under archive/")
    assert revised.plan.step("save").args["path"] == "archive/sales.csv"
    assert revised.plan.goal == "Copy sales.csv to archive/sales.csv"


def _approved_plan() -> Plan:
    return Plan.model_validate({
        "goal": "Post the total of q1.csv to https://hooks.example.com/finance",
        "steps": [
            {"id": "load", "tool": "files.read", "args": {"path": "q1.csv"}, "why": "read q1.csv"},
            {"id": "total", "tool": "table.aggregate",
             "args": {"csv": {"ref": "load.text"}, "column": "amount", "op": "sum"}},
            {"id": "post", "tool": "http.request",
             "args": {"method": "POST", "url": "https://hooks.example.com/finance",
                      "json": {"total": {"ref": "total.value"}}}},
        ],
    })


def test_saved_template_round_trips_and_new_saves_get_new_versions(tmp_path, registry):
    template = template_from_plan(
        _approved_plan(), name="q-post",
        params={"source": "q1.csv", "url": "$.steps.post.args.url", "column": "$.steps[1].args.column"},
    )
    assert template.patterns == ("Post the total of {source} to {url}",)
    assert template.param("column").default == "amount"  # not in the goal: fixed by default
    library = TemplateLibrary.load([tmp_path], writable_dir=tmp_path)
    first, path = library.save(template)
    second, _ = library.save(template.model_copy(update={"description": "changed"}))
    assert (first.version, second.version) == (1, 2)
    assert path.name == "q-post.v1.yaml" and load_template_file(path) == first

    reloaded = TemplateLibrary.load([tmp_path])
    assert [t.version for t in reloaded.versions("q-post")] == [1, 2]
    assert reloaded.get("q-post").description == "changed"
    result = TemplatePlanner(reloaded).plan("post the total of q2.csv to https://a.example/x", registry)
    assert result.origin.version == 2
    assert result.plan.step("load").args["path"] == "q2.csv"
    assert result.plan.step("load").why == "read q2.csv"
    assert result.plan.step("post").args["url"] == "https://a.example/x"


def test_save_as_template_names_a_path_or_literal_that_is_not_in_the_plan():
    with pytest.raises(TemplateError, match="no argument of the plan has the value"):
        template_from_plan(_approved_plan(), name="x", params={"p": "nowhere.csv"})
    with pytest.raises(TemplateError, match="does not exist"):
        template_from_plan(_approved_plan(), name="x", params={"p": "$.steps.post.args.nope"})
    with pytest.raises(TemplateError, match="not a single value"):
        template_from_plan(_approved_plan(), name="x", params={"p": "$.steps.post.args.json"})


def test_a_file_whose_name_and_version_disagree_is_refused(tmp_path):
    (tmp_path / "demo.v2.yaml").write_text(
        "version: 3\npatterns: ['x']\nplan: {steps: [{id: a, tool: files.read}]}\n")
    with pytest.raises(TemplateError, match="v2 but the version field says 3"):
        TemplateLibrary.load([tmp_path])


def test_unknown_template_and_version_errors_name_what_exists(shipped):
    with pytest.raises(TemplateError, match="did you mean: csv-total-post"):
        shipped.get("csv-total-pst")
    with pytest.raises(TemplateError, match=r"versions: v1"):
        shipped.get("csv-total-post", 4)

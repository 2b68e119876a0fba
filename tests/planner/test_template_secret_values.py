"""Finding configured secret values in a template document, and showing a template masked."""

from __future__ import annotations

import pytest

from planner.secret_literals import configured_secret_problems, template_secret_problems
from planner.templates import Template
from tools.redaction import REDACTED, secret_forms

SECRET = "crm-SuperSecret-0042"
SECRETS = {SECRET: "CRM_TOKEN"}


def _template(**fields) -> Template:
    document = {
        "name": "post-it", "example_goals": ["post it"], "patterns": ["post it"],
        "params": [{"name": "token", "default": "hello"}],
        "plan": {"steps": [{"id": "post", "tool": "files.write",
                            "args": {"path": "a.txt", "text": "{{token}}"}}]},
        **fields}
    return Template.model_validate(document)


def test_a_value_in_the_plan_skeleton_names_the_step_and_path():
    template = _template(plan={"steps": [{"id": "post", "tool": "files.write",
                                          "args": {"path": "a.txt", "text": f"x {SECRET}"}}]})
    [problem] = template_secret_problems(template.to_document(), SECRETS)
    assert (problem.step, problem.path) == ("post", "$.plan.steps[0].args.text")
    assert problem.message == "holds the value of the configured secret CRM_TOKEN"
    assert SECRET not in str(problem)


def test_values_outside_the_plan_name_their_field_and_no_step():
    template = _template(description=SECRET, example_goals=["post it", f"post {SECRET}"])
    found = template_secret_problems(template.to_document(), SECRETS)
    assert [(p.step, p.path) for p in found] == [(None, "$.description"),
                                                 (None, "$.example_goals[1]")]


def test_a_template_without_secret_values_has_no_problems():
    assert template_secret_problems(_template().to_document(), SECRETS) == ()


def test_plans_still_name_their_steps_at_steps_only():
    plan = {"goal": "g", "steps": [{"id": "a", "tool": "t", "args": {
        "steps": [{"id": "inner", "x": SECRET}]}}]}
    [problem] = configured_secret_problems(plan, SECRETS)[0]
    assert (problem.step, problem.path) == ("a", "$.steps[0].args.steps[0].x")


def test_a_masked_template_hides_every_value_and_keeps_its_types():
    template = _template(description=SECRET, patterns=["post it", f"post {SECRET}"],
                         params=[{"name": "token", "default": SECRET, "enum": ["a", SECRET]}])
    shown = template.masked(SECRETS)
    assert SECRET not in str(shown.to_document())
    assert shown.description == REDACTED and shown.patterns == ("post it", f"post {REDACTED}")
    assert shown.params[0].default == REDACTED and shown.params[0].enum == ("a", REDACTED)
    assert template.description == SECRET  # the stored template is untouched
    assert template.masked({}) is template


def test_a_masked_name_is_shown_even_though_no_template_could_be_saved_under_it():
    lower = "crm-lowercase-secret-0042"
    shown = _template(name=lower).masked([lower])
    assert shown.name == REDACTED and shown.to_document()["name"] == REDACTED


ESCAPING = 'crm"Key/é-0042'  # a quote, a slash and a non-ASCII letter: each form differs


@pytest.mark.parametrize("form", [f for f in secret_forms(ESCAPING) if f != ESCAPING])
def test_a_value_written_in_an_escaped_form_is_found_as_masking_finds_it(form):
    # Masking hides every form (tools.redaction.secret_forms); a template holding one must
    # be refused too, or every reader would see the value once unescaped.
    template = _template(description=f"posts with {form}")
    [problem] = template_secret_problems(template.to_document(), {ESCAPING: "CRM_TOKEN"})
    assert (problem.path, problem.message) == (
        "$.description", "holds the value of the configured secret CRM_TOKEN")


PIN = "904417263"


@pytest.mark.parametrize("number", [int(PIN), float(PIN), int(f"1{PIN}")])
def test_a_plan_holding_a_secret_of_digits_as_a_number_is_refused_and_masked(number):
    document = {"goal": "g", "steps": [{"id": "q", "tool": "json.query",
                                         "args": {"data": {"pin": number, "n": 7, "b": True},
                                                  "expression": "pin"}}]}
    found, masked = configured_secret_problems(document, {PIN: "ACCOUNT_PIN"})
    [problem] = found
    assert (problem.code, problem.step, problem.path) == (
        "configured_secret", "q", "$.steps[0].args.data.pin")
    assert masked["steps"][0]["args"]["data"] == {"pin": REDACTED, "n": 7, "b": True}


def test_numbers_and_bools_pass_when_no_secret_reads_as_a_number():
    document = {"goal": "g", "steps": [{"id": "q", "tool": "t", "args": {"n": 904417263,
                                                                          "b": True}}]}
    assert configured_secret_problems(document, SECRETS) == ((), document)
    assert configured_secret_problems(document, {"1": "ONE"})[1]["steps"][0]["args"] == {
        "n": REDACTED, "b": True}

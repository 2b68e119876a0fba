"""What the policy refuses in a plan's text once decoded, or in a template parameter spliced
into a URL, is never stored, recorded in the ledger nor raised: the goal, each step's why,
the template parameters, the plan and the problems hold the mask instead, and the version is
still refused (or stored INVALID) for it.
"""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.usecases.deciding import decision_for
from baton.usecases.plans import plan_from_document, plan_goal, revise_plan
from baton.usecases.templates import add_template_file
from planner.base import PlannerKind
from planner.problems import InvalidPlanError
from planner.versions import VersionStatus
from tests.support.stored_text import everything_stored

CRED = "hunter3hunter3"

TEMPLATE = """\
name: fetch-api-path
description: GET a path of the internal API.
example_goals: ["fetch status from the api"]
patterns: ["fetch {path} from the api"]
params:
  - name: path
    description: path and query under the API
    pattern: '^[A-Za-z0-9/_.?=&-]{1,200}$'
plan:
  steps:
    - id: fetch
      tool: http.request
      args: {method: GET, url: "https://api.example.com/{{path}}"}
      why: fetch {{path}}
"""


def _body_plan(body: str) -> dict:
    return {"goal": "register the webhook", "steps": [
        {"id": "post", "tool": "http.request",
         "args": {"method": "POST", "url": "https://hooks.example.com/hooks", "body": body}}]}


@pytest.mark.parametrize("body", [
    '{"callback": "https:\\/\\/hooks.example.com\\/in?token=%s"}' % CRED,
    '{"callback": "https://hooks.example.com/in?\\u0074oken=%s"}' % CRED,
    "cb=https%3A%2F%2Fhooks.example.com%2Fin%3Ftoken%3D" + CRED,
], ids=["escaped slashes", "escaped name", "form"])
def test_a_credential_in_a_decoded_body_is_never_stored_and_still_denied(services, body):
    stored = plan_from_document(services, _body_plan(body), services.settings.users["alice"])
    assert stored.status is VersionStatus.DENIED
    deny = decision_for(services, stored.plan_id).decision.deny
    assert any("literal credential in URL parameter token" in reason for reason in deny)
    assert CRED not in everything_stored(services, stored.plan_id)


def _add_template(services: Services, tmp_path) -> None:
    source = tmp_path / "fetch-api-path.yaml"
    source.write_text(TEMPLATE)
    add_template_file(services, source, services.settings.users["root"])


def test_a_template_parameter_spliced_into_a_refused_url_is_masked_everywhere(services,
                                                                               tmp_path):
    _add_template(services, tmp_path)
    stored = plan_goal(services, f"fetch report?token={CRED} from the api",
                       services.settings.users["alice"], planner=PlannerKind.TEMPLATE)
    assert stored.status is VersionStatus.DENIED
    assert stored.goal == "fetch report?token=*** from the api"
    (step,) = stored.plan.steps
    assert step.args["url"] == "https://api.example.com/report?token=***"
    assert step.why == "fetch report?token=***"
    assert stored.origin.params == {"path": "report?token=***"}
    assert CRED not in everything_stored(services, stored.plan_id)


def test_a_template_revision_whose_parameter_is_refused_records_no_credential(services,
                                                                              tmp_path):
    _add_template(services, tmp_path)
    alice = services.settings.users["alice"]
    first = plan_goal(services, "fetch status from the api", alice, planner=PlannerKind.TEMPLATE)
    revised = revise_plan(services, first.plan_id, f"fetch report?api_key={CRED} from the api",
                          alice, planner=PlannerKind.TEMPLATE)
    assert revised.status is VersionStatus.DENIED
    assert revised.feedback == "fetch report?api_key=*** from the api"
    assert CRED not in everything_stored(services, first.plan_id)


def test_a_template_parameter_left_out_of_the_credential_is_kept(services, tmp_path):
    _add_template(services, tmp_path)
    stored = plan_goal(services, "fetch report?page=2 from the api",
                       services.settings.users["alice"], planner=PlannerKind.TEMPLATE)
    assert stored.goal == "fetch report?page=2 from the api"
    assert stored.origin.params == {"path": "report?page=2"}


def test_a_scheme_relative_url_is_stored_invalid_without_its_user_information(services):
    plan = {"goal": "fetch the report", "steps": [
        {"id": "fetch", "tool": "http.request",
         "args": {"method": "GET", "url": f"//ops:{CRED}@api.example.com/report"}}]}
    with pytest.raises(InvalidPlanError) as raised:
        plan_from_document(services, plan, services.settings.users["alice"])
    stored = raised.value.stored
    assert stored.status is VersionStatus.INVALID
    assert CRED not in everything_stored(services, stored.plan_id, raised.value)


def test_a_malformed_reference_holding_a_url_is_stored_masked(services):
    plan = {"goal": "note it", "steps": [
        {"id": "note", "tool": "files.write", "args": {"path": "n.txt", "text": {
            "ref": f"https://ops:{CRED}@git.example.com/x?token={CRED}"}}}]}
    with pytest.raises(InvalidPlanError) as raised:
        plan_from_document(services, plan, services.settings.users["alice"])
    assert CRED not in everything_stored(services, raised.value.stored.plan_id, raised.value)


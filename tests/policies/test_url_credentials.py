"""A credential written into a URL's query or fragment (?api_key=…) is denied naming the step,
the argument and the parameter, never the value: before the run and at run time, on both
backends. Parameter names are judged whole, by the one list URL masking uses.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester, StepCall
from policies.inputs import build_policy_input, iter_strings, url_credentials
from tests.support.policy_tools import policy_registry
from tools.redaction import is_secret_param

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
VALUE = "f8Kq2LmZx9Pw3RtY7vBn"
HOST = "https://api.internal.example"


def _listed(args: dict) -> list[dict[str, str]]:
    return url_credentials(list(iter_strings(args)))


def _decide(engine, url: str):
    plan = Plan.model_validate({"goal": "fetch it", "steps": [
        {"id": "fetch", "tool": "http.request", "args": {"url": url}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


@pytest.mark.parametrize("query", [
    f"api_key={VALUE}", "token=hunter2hunter2", "password=correcthorse",
    f"x=1&access_token={VALUE}",
    f"sig={VALUE}", f"client_secret={VALUE}", f"X-Amz-Signature={VALUE}", f"apiKey={VALUE}",
    f"github_token={VALUE}", f"accesstoken={VALUE}",
])
def test_a_literal_credential_in_a_url_query_is_denied_without_its_value(engine, query):
    name = query.rsplit("&", 1)[-1].partition("=")[0]
    decision = _decide(engine, f"{HOST}/b?{query}")
    assert not decision.allow
    assert (f"step fetch: argument $.args.url carries a literal credential in URL parameter {name}"
            in "\n".join(decision.deny)), decision.deny
    value = query.rsplit("=", 1)[1]
    assert not any(value in line for line in decision.deny + decision.notes)


def test_the_walkthrough_url_on_a_local_port_is_listed():
    url = f"http://127.0.0.1:9009/b?api_key={VALUE}"
    assert _listed({"url": url}) == [{"path": "$.args.url", "param": "api_key"}]


def test_a_credential_in_a_fragment_or_in_a_url_inside_text_is_listed_at_its_argument():
    args = {"url": f"{HOST}/cb#state=1&access_token={VALUE}",
            "json": {"note": f"see {HOST}/x?a=1;key={VALUE} and http://h/y?secret={VALUE}"}}
    assert _listed(args) == [{"path": "$.args.url", "param": "access_token"},
                             {"path": "$.args.json.note", "param": "key"},
                             {"path": "$.args.json.note", "param": "secret"}]


@pytest.mark.parametrize("url", [
    f"{HOST}/s?keyword=sales&author=bob&design=x&monkey=banana&session=spring-2025&token_id=7",
    f"{HOST}/s?api_key=&token",  # no value to leak
    f"{HOST}/s?api_key=${{secret:HOOK_TOKEN}}",  # secret_destinations.rego's to judge
    f"{HOST}/s?token=${{secret:A}}${{secret:B}}",
    "api_key=loose text, not a URL",
])
def test_ordinary_parameters_empty_values_and_secret_references_are_not_listed(url):
    assert _listed({"url": url}) == []


def test_a_value_mixing_text_and_a_secret_reference_is_listed():
    assert _listed({"url": f"{HOST}/s?token=abc${{secret:A}}"}) == [
        {"path": "$.args.url", "param": "token"}]


def test_a_name_that_does_not_read_as_a_name_is_not_quoted():
    listed = _listed({"url": f"{HOST}/s?a=1&my%20token={VALUE}#x=1&b.token={VALUE}"})
    assert listed == [{"path": "$.args.url", "param": "<query parameter 2>"},
                      {"path": "$.args.url", "param": "<fragment parameter 2>"}]


def test_a_parameter_name_that_is_itself_a_secret_is_masked(engine):
    decision = _decide(engine, f"{HOST}/b?AKIAIOSFODNN7EXAMPLE_key=1")
    assert any("in URL parameter <a secret>" in line for line in decision.deny), decision.deny
    assert not any("AKIAIOSFODNN7EXAMPLE" in line for line in decision.deny)


def test_an_unparseable_host_does_not_hide_the_credential():
    assert _listed({"url": f"http://[bad/b?token={VALUE}"}) == [
        {"path": "$.args.url", "param": "token"}]


def test_a_credential_in_a_resolved_url_is_denied_at_run_time(engine):
    verdict = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="send", tool="http.request", effect="write",
        args={"method": "POST", "url": f"https://x.hooks.example.com/in?token={VALUE}"},
        tags=("egress",), requester=ALICE))
    assert not verdict.allow
    assert any("step send: argument $.args.url carries a literal credential in URL parameter token"
               in line for line in verdict.deny), verdict.deny
    assert not any(VALUE in line for line in verdict.deny)


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True))
def test_a_parameter_is_listed_exactly_when_url_masking_hides_it(name):
    listed = _listed({"url": f"{HOST}/s?{name}={VALUE}"})
    assert listed == ([{"path": "$.args.url", "param": name}] if is_secret_param(name) else [])

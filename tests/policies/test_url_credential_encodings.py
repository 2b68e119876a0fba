"""A credential hidden in a URL by percent-encoding (a name encoded twice, an encoded ``=``
or ``&``) or written as a path's matrix parameter (``;jsessionid=…``) is denied as a plain
``?api_key=…`` is, before the run and at run time, on both backends; anti-forgery tokens
(``csrf_token``) are not credentials. Some layer between the caller and the service may
decode a URL once more, or split it where the service would not: the rule fails closed.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import (
    ALICE, ENCODED, HOST, NOON, VALUE, decide, encoded, listed,
)
from tools.url_credentials import is_credential_query_param, percent_decoded


def _params(url: str) -> list[str]:
    return [found["param"] for found in listed({"url": url})]




def _check(engine, **args):
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="get", tool="http.request", effect="read",
        args=args, tags=("egress",), requester=ALICE))


@pytest.mark.parametrize(("url", "name"), ENCODED.values(), ids=ENCODED.keys())
def test_a_credential_hidden_by_encoding_or_in_a_path_parameter_is_denied(engine, url, name):
    decision = decide(engine, url)
    assert not decision.allow
    assert (f"step fetch: argument $.args.url carries a literal credential in URL parameter {name}"
            in "\n".join(decision.deny)), decision.deny
    assert not any(VALUE in line for line in decision.deny + decision.notes)


@pytest.mark.parametrize(("url", "name"), ENCODED.values(), ids=ENCODED.keys())
def test_a_credential_hidden_by_encoding_or_in_a_path_parameter_is_denied_at_run_time(
        engine, url, name):
    verdict = _check(engine, url=url)
    assert any(f"step get: argument $.args.url carries a literal credential in URL parameter {name}"
               in line for line in verdict.deny), verdict.deny


@pytest.mark.parametrize(("query", "name"), [
    ({"api%255Fkey": VALUE}, "api_key"),
    ({"q": f"sales&api_key={VALUE}"}, "api_key"),  # sent as q=sales%26api_key%3D...
    ({"q": f"sales%26token%3D{VALUE}"}, "token"),
    ({"jsessionid": VALUE}, "jsessionid"),
])
def test_the_query_argument_is_judged_as_the_url_it_becomes(engine, query, name):
    decision = decide(engine, f"{HOST}/b", query=query)
    assert any(f"carries a literal credential in URL parameter {name}" in line
               for line in decision.deny), decision.deny
    verdict = _check(engine, url=f"{HOST}/b", query=query)
    assert any(f"carries a literal credential in URL parameter {name}" in line
               for line in verdict.deny), verdict.deny


def test_a_finding_in_the_path_or_under_a_placeholder_name_is_placed_by_its_segment():
    assert _params(f"{HOST}/a/b;my%20token={VALUE}") == ["<parameter of path segment 2>"]
    assert _params(f"{HOST}/a/b;x=1?q=sales%26my%2520token%3D{VALUE}") == ["<query parameter 1>"]


@pytest.mark.parametrize("url", [
    f"{HOST}/login?redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fstate%3D1%26page_token%3Dabc",
    f"{HOST}/s?q=salt%20%26%20pepper&filter=type%3Dtoken&data=eyJhIjoxfQ%3D%3D",
    f"{HOST}/s?next=%252Fhome%253Fsort_key%253Dname%2526keyword%253Dtoken",
    f"{HOST}/cars;color=red;year=2020/models;page_token=abc/list;session=spring",
    f"{HOST}/api/key=abc/token%3Dabc",  # a path segment that reads name=value is no parameter
    f"{HOST}/s;api_key=?x=1",  # no value to leak
    f"{HOST}/s;token=${{secret:HOOK_TOKEN}}",
    f"{HOST}/s?q=%25%25%25&api%25=1&%=2&%zz=3",
])
def test_encoded_values_ordinary_path_parameters_and_references_are_not_listed(url):
    assert listed({"url": url}) == []


ANTI_FORGERY = ["csrf_token", "csrfToken", "CSRF-Token", "X-CSRF-Token", "_csrf", "_csrf_token",
                "xsrf_token", "XSRF-TOKEN", "csrfmiddlewaretoken", "authenticity_token",
                "__RequestVerificationToken"]


@pytest.mark.parametrize("name", ANTI_FORGERY)
def test_anti_forgery_tokens_are_not_credentials(name):
    # A form's anti-forgery token proves the request came from the site's own page; it
    # authenticates nothing without the session cookie it is bound to.
    assert not is_credential_query_param(name)


def test_anti_forgery_tokens_in_a_url_are_allowed(engine):
    query = "&".join(f"{name}={VALUE}" for name in ANTI_FORGERY)
    decision = decide(engine, f"{HOST}/form?{query};_csrf={VALUE}")
    assert decision.allow, decision.deny


def test_an_anti_forgery_token_in_the_query_argument_is_no_url_credential():
    # Only this rule's finding: a random value under any key naming a token is still the
    # literal-secret rule's to judge (secrets.rego, sensitive_value).
    plan = Plan.model_validate({"goal": "fetch it", "steps": [{
        "id": "fetch", "tool": "http.request",
        "args": {"url": f"{HOST}/form", "query": {"csrf_token": VALUE, "_csrf": VALUE}}}]})
    doc = build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)
    assert doc["steps"][0]["url_credentials"] == []


@pytest.mark.parametrize("name", ["_token", "csrf_api_key", "session_token", "xsrf_secret"])
def test_other_tokens_near_anti_forgery_names_are_still_credentials(name):
    # Laravel's form field "_token" reads as "token": the list cannot tell them apart.
    assert is_credential_query_param(name)


@pytest.mark.parametrize("name", ["api%255Fkey", "access%25255Ftoken", encoded("api_key", 12),
                                  "auth%255Btoken%255D", "jsessionid", "JSESSIONID", "jSessionId",
                                  "PHPSESSID"])
def test_encoded_and_session_names_are_credentials(name):
    assert is_credential_query_param(name)


@given(st.text(alphabet="%2457_k=&", max_size=30))
def test_percent_decoding_reads_what_decoding_until_nothing_changes_reads(text):
    # Those hex digits spell ASCII only, where decoding bytes and decoding text agree.
    expected = text
    while unquote(expected) != expected:
        expected = unquote(expected)
    assert percent_decoded(text) == expected


@pytest.mark.parametrize("times", [1, 2, 3, 4, 9, 40])
def test_percent_decoding_undoes_any_number_of_encodings(times):
    assert percent_decoded(encoded("api_key", times)) == "api_key"


@pytest.mark.parametrize(("url", "count"), [
    (f"{HOST}/b?api%" + "25" * 40_000 + f"5Fkey={VALUE}", 1),  # 40,001 layers deep
    (f"{HOST}/b?" + "%25" * 40_000 + f"5Fa=1&api%255Fkey={VALUE}", 1),
    (f"{HOST}/" + ";" * 80_000 + f"token={VALUE}", 1),
    (f"{HOST}/" + "a;b=1/" * 15_000 + f";sig={VALUE}", 1),
    (f"{HOST}/b?" + "%3D" * 30_000, 0),
    (f"{HOST}/b?q=" + "%26a%3D1" * 10_000, 0),
])
def test_long_encoded_urls_are_judged_in_one_pass(url, count):
    # Decoding again and again until nothing changes would take one pass per "%25" here;
    # these are the shapes that would be quadratic (bench_policy reports the timing).
    assert len(listed({"url": url})) == count


def test_a_query_entry_is_judged_by_its_whole_name_and_by_the_parameters_its_text_holds():
    query = {"x=api_key": VALUE, "token&": VALUE, "q": "a&b", "r": f"a&sig={VALUE}"}
    plan = Plan.model_validate({"goal": "fetch it", "steps": [{
        "id": "fetch", "tool": "http.request", "args": {"url": f"{HOST}/b", "query": query}}]})
    doc = build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)
    assert doc["steps"][0]["url_credentials"] == [
        {"path": "$.args.query.<key 1>", "param": "<query parameter 1>"},
        {"path": "$.args.query.<key 2>", "param": "<query parameter 2>"},
        {"path": "$.args.query.r", "param": "sig"}]


def test_a_parameter_after_the_host_is_judged_as_a_path_parameter():
    # SQL Server's JDBC URLs carry their properties so, the password among them.
    url = f"jdbc:sqlserver://db.example:1433;databaseName=sales;user=sa;password={VALUE}"
    assert _params(url) == ["password"]
    assert _params(f"https://h.example;my%20token={VALUE}") == ["<parameter after the host>"]
    assert _params("jdbc:sqlserver://db.example:1433;databaseName=sales;user=sa") == []

"""A credential written into a URL's query or fragment (?api_key=…) is denied naming the step,
the argument and the parameter, never the value: before the run and at run time, on both
backends. So is one written into the ``query`` argument. Parameter names are judged whole, by
a list narrower than URL masking's: cursors (page_token) and keys of rows (sort_key) are not
credentials. At run time only the call's URL is judged, not text a reference brought.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input, build_step_input, step_call_for
from policies.step_strings import urls_in_text
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, HOST, NOON, VALUE, decide, listed
from tools.url_credentials import is_credential_query_param



@pytest.mark.parametrize("query", [
    f"api_key={VALUE}", "token=hunter2hunter2", "password=correcthorse",
    f"x=1&access_token={VALUE}",
    f"sig={VALUE}", f"client_secret={VALUE}", f"X-Amz-Signature={VALUE}", f"apiKey={VALUE}",
    f"github_token={VALUE}", f"accesstoken={VALUE}",
])
def test_a_literal_credential_in_a_url_query_is_denied_without_its_value(engine, query):
    name = query.rsplit("&", 1)[-1].partition("=")[0]
    decision = decide(engine, f"{HOST}/b?{query}")
    assert not decision.allow
    assert (f"step fetch: argument $.args.url carries a literal credential in URL parameter {name}"
            in "\n".join(decision.deny)), decision.deny
    value = query.rsplit("=", 1)[1]
    assert not any(value in line for line in decision.deny + decision.notes)


def test_the_walkthrough_url_on_a_local_port_is_listed():
    url = f"http://127.0.0.1:9009/b?api_key={VALUE}"
    assert listed({"url": url}) == [{"path": "$.args.url", "param": "api_key"}]


def test_a_credential_in_a_fragment_or_in_a_url_inside_text_is_listed_at_its_argument():
    args = {"url": f"{HOST}/cb#state=1&access_token={VALUE}",
            "json": {"note": f"see {HOST}/x?a=1;key={VALUE} and http://h/y?secret={VALUE}"}}
    assert listed(args) == [{"path": "$.args.url", "param": "access_token"},
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
    assert listed({"url": url}) == []


def test_a_value_mixing_text_and_a_secret_reference_is_listed():
    assert listed({"url": f"{HOST}/s?token=abc${{secret:A}}"}) == [
        {"path": "$.args.url", "param": "token"}]


def test_a_name_that_does_not_read_as_a_name_is_not_quoted():
    found = listed({"url": f"{HOST}/s?a=1&my%20token={VALUE}#x=1&b.token={VALUE}"})
    assert found == [{"path": "$.args.url", "param": "<query parameter 2>"},
                      {"path": "$.args.url", "param": "<fragment parameter 2>"}]


def test_a_parameter_name_that_is_itself_a_secret_is_masked(engine):
    decision = decide(engine, f"{HOST}/b?AKIAIOSFODNN7EXAMPLE_token=1")
    assert any("in URL parameter <a secret>" in line for line in decision.deny), decision.deny
    assert not any("AKIAIOSFODNN7EXAMPLE" in line for line in decision.deny)


def test_an_unparseable_host_does_not_hide_the_credential():
    assert listed({"url": f"http://[bad/b?token={VALUE}"}) == [
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
def test_a_parameter_is_listed_exactly_when_its_name_is_a_credentials(name):
    found = listed({"url": f"{HOST}/s?{name}={VALUE}"})
    assert found == ([{"path": "$.args.url", "param": name}]
                      if is_credential_query_param(name) else [])


CURSORS_AND_ROW_KEYS = ["page_token", "nextToken", "pageToken", "continuation_token",
                        "NextPageToken", "cursor_token", "sync_token", "sort_key", "primary_key",
                        "partitionKey", "idempotency_key", "object_key", "user_id", "clientId",
                        "token_id", "session_id", "code", "state", "keyword"]


@pytest.mark.parametrize("name", CURSORS_AND_ROW_KEYS)
def test_cursors_keys_of_rows_and_ids_in_a_url_are_allowed(engine, name):
    decision = decide(engine, f"{HOST}/items?{name}=eyJvZmZzZXQiOjUwMCwiaWQiOjQyfQ")
    assert decision.allow, decision.deny


@pytest.mark.parametrize("name", [
    "api_key", "apikey", "api-key", "apiKey", "access_token", "auth_token", "id_token",
    "refresh_token", "token", "secret", "client_secret", "password", "passwd", "pwd", "sig",
    "signature", "X-Amz-Signature", "key", "private_key", "session_token", "auth", "credential",
    "credentials", "github_token", "googleApiKey", "db_password", "auth[token]",
])
def test_credential_names_are_credentials(name):
    assert is_credential_query_param(name)


@pytest.mark.parametrize("name", CURSORS_AND_ROW_KEYS)
def test_cursor_key_and_id_names_are_not_credentials(name):
    assert not is_credential_query_param(name)


@pytest.mark.parametrize("name", ["key", "sig", "apiKey"])
def test_a_literal_credential_in_the_query_argument_is_denied_as_in_the_url(engine, name):
    decision = decide(engine, f"{HOST}/b", query={"page": 2, name: "AIzaSyABCDEFGHIJ"})
    assert not decision.allow
    assert (f"step fetch: argument $.args.query.{name} carries a literal credential in URL "
            f"parameter {name}" in "\n".join(decision.deny)), decision.deny
    assert not any("AIzaSyABCDEFGHIJ" in line for line in decision.deny + decision.notes)


@pytest.mark.parametrize("query", [
    {"page_token": "eyJvZmZzZXQiOjUwMH0", "sort_key": "created", "q": "sales"},
    {"key": "${secret:MAPS_KEY}", "token": ""},
    {"key": {"ref": "cfg.json.key"}},  # judged once resolved, at run time
])
def test_cursors_secret_references_and_references_in_the_query_argument_are_not_listed(query):
    plan = Plan.model_validate({"goal": "fetch it", "steps": [
        {"id": "cfg", "tool": "http.request", "args": {"url": f"{HOST}/config"}},
        {"id": "fetch", "tool": "http.request", "args": {"url": f"{HOST}/b", "query": query}}]})
    doc = build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)
    assert doc["steps"][1]["url_credentials"] == []


def test_a_resolved_query_credential_is_denied_at_run_time(engine):
    verdict = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="get", tool="http.request", effect="read",
        args={"url": "https://api.internal.example/b", "query": {"key": VALUE}},
        tags=("egress",), requester=ALICE))
    assert any("step get: argument $.args.query.key carries a literal credential in URL "
               "parameter key" in line for line in verdict.deny), verdict.deny


PAGE = (f"<a href=\"{HOST}/b?key={VALUE}\">maps</a> next: {HOST}/list?page_token=abc "
        f"callback https://app.example/cb#access_token={VALUE}")


def test_a_copied_web_page_holding_credential_urls_may_be_written_at_run_time(engine):
    plan = Plan.model_validate({"goal": "copy page.html", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "page.html"}},
        {"id": "save", "tool": "files.write",
         "args": {"path": "page-copy.html", "text": {"ref": "load.text"}}}]})
    call = step_call_for(plan, "save", {"path": "page-copy.html", "text": PAGE},
                         policy_registry(), run_id="r-1", plan_id="p-1", requester=ALICE)
    assert build_step_input(call)["step"]["url_credentials"] == []
    assert engine.check_step(call).allow


def test_a_run_time_url_is_judged_wherever_other_arguments_repeat_it(engine):
    # Strings repeated under the same key are scanned once; the URL argument is still judged.
    url = f"{HOST}/b?token={VALUE}"
    verdict = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="get", tool="http.request", effect="read",
        args={"json": {"url": url}, "url": url}, tags=("egress",), requester=ALICE))
    assert any("argument $.args.url carries a literal credential in URL parameter token" in line
               for line in verdict.deny), verdict.deny


def test_a_credential_url_written_in_the_plan_text_is_still_denied_before_the_run(engine):
    plan = Plan.model_validate({"goal": "save", "steps": [{
        "id": "save", "tool": "files.write", "args": {"path": "p.html", "text": PAGE}}]})
    decision = engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                                context=NOON))
    found = "\n".join(decision.deny)
    assert "argument $.args.text carries a literal credential in URL parameter key" in found
    assert "URL parameter access_token" in found and "page_token" not in found


@pytest.mark.parametrize(("text", "count"), [
    ("a" * 200_000 + " https://x/b?token=1", 1),
    ("://" * 70_000, 0),
    ("a://" * 50_000, 1),
    ("a" * 100_000 + "://" + "b" * 100_000, 1),
])
def test_urls_are_found_in_long_texts_in_one_pass(text, count):
    # A scheme regex restarted at every letter took 6.7 s on 80,000 letters; the timing is
    # bench_policy's to report, this runs the shapes that were slow.
    assert len(list(urls_in_text(text))) == count


SCHEME_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


@given(st.text(alphabet="ab1+.-:/ ?=&#\"'<é", max_size=40))
def test_urls_in_text_finds_what_the_scheme_pattern_finds(text):
    assert list(urls_in_text(text)) == [m.group() for m in SCHEME_URL.finditer(text)]


def test_urls_in_text_are_found_as_the_scheme_pattern_finds_them():
    text = "see ftp://h/a, 1://no, x+y.z://h/?q=1 'https://q/x?a=b' and  :// alone"
    assert list(urls_in_text(text)) == ["ftp://h/a,", "x+y.z://h/?q=1", "https://q/x?a=b"]

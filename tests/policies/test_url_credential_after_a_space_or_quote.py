"""A space, a quote, an apostrophe, ``<`` or ``>`` earlier in a URL does not hide a credential
written after it: the HTTP client percent-encodes the character and sends the rest, so the
``url`` argument is judged whole, before the run and at run time, on both backends, and a URL
in free text is read to the end of its line.
"""

from __future__ import annotations

import pytest

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, HOST, NOON, VALUE, decide

BEFORE_THE_CREDENTIAL = {
    "an apostrophe": f"{HOST}/search?q=O'Brien&access_token={VALUE}",
    "a space": f"{HOST}/search?q=a b&access_token={VALUE}",
    "quotes": f'{HOST}/search?q="x"&api_key={VALUE}',
    "angle brackets": f"{HOST}/search?q=<b>&token={VALUE}",
    "a tab in the path": f"{HOST}/a\tb;jsessionid={VALUE}",
    "a space in a fragment": f"{HOST}/cb#state=a b&access_token={VALUE}",
}


def _name(url: str) -> str:
    return url.rpartition("=")[0].rpartition("&")[2].rpartition(";")[2]


def _check(engine, **args):
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="get", tool="http.request", effect="read",
        args=args, tags=("egress",), requester=ALICE))


def _plan_input(tool: str, args: dict) -> dict:
    plan = Plan.model_validate({"goal": "do it", "steps": [{"id": "s", "tool": tool, "args": args}]})
    return build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)


@pytest.mark.parametrize("url", BEFORE_THE_CREDENTIAL.values(), ids=BEFORE_THE_CREDENTIAL.keys())
def test_a_credential_after_a_space_or_quote_in_the_url_is_denied_before_the_run(engine, url):
    decision = decide(engine, url)
    assert not decision.allow
    assert (f"step fetch: argument $.args.url carries a literal credential in URL parameter "
            f"{_name(url)}" in "\n".join(decision.deny)), decision.deny
    assert not any(VALUE in line for line in decision.deny + decision.notes)


@pytest.mark.parametrize("url", BEFORE_THE_CREDENTIAL.values(), ids=BEFORE_THE_CREDENTIAL.keys())
def test_a_credential_after_a_space_or_quote_in_the_url_is_denied_at_run_time(engine, url):
    verdict = _check(engine, url=url)
    assert any(f"step get: argument $.args.url carries a literal credential in URL parameter "
               f"{_name(url)}" in line for line in verdict.deny), verdict.deny


def test_the_url_argument_is_judged_whole_where_a_repeat_of_it_came_first(engine):
    # Strings repeated under the same key are scanned once: here the first is json.url's.
    url = f"{HOST}/search?q=O'Brien&access_token={VALUE}"
    doc = _plan_input("http.request", {"json": {"url": url}, "url": url})
    assert {"path": "$.args.url", "param": "access_token"} in doc["steps"][0]["url_credentials"]


@pytest.mark.parametrize("text", [
    f"see {HOST}/search?q=O'Brien&access_token={VALUE} for the results",
    f"<a href='{HOST}/search?q=\"x\"&api_key={VALUE}'>results</a>",
    f"first line\ncurl '{HOST}/search?q=a b&token={VALUE}' -o out\nlast line",
])
def test_a_credential_after_a_space_or_quote_in_a_url_in_text_is_denied_before_the_run(
        engine, text):
    decision = engine.decide(_plan_input("files.write", {"path": "notes.txt", "text": text}))
    assert any("step s: argument $.args.text carries a literal credential in URL parameter"
               in line for line in decision.deny), decision.deny
    assert not any(VALUE in line for line in decision.deny + decision.notes)


@pytest.mark.parametrize("text", [
    f"curl \"{HOST}/x?token=${{secret:HOOK_TOKEN}}\" -o out.json",
    f"<a href='{HOST}/x?key=${{secret:MAPS_KEY}}'>map</a> & key=",
    f"{HOST}/list?page_token=abc and then <b>sort_key=name</b>; q=it's fine",
    f"a line with {HOST}/a?q=1\nand token=not-a-url-on-another-line&x=1",
])
def test_a_url_in_text_read_to_the_end_of_its_line_lists_no_secret_reference_nor_cursor(text):
    assert _plan_input("files.write", {"path": "n.txt", "text": text})["steps"][0][
        "url_credentials"] == []

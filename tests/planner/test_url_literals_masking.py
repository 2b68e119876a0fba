"""Masking the credentials written into URLs: exactly the values the policy rule refuses are
hidden as ``***``, their names kept, so that the masked plan is refused for the same
parameters at the same places (the policy judges the plan as stored) and nothing else changes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.url_literals import hide_url_literals, masked_args, masked_text
from policies.step_strings import scanned_strings
from tests.support.url_credential_cases import ENCODED, HOST, VALUE, listed


def _refused(args: dict) -> list[dict]:
    """What the policy refuses in ``args`` before the run (the URL-credential rule's list)."""
    return scanned_strings(args, plan_strings_before=0)["url_credentials"]


@pytest.mark.parametrize(("url", "param"), ENCODED.values(), ids=ENCODED.keys())
def test_each_url_the_rule_refuses_is_masked_and_still_refused_for_the_same_parameter(url, param):
    for args in ({"url": url}, {"text": f"see {url} today\nthanks"}, {"json": {"u": [url]}}):
        masked = masked_args(args)
        assert VALUE not in json.dumps(masked)
        assert listed(masked) == listed(args) and listed(args)
        assert _refused(masked) == _refused(args)


@pytest.mark.parametrize("url", [
    f"{HOST}/s?keyword=sales&author=bob&design=x&monkey=banana&session=spring-2025&token_id=7",
    f"{HOST}/items?page_token=eyJvIjo1MH0&nextToken=AAMA&sort_key=created&idempotency_key=9f1c",
    f"{HOST}/s?api_key=${{secret:HOOK_TOKEN}}&token=",
    f"{HOST}/cars;color=red;year=2020/list;session=spring?q=a&b=c#top",
    "api_key=loose text, not a URL",
])
def test_what_the_rule_does_not_refuse_is_left_as_written(url):
    args = {"url": url, "text": f"see {url}"}
    assert masked_args(args) == args
    assert hide_url_literals(url) == url


def test_in_text_a_value_ends_where_the_rule_ends_it():
    text = f'go to {HOST}/b?token="{VALUE}" or {HOST}/c?key={VALUE} now\nthen stop'
    assert masked_text(text) == f'go to {HOST}/b?token="***" or {HOST}/c?key=*** now\nthen stop'


def test_the_url_argument_is_read_whole_as_the_client_sends_it():
    url = f"{HOST}/b?token=a b{VALUE}&page=2"
    assert masked_args({"url": url}) == {"url": f"{HOST}/b?token=***&page=2"}


def test_the_query_argument_is_masked_as_the_same_parameters_in_the_url():
    args = {"url": f"{HOST}/b", "query": {"token": VALUE, "q": f"sales&api_key={VALUE}",
                                           "page": 2, "sort_key": "created", "pin": 12345678,
                                           "api_key": "${secret:K}"}}
    masked = masked_args(args)
    assert masked["query"] == {"token": "***", "q": "sales&api_key=***", "page": 2,
                               "sort_key": "created", "pin": 12345678, "api_key": "${secret:K}"}
    assert _refused(masked) == _refused(args)
    numeric = {"url": f"{HOST}/b", "query": {"password": 12345678}}
    assert masked_args(numeric)["query"] == {"password": "***"}
    assert _refused(masked_args(numeric)) == _refused(numeric)


def test_references_and_keys_are_kept():
    args = {"url": {"ref": "a.url"}, "headers": {"X-Token": "${secret:T}"},
            "json": {f"{HOST}/b?token={VALUE}": 1}}
    masked = masked_args(args)
    assert masked["url"] == {"ref": "a.url"} and masked["headers"] == {"X-Token": "${secret:T}"}
    assert masked["json"] == {f"{HOST}/b?token=***": 1}


_NAMES = st.sampled_from(["token", "api_key", "apiKey", "pass%2577ord", "page_token", "sort_key",
                          "q", "jsessionid", "x", "session", "access_token", "key", "a%26token",
                          "api_key%3D", "x%3Btoken%3D", "auth[token]", "%23token"])
_VALUES = st.text(alphabet="abcXYZ019-_.%~+=&;#?/ \"'<>2536DF${}:", min_size=0, max_size=14)
_SEPARATORS = st.sampled_from(["&", ";", "#", "?", "/"])


def _paths(args: dict) -> set[str]:
    return {found["path"] for found in _refused(args)}


@given(st.lists(st.tuples(_NAMES, _VALUES, _SEPARATORS), min_size=1, max_size=5),
       st.sampled_from(["url", "text", "query"]))
def test_masking_leaves_every_refused_argument_refused(params, where):
    """Where the rule refused an argument, it still does: the plan is still denied there (a
    value masked whole may hide what the rule also read inside it once decoded)."""
    query = "".join(f"{sep}{name}={value}" for name, value, sep in params)
    url = f"{HOST}/p?{query[1:]}"
    args = {"url": url} if where == "url" else {"text": f"see {url}"}
    if where == "query":
        args = {"url": HOST, "query": {name: value for name, value, _ in params}}
    masked = masked_args(args)
    assert _paths(args) <= _paths(masked)
    assert masked_args(masked) == masked  # masking twice changes nothing more


def test_a_value_masked_whole_leaves_its_argument_refused():
    args = {"url": f"{HOST}/p?token=%23/token={VALUE}"}
    assert masked_args(args) == {"url": f"{HOST}/p?token=***"}
    assert _paths(masked_args(args)) == _paths(args) == {"$.args.url"}

"""``hidden_values``: the values masking hid in a plan's arguments, read where the masked text
shows ``***`` (in the text decoded where masking wrote it again), eight characters or more."""

from __future__ import annotations

import pytest

from planner.url_literals import masked_args
from planner.url_splices import hidden_values

API = "https://api.example.com/report"


@pytest.mark.parametrize(("args", "hidden"), [
    ({"url": f"{API}?a=1&token=SECRETONE1&api_key=SECRETTWO2#x"}, ["SECRETONE1", "SECRETTWO2"]),
    ({"url": "https://ops:USERSECRET9@api.example.com/x"}, ["USERSECRET9"]),
    ({"url": f"{API}?q=a%26token%3DDECODEDSECRET"}, ["DECODEDSECRET"]),
    ({"url": f"{API}?token=SPACED%20SECRET"}, ["SPACED%20SECRET", "SPACED SECRET"]),
    ({"body": '{"cb": "https:\\/\\/hooks.example.com\\/in?token=BODYSECRET1"}'},
     ["BODYSECRET1"]),
    ({"query": {"token%3DNAMESECRET1&format": "json", "accept": "application/json"}},
     ["NAMESECRET1"]),
    ({"url": f"{API}?token=short"}, []),
], ids=["query", "user information", "decoded", "percent-encoded", "JSON body", "entry name",
        "short"])
def test_the_values_masking_hid_are_found(args, hidden):
    assert hidden_values(args, masked_args(args)) == hidden

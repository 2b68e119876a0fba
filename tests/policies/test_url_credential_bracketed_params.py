"""A literal credential in a URL parameter written with brackets (``?access_token[0]=…``) is
denied as the bare name is, before the run and at run time, on both backends, naming the
parameter and never the value; so is one in the ``query`` argument."""

from __future__ import annotations

import pytest

from policies.contracts import StepCall
from tests.support.url_credential_cases import ALICE, HOST, VALUE, decide


@pytest.mark.parametrize("name", [
    "access_token[0]", "api_key[0]", "token[1]", "key[0]", "password[0]", "client_secret[0]",
    "access_token[x]", "auth[api_key][0]",
])
def test_a_bracketed_credential_in_a_url_is_denied_before_the_run(engine, name):
    decision = decide(engine, f"{HOST}/b?{name}={VALUE}")
    assert not decision.allow
    assert (f"step fetch: argument $.args.url carries a literal credential in URL parameter {name}"
            in "\n".join(decision.deny)), decision.deny
    assert not any(VALUE in line for line in decision.deny)


def test_a_bracketed_credential_in_the_query_argument_is_denied(engine):
    decision = decide(engine, f"{HOST}/b", query={"access_token[0]": VALUE})
    assert not decision.allow
    assert ("step fetch: argument $.args.query.<key 1> carries a literal credential in URL "
            "parameter access_token[0]" in "\n".join(decision.deny)), decision.deny


def test_a_bracketed_credential_in_a_resolved_url_is_denied_at_run_time(engine):
    decision = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="fetch", tool="http.request", effect="read",
        args={"url": f"{HOST}/b?access_token[0]={VALUE}"}, tags=("egress",), requester=ALICE))
    assert not decision.allow
    assert "literal credential in URL parameter access_token[0]" in "\n".join(decision.deny)


def test_an_index_on_an_ordinary_name_is_allowed(engine):
    decision = decide(engine, f"{HOST}/b?ids[0]=7&filter[name]=bob&page_token[0]={VALUE}")
    assert not decision.deny


def test_a_bracketed_name_that_does_not_read_as_a_name_is_not_quoted(engine):
    decision = decide(engine, f"{HOST}/b?token[{VALUE}!]={VALUE}")
    assert "in URL parameter <query parameter 1>" in "\n".join(decision.deny), decision.deny

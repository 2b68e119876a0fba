"""``policies.residency.step_region`` places a call where the rules' ``step_region`` does.

The executor judges a read at run time only when the engines' ``step_region`` places it in a
region: a case where the Python reading of the data found no region and the rules found one
would let data of another region reach that read unjudged. Each case is asked of both.
"""

from __future__ import annotations

import pytest

from policies.bundle import PolicyBundle
from policies.contracts import StepCall
from policies.embedded import EmbeddedEngine
from policies.hosts import url_host
from policies.opa import OpaEngine
from policies.residency import UnknownRegion, step_region
from tests.support.fake_opa import FakeOpa
from tests.support.url_credential_cases import ALICE

DATA = {
    "tool_regions": {"crm.lookup": "us", "crm.eu": "eu"},
    "host_regions": {"*.EU.example.com.": "eu", "crm.US.example.com": "us",
                     "*.apac.example.com": "apac", "api.apac.example.com": "apac",
                     "*.example.org": "eu", "x.example.org": "us"},
}

# (tool, URL the call goes to, region the tool declares, where the rules place the call)
CASES = [
    ("crm.lookup", None, None, "us"),
    ("crm.lookup", "https://crm.eu.example.com/x", None, "us"),  # the data's tool entry first
    ("crm.lookup", None, "eu", "us"),
    ("crm.eu", "https://crm.us.example.com/x", "us", "eu"),
    ("other", "https://crm.eu.example.com/x", None, "eu"),  # pattern in capitals, trailing dot
    ("other", "https://CRM.Eu.Example.com./x", None, "eu"),
    ("other", "https://eu.example.com/x", None, None),  # *.domain is sub-domains only
    ("other", "https://crm.us.example.com/x", "eu", "us"),  # the host before the tool's own
    ("other", "https://a.crm.us.example.com/x", None, None),  # an exact host is exact
    ("other", "https://api.apac.example.com/x", None, "apac"),  # two patterns, one region
    ("other", "https://bücher.eu.example.com/x", None, "eu"),  # judged in its IDNA form
    ("other", "https://api.internal.example/x", "eu", "eu"),
    ("other", "https://api.internal.example/x", None, None),
    ("other", None, "eu", "eu"),
    ("other", None, None, None),
    ("other", "not a url", None, None),
]


@pytest.fixture(scope="module", params=["embedded", "opa"])
def engine(request):
    """Each backend, judging with the shipped rules and ``DATA``."""
    bundle = PolicyBundle.load(overrides=DATA)
    if request.param == "embedded":
        yield EmbeddedEngine(bundle)
        return
    with FakeOpa() as server:
        yield OpaEngine(bundle, server.url, timeout_s=60.0)


def _rules_region(engine, tool: str, url: str | None, declared: str | None) -> str | None:
    # Data of region "zz" reaching a read leaves its region exactly when the rules place the
    # read in a region, and the deny names that region.
    decision = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="look", tool=tool, effect="read",
        args={"url": url} if url is not None else {}, region=declared, requester=ALICE,
        source_regions=("zz",)))
    prefix = f"step look: data from region zz would go to tool {tool} in region "
    regions = [d.removeprefix(prefix) for d in decision.deny if d.startswith(prefix)]
    assert len(regions) == len(decision.deny) <= 1, decision.deny
    return regions[0] if regions else None


@pytest.mark.parametrize(("tool", "url", "declared", "placed"), CASES)
def test_python_and_the_rules_place_a_call_alike(engine, tool, url, declared, placed):
    assert _rules_region(engine, tool, url, declared) == placed
    assert engine.step_region(tool, url_host(url), declared) == placed


def test_a_host_of_patterns_of_two_regions_is_not_placed_by_guess():
    # The rules' host_region has two answers there: unknown, so the executor judges the call.
    with pytest.raises(UnknownRegion):
        step_region(DATA, "other", "x.example.org", None)


@pytest.mark.parametrize("data", [{"tool_regions": ["crm.lookup"]}, {"host_regions": "eu"},
                                  {"host_regions": {2: "eu"}}])
def test_data_of_another_shape_is_unknown_not_no_region(data):
    with pytest.raises(UnknownRegion):
        step_region(data, "other", "crm.eu.example.com", None)


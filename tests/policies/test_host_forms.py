"""A host is judged by one spelling however the URL writes it, the one the connection goes to.

The rules compare hosts with the patterns of ``host_regions``, ``egress_allowlist`` and
``secret_destinations`` as text. A host the client reaches under another spelling matched
none of them, so residency placed it in no region: a trailing ideographic full stop
(``crm.us.example.com。``, which IDNA maps to a trailing dot after the dot was stripped), an
IPv6 address not in its compressed form (``[2001:DB8:0:0:0:0:0:1]``), and IPv4 addresses in
the forms the resolver reads (``3405803781``, ``0xcb.0.113.5``, ``203.0.29445``: inet_aton's).
Both engines read the host from the input Python builds (``policies.hosts.url_host``), so
they judge the one spelling alike.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.settings_policy_data import policy_data_problems
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.hosts import url_host
from policies.inputs import build_policy_input
from policies.opa import OpaEngine
from tests.executor.test_runtime_residency_policy_regions import _registry
from tests.support.fake_opa import FakeOpa
from tests.support.url_credential_cases import ALICE, NOON

US_HOST_FORMS = [
    "https://crm.us.example.com\u3002/lookup",  # ideographic full stop
    "https://crm.us.example.com\uff0e/lookup",  # fullwidth full stop
    "https://crm.us.example.com\uff61/lookup",  # halfwidth ideographic full stop
    "https://crm\u3002us.example.com\u3002/lookup",
    "https://CRM.us.example.com./lookup",
]
IPV6_FORMS = ["http://[2001:db8::1]/x", "http://[2001:DB8:0:0:0:0:0:1]/x",
              "http://[2001:db8::0:1]/x", "http://[2001:0db8:0000::0001]:8080/x"]
IPV4_FORMS = ["http://203.0.113.5/x", "http://3405803781/x", "http://0xcb.0.113.5/x",
              "http://0XCB.0.113.5/x", "http://0313.0.0161.5/x", "http://203.0.113.005/x",
              "http://203.0.28933/x", "http://203.28933/x", "http://0xcb007105/x",
              "http://203.0.113.5./x", "http://[::ffff:203.0.113.5]/x",
              "http://[::FFFF:cb00:7105]/x"]


@pytest.mark.parametrize("url", US_HOST_FORMS)
def test_a_host_written_with_another_full_stop_is_judged_by_its_name(url):
    assert url_host(url) == "crm.us.example.com"


@pytest.mark.parametrize("url", IPV6_FORMS)
def test_an_ipv6_host_is_judged_in_its_compressed_form(url):
    assert url_host(url) == "2001:db8::1"


@pytest.mark.parametrize("url", IPV4_FORMS)
def test_an_ipv4_host_is_judged_in_dotted_decimal_as_the_resolver_reads_it(url):
    assert url_host(url) == "203.0.113.5"


@pytest.mark.parametrize(("url", "host"), [
    ("http://203.0.113.010/x", "203.0.113.8"),  # a leading zero is octal to the resolver
    ("http://203.0.29445/x", "203.0.115.5"),  # the last part fills the bytes left
    ("http://1.2.3.4.5/x", "1.2.3.4.5"),  # not an address: a name, as written
    ("http://08.1.1.1/x", "08.1.1.1"),  # 8 is no octal digit: a name
    ("http://1.2.3.256/x", "1.2.3.256"),  # too large for its byte: a name
    ("http://0x/x", "0x"),
    ("http://4294967296/x", "4294967296"),
    ("http://[fe80::1%25eth0]/x", "fe80::1%25eth0"),  # a zone: kept as written
    ("http://api.internal.example/x", "api.internal.example"),
    ("http://" + "0" * 5000 + "1.2.3.4/x", "1.2.3.4"),  # leading zeros: octal, as written
    ("http://" + "9" * 5000 + "/x", "9" * 5000),  # no address: no int() of it either
    ("http://123.example/x", "123.example"),
])
def test_what_is_an_address_to_the_resolver_and_what_is_a_name(url, host):
    assert url_host(url) == host


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's inet_aton")
@given(st.text(alphabet="0123456789abcdefxX.", max_size=24))
def test_an_ipv4_form_is_read_as_inet_aton_reads_it(text):
    # The resolver (getaddrinfo) reads a numeric host with inet_aton; a trailing dot is
    # dropped from every host first.
    name = text.lower().rstrip(".")
    try:
        expected = socket.inet_ntoa(socket.inet_aton(name)) if name else None
    except OSError:
        expected = name  # not an address: a name, kept as written
    assert url_host(f"http://{text}/x") == expected


@pytest.fixture(scope="module", params=["embedded", "opa"])
def engine(request):
    """Each backend, the shipped rules with an IP of each family placed in the US."""
    bundle = PolicyBundle.load(overrides={
        "host_regions": {"*.eu.example.com": "eu", "*.us.example.com": "us",
                         "2001:db8::1": "us", "203.0.113.5": "us"},
        "egress_allowlist": ["*.eu.example.com", "api.internal.example"]})
    if request.param == "embedded":
        yield EmbeddedEngine(bundle)
        return
    with FakeOpa() as server:
        yield OpaEngine(bundle, server.url, timeout_s=60.0)


def _decide(engine, dest: str, tool: str = "crm.find", **args: Any):
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "fetch", "tool": "http.request",
         "args": {"url": "https://data.eu.example.com/customers"}},
        {"id": "look", "tool": tool, "args": {**args, "url": dest}}]})
    return engine.decide(build_policy_input(plan, _registry([]), requester=ALICE, context=NOON))


@pytest.mark.parametrize("dest", [*US_HOST_FORMS, *IPV6_FORMS, *IPV4_FORMS])
def test_eu_data_may_not_reach_a_us_host_however_it_is_written(engine, dest):
    decision = _decide(engine, dest, segment={"ref": "fetch.text"})
    assert "step look: data from step fetch (region eu) would go to tool crm.find in region us" \
        in decision.deny, decision.deny
    assert engine.step_region("crm.find", url_host(dest), None) == "us"


@pytest.mark.parametrize("dest", ["http://0xcb.0.113.5/x", "http://3405803781/x"])
def test_the_egress_allowlist_judges_an_address_by_its_one_spelling(engine, dest):
    decision = _decide(engine, dest, tool="http.request", method="POST")
    assert "step look: host 203.0.113.5 is not on the egress allowlist" in decision.deny, \
        decision.deny


@pytest.mark.parametrize(("pattern", "judged"), [
    ("[2001:db8::1]", "2001:db8::1"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("::ffff:203.0.113.5", "203.0.113.5"),
    ("3405803781", "203.0.113.5"),
    ("0xcb.0.113.5", "203.0.113.5"),
    ("203.0.28933", "203.0.113.5"),
])
@pytest.mark.parametrize("place", ["egress_allowlist", "host_regions", "secret_destinations"])
def test_settings_refuse_an_ip_pattern_written_as_no_host_is_judged(pattern, judged, place):
    # Hosts are judged in one spelling: such a pattern matched nothing, so a host_regions
    # entry placed no data in its region and an allowlist entry let no call through.
    data = {"egress_allowlist": [pattern], "host_regions": {pattern: "eu"},
            "secret_destinations": {"HOOK_TOKEN": [pattern]}}[place]
    problems = policy_data_problems({place: data})
    assert len(problems) == 1, problems
    assert f"here {judged!r}" in problems[0][1] and "would match no host" in problems[0][1]


@pytest.mark.parametrize("pattern", ["203.0.113.5", "2001:db8::1", "2001:DB8::1", "203.0.113.5.",
                                     "127.0.0.1", "1password.com", "*.10.example", "localhost"])
def test_settings_accept_patterns_in_the_spelling_hosts_are_judged_in(pattern):
    assert policy_data_problems({"egress_allowlist": [pattern],
                                 "host_regions": {pattern: "eu"}}) == []

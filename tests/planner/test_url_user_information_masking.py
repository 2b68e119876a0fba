"""Masking the user information written into URLs (``https://user:PASSWORD@host``,
``https://TOKEN@host``): shown exactly as logs show it (``hide_url_credentials``: ``user:***@``,
a user alone in an http(s) URL as ``***@``), so that the masked plan is denied for the same
reasons on both engines: the rule against user information in the URL a step calls, and the
secret pattern for a password inside a URL. No password nor token is left."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.plan import Plan
from planner.url_literals import (
    MASK,
    hide_user_information,
    holds_user_credentials,
    masked_args,
    masked_text,
)
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input, url_facts
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON
from tools.url_credentials import hide_url_credentials

PASSWORD = "hunter3hunter3"
TOKEN = "tq8Kz2LmZx9Pw3RtY7vBn"
HOST = "api.internal.example"


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return PolicyBundle.load()


@pytest.fixture(scope="module", params=["embedded", "opa"])
def engine(request, bundle):
    """Each backend in turn: embedded regopy, then the OPA client against the fake server."""
    if request.param == "embedded":
        yield EmbeddedEngine(bundle)
        return
    with FakeOpa() as server:
        yield OpaEngine(bundle, server.url, timeout_s=60.0)


def _deny(engine, args: dict) -> list[str]:
    """``engine``'s reasons to deny a plan that fetches with ``args`` and notes its url."""
    plan = Plan.model_validate({"goal": "fetch it", "steps": [
        {"id": "fetch", "tool": "http.request", "args": args},
        {"id": "note", "tool": "files.write",
         "args": {"path": "n.txt", "text": f"from {args['url']}\nthanks"}}]})
    decision = engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                                context=NOON))
    assert not decision.allow
    return sorted(decision.deny)


CASES = {
    "a password": (f"https://bob:{PASSWORD}@{HOST}/b", f"https://bob:***@{HOST}/b"),
    "a token as the user": (f"https://{TOKEN}@{HOST}/b", f"https://***@{HOST}/b"),
    "a user name alone": (f"https://alice@{HOST}/b", f"https://***@{HOST}/b"),
    "an empty password": (f"https://bob:@{HOST}/b", f"https://bob:@{HOST}/b"),
    "a database user": (f"postgresql://alice@{HOST}/sales", f"postgresql://alice@{HOST}/sales"),
    "a database password": (f"postgresql://alice:{PASSWORD}@{HOST}/sales",
                            f"postgresql://alice:***@{HOST}/sales"),
    "an at sign in the password": (f"https://bob:{PASSWORD}@x@{HOST}/b",
                                   f"https://bob:***@{HOST}/b"),
    "a scheme in capitals": (f"HTTPS://bob:{PASSWORD}@{HOST}/b", f"HTTPS://bob:***@{HOST}/b"),
    "a port and a query token": (f"https://bob:{PASSWORD}@{HOST}:8443/b?token={TOKEN}&page=2",
                                 f"https://bob:***@{HOST}:8443/b?token=***&page=2"),
    "a URL inside the query": (f"https://{HOST}/b?next=https://bob:{PASSWORD}@{HOST}/c",
                               f"https://{HOST}/b?next=https://bob:***@{HOST}/c"),
}


@pytest.mark.parametrize(("url", "masked"), CASES.values(), ids=CASES.keys())
def test_user_information_is_masked_and_denied_for_the_same_reasons(engine, url, masked):
    args = {"method": "GET", "url": url}
    assert masked_args(args) == {"method": "GET", "url": masked}
    assert masked_text(f"see {url} today\nthen") == f"see {masked} today\nthen"
    assert PASSWORD not in masked and TOKEN not in masked
    assert _deny(engine, masked_args(args)) == _deny(engine, args)


@pytest.mark.parametrize("url", [url for url, _ in CASES.values() if "?" not in url
                                 and ":@" not in url])
def test_user_information_is_shown_as_logs_show_it(url):
    scheme = url.partition("://")[0]  # logs show it in lower case; kept as written
    assert hide_user_information(url) == scheme + hide_url_credentials(url)[len(scheme):]


def test_in_text_a_url_ends_at_white_space():
    text = (f"see https://{HOST} or write bob@{HOST}, then https://bob:{PASSWORD}@{HOST}/b "
            f"and https://{TOKEN}@{HOST}\nssh://git@{HOST}/repo")
    assert masked_text(text) == (f"see https://{HOST} or write bob@{HOST}, then "
                                 f"https://bob:***@{HOST}/b and https://***@{HOST}\n"
                                 f"ssh://git@{HOST}/repo")


def test_what_carries_no_user_information_is_left_as_written():
    for text in (f"mail bob@{HOST}", f"https://{HOST}/b?to=bob@{HOST}#x@y", "a://", "@://x@y",
                 f"https://@{HOST}/b"):
        assert masked_text(text) == text
        assert masked_args({"url": text}) == {"url": text}


def test_what_it_cannot_read_is_hidden_whole():
    """urlsplit refuses a bracket in the authority; a credential's parameter written inside the
    user information is hidden with its "@": all of it is hidden, a colon kept."""
    assert hide_user_information(f"https://b[ob:{PASSWORD}@{HOST}/b") == f"https://***:***@{HOST}/b"
    assert hide_user_information(f"https://b;token={TOKEN}@{HOST}/b") == f"https://***@{HOST}/b"
    assert hide_user_information(f"https://:[@{HOST}/b") == f"https://:***@{HOST}/b"
    # urlsplit takes line breaks out of the url argument: there is no "://" to find it by.
    assert masked_args({"url": f"https:\n//bob:{PASSWORD}@{HOST}/b"}) == {"url": MASK}


def test_a_step_holding_user_credentials_or_their_mask_is_held():
    for held in ({"url": f"https://***@{HOST}/b"}, {"text": f"see https://bob:***@{HOST}"},
                 {"url": f"https://bob:{PASSWORD}@{HOST}/b"}, {"json": [f"https://{TOKEN}@h"]}):
        assert holds_user_credentials(held)
    for free in ({"url": f"https://{HOST}/b"}, {"url": f"postgresql://alice@{HOST}/s"},
                 {"text": f"mail bob@{HOST}"}, {"url": {"ref": "a.url"}}):
        assert not holds_user_credentials(free)


_PASSWORD_IN_URL = re.compile(next(
    pattern["pattern"] for pattern in PolicyBundle.load().data["secret_patterns"]
    if pattern["kind"] == "a password inside a URL"))


@given(st.sampled_from(["https", "HTTP", "postgresql", "ftp"]),
       st.text(alphabet="ab9:@;&=%40[] \t\n/?#_", min_size=0, max_size=16),
       st.sampled_from(["", "/p", "/p?token=x1y2z3w4&q=1", ":8080", "?next=https://c:d@e"]))
def test_no_password_nor_token_is_left_and_the_refusals_stay(scheme, userinfo, rest):
    url = f"{scheme}://{userinfo}@{HOST}{rest}"
    masked = masked_args({"url": url})["url"]
    assert masked_args({"url": masked})["url"] == masked  # masking twice changes nothing more
    before, after = url_facts(url), url_facts(masked)
    if before["scheme"] and masked != MASK:  # else the version is stored invalid (below)
        assert after == before
    try:
        parts = urlsplit(masked.strip())
    except ValueError:
        parts = None
    if parts is not None and parts.username is not None:
        assert parts.password in (None, "", MASK)
        if parts.password is None and parts.scheme in ("http", "https"):
            assert parts.username in ("", MASK)
    # Still a password inside a URL to the secret patterns, in the url and in text. (A
    # password only the pattern misreads, "u:@x@", reads as one once hidden: u:***@.)
    for written, shown in ((url, masked), (f"see {url}", masked_text(f"see {url}"))):
        if shown != MASK and _PASSWORD_IN_URL.search(written):
            assert _PASSWORD_IN_URL.search(shown)


def test_the_prompt_form_of_a_plan_is_masked_too():
    """What the model is shown of an earlier plan is its wire form, masked as a document."""
    from planner.url_literals import masked_document

    document = {"goal": f"fetch https://bob:{PASSWORD}@{HOST}/b", "steps": [
        {"id": "fetch", "tool": "http.request", "why": f"read https://{TOKEN}@{HOST}/c",
         "args": {"url": f"https://bob:{PASSWORD}@{HOST}/b"}}]}
    shown = json.dumps(masked_document(document))
    assert PASSWORD not in shown and TOKEN not in shown
    assert f"https://bob:***@{HOST}/b" in shown and f"https://***@{HOST}/c" in shown


def test_an_earlier_plan_feedback_and_reason_reach_the_model_masked(openai_server):
    from planner.base import PlanningError
    from planner.llm import LLMConfig, LLMPlanner
    from tests.support.openai_server import Completion
    from tools import ToolRegistry

    registry = ToolRegistry()

    @registry.tool("http.request", effect="write")
    def request(url: str, method: str = "GET") -> dict:
        """Call a URL."""
        return {}

    openai_server.script(Completion(content=None, refusal="no"))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0))
    previous = Plan.model_validate({"goal": f"fetch https://bob:{PASSWORD}@{HOST}/b", "steps": [
        {"id": "get", "tool": "http.request", "why": f"reads https://{TOKEN}@{HOST}/c",
         "args": {"url": f"https://bob:{PASSWORD}@{HOST}/b"}}]})
    with pytest.raises(PlanningError):
        planner.revise(previous, f"use https://{TOKEN}@{HOST}/x instead", registry,
                       rejection=f"not https://eve:{PASSWORD}@{HOST}/y")
    (sent,) = openai_server.requests
    assert PASSWORD not in json.dumps(sent) and TOKEN not in json.dumps(sent)
    user = sent["messages"][1]["content"]
    assert user.startswith(f"Goal: fetch https://bob:***@{HOST}/b\n")
    shape = json.loads(user.split("A previous plan for this goal:\n")[1].split("\n\nFeedback")[0])
    (step,) = shape["steps"]
    assert json.loads(step["args_json"]) == {"url": f"https://bob:***@{HOST}/b"}
    assert step["why"] == f"reads https://***@{HOST}/c"
    assert f"Feedback on it:\nuse https://***@{HOST}/x instead\n" in user
    assert f"The approver rejected it: not https://eve:***@{HOST}/y" in user

"""A long object key can neither crash the policy engine nor hide a sensitive key name.

The key-word rule read the nearest key of each random-looking value with ``regex.find_n``
whole: a key of 40,000 letters overflowed the stack of rego-cpp's regex matcher and killed
the process (``baton policy eval`` exited 139; a POST to ``/api/v1/policy/decision`` took
``baton serve`` down), and a key of many short words took seconds per key. A key longer than
a window reaches the rules as its last characters with its runs of separators made one
(``key``, where the ending rule reads a name such as ``pwd``) and as all its letters and
digits lower-cased (``key_flat``, where a word such as ``password`` is looked for).

Plans are judged in a child process here, so a regression fails these tests instead of
killing pytest; keys short enough not to crash are judged in this process too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input, build_step_input
from policies.long_strings import KEY_WINDOW, windowed_input
from tests.support.computed_once import computed_once
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

ROOT = Path(__file__).resolve().parents[2]
URL = "https://api.internal.example/in"
RANDOM = "Zk3x9QpL7mN2vB8cR4tY"

# Judges each key (with RANDOM under it) as a plan and as one call at run time, on the engine
# named by argv[1]; prints one line per key: RESULT and the plan's and the call's denies.
CHILD = r'''
import json, sys
from datetime import UTC, datetime
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester, StepCall
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.policy_tools import policy_registry

alice = Requester(id="alice", roles=("analyst",))
noon = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
bundle = PolicyBundle.load()
server = FakeOpa()
engine = (EmbeddedEngine(bundle) if sys.argv[1] == "embedded"
          else OpaEngine(bundle, server.url, timeout_s=60.0))
for key in json.load(sys.stdin):
    args = {"method": "POST", "url": "https://api.internal.example/in",
            "json": {key: "Zk3x9QpL7mN2vB8cR4tY"}}
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": args}]})
    decision = engine.decide(build_policy_input(plan, policy_registry(), requester=alice,
                                                context=noon))
    call = engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="send",
                                      tool="http.request", effect="write", args=args,
                                      tags=("egress",), requester=alice))
    print("RESULT", json.dumps({"plan": list(decision.deny), "call": list(call.deny)}), flush=True)
server.close()
'''

LONG = 40_000
KEYS = {
    "40,000 letters": "a" * LONG,
    "40,000 letters and digits in many words": "aB1" * (LONG // 3),
    "password first": "password for the vault " + "a" * LONG,
    "password in the middle": "x" * (LONG // 2) + " password " + "x" * (LONG // 2),
    "password at the end": "a" * LONG + "Password",
    "password written across separators": "p" + "-" * 2_000 + "assword" + "a" * LONG,
    "a name at the end": "a" * LONG + "_db_pwd",
    "a name before many spaces": "the db pwd" + " " * LONG,
    "an ordinary name at the end": "a" * LONG + "_idempotency_key",
    "a name inside a word at the end": "a" * LONG + "_keyboard",
}
SENSITIVE = {"password first": "password", "password in the middle": "password",
             "password at the end": "password", "password written across separators": "password",
             "a name at the end": "pwd", "a name before many spaces": "pwd"}


def _judged(engine: str) -> list[dict[str, list[str]]]:
    done = subprocess.run([sys.executable, "-c", CHILD, engine], input=json.dumps(list(KEYS.values())),
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, (f"the {engine} engine's process died ({done.returncode}): "
                                  f"{done.stderr[-2000:]}")
    return [json.loads(line.removeprefix("RESULT ")) for line in done.stdout.splitlines()
            if line.startswith("RESULT ")]


@pytest.fixture(params=["embedded", "opa"])
def judged(request, tmp_path_factory) -> dict[str, dict[str, list[str]]]:
    """The denies of each key above, judged by one engine in a child process (once a run)."""
    results = computed_once(tmp_path_factory, f"long_keys_judged_{request.param}",
                            lambda: _judged(request.param))
    return dict(zip(KEYS, results, strict=True))


def _deny(word: str) -> str:
    return (f"step send: argument $.args.json.<key 1> looks like a literal secret ({word}); "
            "configure it as a secret and write ${secret:NAME} instead")


@pytest.mark.parametrize("name", [name for name in KEYS if name not in SENSITIVE])
def test_a_long_key_of_no_sensitive_word_is_judged_without_crashing(judged, name):
    assert judged[name] == {"plan": [], "call": []}


@pytest.mark.parametrize("name", SENSITIVE)
def test_a_sensitive_word_anywhere_in_a_long_key_still_counts(judged, name):
    assert judged[name] == {"plan": [_deny(SENSITIVE[name])], "call": [_deny(SENSITIVE[name])]}


def _decide(engine, key: str) -> Any:
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request",
         "args": {"method": "POST", "url": URL, "json": {key: RANDOM}}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                            context=NOON))


@pytest.mark.parametrize(("key", "word"), [
    ("x" * 2_000 + "_api_key_" + "x" * 2_000, "api_key"),
    ("x" * 2_000 + "-X-Auth", "auth"),
    ("x" * 200 + " key", "key"),
    ("Private" + "_" * 100 + "Key", "private_key"),
    ("Private" + "_" * 3_000 + "Key" + "y" * 700, "private_key"),
])
def test_a_key_a_few_windows_long_is_read_whole_in_this_process(engine, key, word):
    decision = _decide(engine, key)
    assert list(decision.deny) == [_deny(word)]


@pytest.mark.parametrize("key", ["x" * 2_000 + "_author", "y" * 3_000 + " monkey business"])
def test_a_long_key_ending_in_an_ordinary_word_is_not_sensitive(engine, key):
    assert not _decide(engine, key).deny


def test_a_long_key_reaches_the_rules_bounded_with_all_its_letters_and_digits():
    key = "Db" + "_" * 5_000 + "Pass " * 2_000 + "word!"
    call = StepCall(run_id="r-1", plan_id="p-1", step_id="send", tool="http.request",
                    effect="write", requester=ALICE, tags=("egress",),
                    args={"url": URL, "json": {key: RANDOM}})
    facts = [fact for fact in windowed_input(build_step_input(call))["step"]["strings"]
             if fact["value"] == RANDOM]
    assert len(facts) == 1
    assert len(facts[0]["key"]) == KEY_WINDOW
    assert facts[0]["key"].endswith("_Pass_Pass_word_")
    assert facts[0]["key_flat"] == "db" + "pass" * 2_000 + "word"


def test_a_short_key_reaches_the_rules_as_it_is():
    key = "X-API-Key " * 12  # 120 characters
    call = StepCall(run_id="r-1", plan_id="p-1", step_id="send", tool="http.request",
                    effect="write", requester=ALICE, tags=("egress",),
                    args={"url": URL, "json": {key: RANDOM}})
    facts = [fact for fact in windowed_input(build_step_input(call))["step"]["strings"]
             if fact["value"] == RANDOM]
    assert facts == [{**facts[0], "key": key}]
    assert "key_flat" not in facts[0]


def test_two_long_keys_ending_alike_are_judged_each_by_its_own_words(engine):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": {"method": "POST", "url": URL, "json": {
            "password " + "a" * 1_000: RANDOM, "hello " + "a" * 1_000: RANDOM[::-1]}}}]})
    decision = engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                                context=NOON))
    assert list(decision.deny) == [_deny("password")]
